"""The audit log in the CLI: the record every ``decide`` and ``explain`` writes, and the
``policylang audit verify`` and ``policylang audit export`` commands (docs/audit.md).

``audit verify`` exit codes: 0 the log is intact, 1 a problem was found (the report names the
first), 2 usage error (no such file, several logs in a directory, a key that cannot be read).
``audit export`` exit codes: 0 exported, 2 usage error.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TextIO

from ..audit.record import AuditError

if TYPE_CHECKING:
    import argparse

    from ..actions import Context
    from ..audit.chain import Key
    from ..verdict import Verdict

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


# ---- the record of a decision ----------------------------------------------------------------

class Recorder:
    """Writes the audit record of each CLI verdict, before it is printed, when ``[security.audit]``
    enables the log.  A record that cannot be written is reported on stderr; the verdict stands
    (``on_failure = "warn"``) or becomes a deny (``"deny"``) -- it is never loosened."""

    def __init__(self, policy: Any, entry: str, stderr: TextIO):
        self.policy = policy
        self.entry = entry
        self.stderr = stderr
        self.settings = policy.settings.audit
        self.log: Any = None
        self.error: AuditError | None = None
        self.last_id: str | None = None  # the decision id of the last record written

    def __call__(self, verdict: Verdict, context: Context | None = None) -> Verdict:
        if not self.settings.enabled:
            return verdict
        try:
            if self.log is None and self.error is None:
                from ..audit.writer import AuditLog

                self.log = AuditLog.from_settings(self.settings, entry=self.entry)
            if self.error is not None:
                raise self.error
            self.last_id = None
            self.last_id = self.log.decision(self.policy, verdict, context)
        except AuditError as exc:
            if self.error is None:
                print(f"policylang: audit: {exc}", file=self.stderr)
            self.error = exc
            if self.settings.on_failure == "deny":
                from ..audit.audited import failed_closed

                return failed_closed(verdict, exc)
        return verdict

    def outcome(self, decision_id: str, **fields: Any) -> None:
        """Write what became of a decision this recorder wrote (an executor's report); a record that
        cannot be written is reported on stderr (the command has run or not run by then)."""
        if self.log is None or self.error is not None:
            return
        try:
            self.log.outcome(decision_id, **fields)
        except AuditError as exc:
            print(f"policylang: audit: {exc}", file=self.stderr)
            self.error = exc

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def record(policy: Any, verdict: Verdict, context: Context | None, entry: str, stderr: TextIO) -> Verdict:
    """Write the audit record of one CLI verdict; the verdict to print (see Recorder)."""
    recorder = Recorder(policy, entry, stderr)
    try:
        return recorder(verdict, context)
    finally:
        recorder.close()


# ---- policylang audit ... --------------------------------------------------------------------

def register(subparsers: Any) -> None:
    """Add ``audit verify`` and ``audit export`` to the main parser's subparsers."""
    a = subparsers.add_parser("audit", help="verify or export the audit log",
                              description="Verify the hash chain of the audit log, or export a summary of it.")
    sub = a.add_subparsers(dest="audit_cmd", metavar="verify|export", parser_class=type(a))
    a.set_defaults(handler=_no_subcommand)

    v = sub.add_parser("verify", help="check the chain; exit 1 and name the first problem if it is broken")
    v.add_argument("paths", nargs="*", metavar="PATH",
                   help="log files in chain order, or a directory (default: the configured log's directory)")
    v.add_argument("--config", metavar="FILE", help="config.toml whose [security.audit] names the log and key")
    v.add_argument("--key-env", metavar="NAME", action="append", default=[],
                   help="environment variable holding an HMAC key (repeatable)")
    v.add_argument("--key-file", metavar="FILE", action="append", default=[], help="file holding an HMAC key")
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.set_defaults(handler=cmd_verify)

    e = sub.add_parser("export", help="summarise the log, or export its decisions as JSON or CSV")
    e.add_argument("paths", nargs="*", metavar="PATH")
    e.add_argument("--config", metavar="FILE")
    e.add_argument("--format", choices=["summary", "json", "csv"], default="summary")
    e.add_argument("--since", metavar="TIME", help="from this time (ISO 8601, or an age: 30m, 12h, 7d)")
    e.add_argument("--until", metavar="TIME", help="before this time")
    e.add_argument("--decision", action="append", default=[], choices=["allow", "sandbox", "ask", "deny"],
                   help="only these decisions (repeatable)")
    e.add_argument("--rule", action="append", default=[], metavar="ID", help="only decisions naming this rule")
    e.add_argument("--top", type=int, default=10, metavar="N", help="rules and denied actions listed (summary)")
    e.set_defaults(handler=cmd_export)


def _no_subcommand(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    print("policylang audit: give a subcommand: verify or export", file=stderr)
    return EXIT_USAGE


def _configured(args: argparse.Namespace) -> Any:
    """The ``[security.audit]`` settings of --config (or the default config)."""
    from ..config.loader import load_config
    from ..diagnostics import PolicyError

    if args.config is not None and not os.path.isfile(args.config):
        raise _Usage(f"cannot read the config file {args.config!r}")
    try:
        return load_config(args.config).settings.audit
    except PolicyError as exc:
        raise _Usage(exc.args[0] if exc.args else str(exc)) from None


class _Usage(Exception):
    pass


def _paths(args: argparse.Namespace, audit: Any) -> list[str]:
    if args.paths:
        return list(args.paths)
    from ..audit.writer import expand_path

    return [os.path.dirname(expand_path(audit.path, os.environ))]


def _keys(args: argparse.Namespace, audit: Any) -> list[Key]:
    from ..audit.chain import Key, load_key, read_key_file

    keys = []
    for name in args.key_env:
        value = os.environ.get(name)
        if not value:
            raise _Usage(f"the key variable {name} is not set")
        keys.append(Key(value.encode("utf-8")))
    for path in args.key_file:
        keys.append(Key(read_key_file(path)))
    if not keys and audit is not None and (audit.hmac_key_env or audit.hmac_key_file):
        key = load_key(audit.hmac_key_env, audit.hmac_key_file, "/nonexistent")
        if key is not None:
            keys.append(key)
    return keys


def cmd_verify(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    import json

    from ..audit.verify import UsageError, verify

    try:
        audit = _configured(args) if args.config or not args.paths or not (args.key_env or args.key_file) else None
        report = verify(_paths(args, audit), _keys(args, audit))
    except (_Usage, UsageError, AuditError) as exc:
        print(f"policylang audit verify: {exc}", file=stderr)
        return EXIT_USAGE
    if args.format == "json":
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2), file=stdout)
    else:
        out = [f"{'valid' if report.valid else 'INVALID'}: {report.records} record(s) checked in "
               f"{len(report.files)} file(s){', HMAC-SHA256' if report.keyed else ''}"]
        for name, pos in (("first", report.first), ("last", report.last)):
            if pos is not None:
                out.append(f"  {name}: seq {pos.seq} at {pos.file}:{pos.line} ({pos.timestamp or '-'}) "
                           f"hash {pos.hash}")
        if report.problem is not None:
            p = report.problem
            out.append(f"  problem: {p.kind} at {p.file}:{p.line}: {p.message}")
        for note in report.notes:
            out.append(f"  note: {note}")
        print("\n".join(out), file=stdout)
    return EXIT_OK if report.valid else EXIT_FAIL


def cmd_export(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    import json

    from ..audit.export import Filters, confirmations, csv_rows, decisions, follow_ups, parse_time, read_records, \
        summarise, summary_text
    from ..audit.verify import UsageError

    try:
        audit = None if args.paths and not args.config else _configured(args)
        filters = Filters(since=parse_time(args.since) if args.since else None,
                          until=parse_time(args.until) if args.until else None,
                          decisions=frozenset(args.decision), rules=frozenset(args.rule))
        read = read_records(_paths(args, audit))
    except ValueError as exc:
        if not isinstance(exc, UsageError):
            exc = UsageError(f"not a time: {exc}")
        print(f"policylang audit export: {exc}", file=stderr)
        return EXIT_USAGE
    except (_Usage, OSError) as exc:
        print(f"policylang audit export: {exc}", file=stderr)
        return EXIT_USAGE
    if args.format == "csv":
        import csv

        writer = csv.writer(stdout, lineterminator="\n")
        writer.writerows(csv_rows(decisions(read.records, filters), confirmations(read.records)))
        return EXIT_OK
    summary = summarise(read.records, filters, top=args.top, skipped=read.skipped)
    if args.format == "json":
        chosen = list(decisions(read.records, filters))
        linked = follow_ups(read.records, {r["decision_id"] for r in chosen if isinstance(r.get("decision_id"), str)})
        print(json.dumps({"summary": summary, "records": chosen, "follow_ups": linked},
                         ensure_ascii=False, indent=2), file=stdout)
    else:
        print(summary_text(summary, args.top), file=stdout)
    return EXIT_OK
