"""Secrets: the credential detector (detector.py, formats in data/secrets.toml) and what an action's
findings become (findings.py: secret effects with their location, and the redaction pairs)."""
from .detector import Finding, redaction_marker, scan

__all__ = ["Finding", "redaction_marker", "scan"]
