"""The UI's pages, one module per area; each has a ``router`` mounted with ``UIRoute``."""
