"""Test-only helpers shared by the suites: fault injection and polling with a deadline."""
