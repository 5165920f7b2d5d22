"""``policylang fmt``: rewrite .policy files in the canonical layout (lang/fmt.py), or, with
``--check``, only say which would change (for CI).

Exit codes: 0 nothing to change (or every file rewritten), 1 ``--check`` found a file that would
change, 2 usage (a file that cannot be read or written), 5 a file does not parse (it is left as it
is, and the parser's diagnostics are printed).  ``-`` (or no file) formats stdin to stdout.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, TextIO

from ..diagnostics import Diagnostic, PolicyError
from .cli_codes import EXIT_FAIL, EXIT_OK, EXIT_POLICY, UsageError


def register(subparsers: Any) -> None:
    """Add ``fmt`` to the main parser's subparsers."""
    f = subparsers.add_parser("fmt", help="format .policy files canonically (--check: only report)",
                              description="Rewrite .policy files in the canonical layout, comments kept. "
                                          "With --check, change nothing and exit 1 when a file would change.")
    f.add_argument("files", nargs="*", metavar="FILE", help="files to format ('-' or none: stdin to stdout)")
    f.add_argument("--check", action="store_true", help="change nothing; list the files that would change")
    f.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    f.set_defaults(handler=cmd_fmt)


def cmd_fmt(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    from ..lang.fmt import format_policy

    files = list(args.files) or ["-"]
    changed: list[str] = []
    broken: list[Diagnostic] = []
    for name in files:
        text = stdin.read() if name == "-" else _read(name)
        try:
            new = format_policy(text, "<stdin>" if name == "-" else name)
        except PolicyError as exc:
            broken.extend(exc.diagnostics)
            continue
        if name == "-":
            if args.check:
                if new != text:
                    changed.append(name)
            else:
                stdout.write(new)
            continue
        if new == text:
            continue
        changed.append(name)
        if not args.check:
            _write(name, new)
    if args.format == "json":
        stdout.write(json.dumps({"ok": not broken and not (args.check and changed), "check": args.check,
                                 "changed": changed, "errors": [d.to_json() for d in broken]}, indent=2) + "\n")
    else:
        for d in broken:
            stderr.write(d.render() + "\n")
        for name in changed:
            if name != "-" or args.check:
                stdout.write(f"{'would reformat' if args.check else 'reformatted'} {name}\n")
    if broken:
        return EXIT_POLICY
    return EXIT_FAIL if args.check and changed else EXIT_OK


def _read(path: str) -> str:
    from ..inputs import MAX_POLICY_BYTES, read_text

    try:  # a regular file only (a FIFO is refused, not waited on), bounded, decoded with a position
        return read_text(path, MAX_POLICY_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def _write(path: str, text: str) -> None:
    """Replace ``path`` by ``text`` atomically (a new file renamed over it, its mode kept)."""
    tmp = f"{path}.fmt-{os.getpid()}.tmp"
    try:
        mode = os.stat(path).st_mode & 0o7777
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"cannot write {path}: {exc}") from None
