"""``make bench``: speed and memory figures, printed as a table (``--json`` for machines)."""
