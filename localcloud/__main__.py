"""`python -m localcloud [up] [--stack dev] [--port 3000] [--seed] [--no-auth]`; `outputs`; `token USER`."""

import sys

from localcloud.cli import main

sys.exit(main())
