#!/usr/bin/env python3
"""Dump the analysis and the verdicts of many actions, one JSON line each, for before/after diffs.

A refactoring that must not change behaviour is checked by dumping before and after and comparing
the two files byte for byte.  Inputs: TSV corpora (first column a shell command) and JSONL files of
actions (``{"action": {...}}`` in the form of ``decide --jsonl``, or ``{"shell": TEXT, "cwd": ...,
"env": {...}, "home": ...}``).  Each action is decided under the built-in default and under every
preset, with HOME and cwd fixed, so the dump does not depend on where it runs.

usage: tools/dump_analyses.py OUT [--tsv FILE]... [--jsonl FILE]...

Run it with a fixed environment (``env -i PATH=/usr/bin:/bin HOME=/home/user``) so that variables
of the caller's shell do not reach the verdicts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

HOME = "/home/user"
CWD = HOME + "/project"
PRESETS = (None, "approve", "execute", "explain_only", "strict", "relaxed")


def _fixed(value: Any) -> Any:
    """Temporary directories of a test run become the fixed project directory."""
    if isinstance(value, str) and value.startswith("/tmp/"):
        return CWD
    return value


def _actions(args: argparse.Namespace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in args.tsv:
        with open(path, encoding="utf-8") as fh:
            next(fh)
            for line in fh:
                cmd = line.rstrip("\n").split("\t")[0]
                out.append({"kind": "command", "command": cmd})
    for path in args.jsonl:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if "action" in rec:
                    act = dict(rec["action"])
                else:
                    env = dict(rec.get("env") or {})
                    env["HOME"] = _fixed(rec.get("home") or HOME)
                    act = {"kind": "command", "command": rec["shell"], "cwd": rec.get("cwd"), "env": env}
                if act.get("cwd") is not None:
                    act["cwd"] = _fixed(act["cwd"])
                out.append(act)
    seen: set[str] = set()
    unique = []
    for a in out:
        k = json.dumps(a, sort_keys=True)
        if k not in seen:
            seen.add(k)
            unique.append(a)
    return unique


def main(argv: list[str]) -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":  # set orders in the dump must not vary between runs
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tsv", action="append", default=[])
    ap.add_argument("--jsonl", action="append", default=[])
    args = ap.parse_args(argv)

    import policylang
    from policylang import Context, action_from_json

    policies = [(p or "default", policylang.load(preset=p)) for p in PRESETS]
    ctx = Context()
    with open(args.out, "w", encoding="utf-8") as out:
        for raw in _actions(args):
            try:
                act = action_from_json({k: v for k, v in raw.items() if v is not None})
            except Exception as exc:
                out.write(json.dumps({"action": raw, "error": str(exc)}, sort_keys=True) + "\n")
                continue
            if getattr(act, "cwd", "unset") is None:
                act = type(act)(**{**{f: getattr(act, f) for f in act.__record_fields__}, "cwd": CWD})
            row: dict[str, Any] = {"action": raw}
            ex = policies[0][1].explain(act, ctx)
            row["analysis"] = repr(ex.analysis)
            for name, policy in policies:
                row[name] = policy.decide(act, ctx).to_json()
            out.write(json.dumps(row, sort_keys=True, ensure_ascii=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
