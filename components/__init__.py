"""The stack's building blocks: one `ComponentResource` per module, plus the settings they share."""
