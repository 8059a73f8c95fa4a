"""Operating the stack: `python -m ops status | redrive | replay` (see the README's "Operating it")."""
