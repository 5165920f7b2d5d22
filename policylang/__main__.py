from .adapters.cli import entry

entry()
