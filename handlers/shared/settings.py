"""Required configuration, read once when a function's container starts."""

from __future__ import annotations

import os


class ConfigurationError(RuntimeError):
    """A required environment variable is missing: the deployment is wrong, not the request."""


def require_env(name: str) -> str:
    """The value of `name`; a missing or empty variable fails the import, so a broken deploy fails loudly at init."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required but not set")
    return value
