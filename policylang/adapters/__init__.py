"""Adapters: the ways in from outside (the CLI now; hooks, the analyzer, the executor and the server)."""
