"""``python -m policylang``: the command-line interface."""
from .adapters.cli import entry

entry()
