"""`python -m localcloud [up] [--stack dev] [--port 3000] [--seed] [--no-auth] [--no-reload] [--quiet|--verbose]`;
`outputs`; `token USER`; `send-event FILE`; `invoke FUNCTION [--event FILE]`."""

import sys

from localcloud.cli import main

sys.exit(main())
