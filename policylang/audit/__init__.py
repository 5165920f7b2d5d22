"""The tamper-evident audit log: one hash-chained JSONL record per decision (docs/audit.md).

``record`` builds the records, ``chain`` hashes and signs them, ``writer`` appends them (locking,
rotation, crash recovery, fsync), ``verify`` checks a log and names its first problem, ``export``
summarises it, ``audited`` wraps a Policy so that every decision is recorded.

The names below are imported on first use: the CLI's plain ``decide`` imports only the writer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
    from .audited import AuditedPolicy, audited
    from .chain import Key
    from .export import summarise
    from .record import AuditError
    from .verify import Problem, Report, verify
    from .writer import AuditLog

__all__ = ["AuditError", "AuditLog", "AuditedPolicy", "Key", "Problem", "Report", "audited", "summarise", "verify"]

_LAZY = {
    "AuditError": "record", "AuditLog": "writer", "AuditedPolicy": "audited", "audited": "audited",
    "Key": "chain", "Problem": "verify", "Report": "verify", "verify": "verify", "summarise": "export",
}


__getattr__ = exports(__name__, _LAZY, globals())
