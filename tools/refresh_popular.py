#!/usr/bin/env python3
"""Rebuild the popular-package lists of the supply-chain check (policylang/analysis/supplychain/data/).

Each list is a gzip'ed text file: ``#`` header lines naming the source, its date and the day it was
retrieved, then one package name a line, most downloaded first.  The check reads the first
``TARGETS`` names (supplychain/names.py) as the names a typosquat imitates, and every name of the
list as popular.

npm: the package ``npm-high-impact`` on the npm registry (its ``lib/top-download.js``: the packages
downloaded a lot, most downloaded first), fetched with ``npm pack`` into a temporary directory with a
scratch HOME.

PyPI: a download-ranked list in one of these forms, given with ``--pypi FILE``:
- hugovk's top-pypi-packages JSON (``{"last_update": ..., "rows": [{"project": ...}, ...]}``, the
  files ``top-pypi-packages*.json`` of https://hugovk.github.io/top-pypi-packages/),
- its CSV (``download_count,project``),
- a TSV with a header naming a ``name`` column and a column whose name starts with ``rank``
  (rows without a rank are skipped; the others are sorted by rank).

usage: tools/refresh_popular.py [--npm VERSION] [--pypi FILE --pypi-source TEXT --pypi-date DATE]
       [--limit N]

Nothing is run through a shell: ``npm pack`` gets an argv list.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "policylang" / "analysis" / "supplychain" / "data"
_NAME = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9._/@-]*$")


def write_list(path: Path, names: list[str], header: list[str]) -> None:
    """The names, deduplicated in order, after the header, gzip'ed without a timestamp (reproducible)."""
    seen: set[str] = set()
    body: list[str] = []
    for n in names:
        n = n.strip()
        if n and _NAME.match(n) and n not in seen:
            seen.add(n)
            body.append(n)
    text = "".join(f"# {h}\n" for h in header) + f"# names: {len(body)}\n" + "".join(n + "\n" for n in body)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode())
    path.write_bytes(buf.getvalue())
    print(f"{path}: {len(body)} names", file=sys.stderr)


def npm_names(version: str) -> tuple[list[str], str, str]:
    """(names, version, publication date) of npm-high-impact's top-download list."""
    with tempfile.TemporaryDirectory() as tmp:
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               "npm_config_cache": os.path.join(tmp, "cache"), "npm_config_update_notifier": "false"}
        spec = f"npm-high-impact@{version}" if version else "npm-high-impact"
        view = subprocess.run(["npm", "view", spec, "version", "time", "--json"], env=env, cwd=tmp,
                              capture_output=True, text=True, timeout=120, check=True)
        meta = json.loads(view.stdout)
        got = meta["version"]
        published = str(meta.get("time", {}).get(got, "?"))[:10]
        subprocess.run(["npm", "pack", f"npm-high-impact@{got}", "--pack-destination", tmp], env=env, cwd=tmp,
                       capture_output=True, text=True, timeout=300, check=True)
        tgz = Path(tmp) / f"npm-high-impact-{got}.tgz"
        with tarfile.open(tgz) as tar:
            member = tar.extractfile("package/lib/top-download.js")
            if member is None:
                raise SystemExit("npm-high-impact has no lib/top-download.js")
            source = member.read().decode()
    names = re.findall(r"'((?:[^'\\]|\\.)*)'", source)
    return names, got, published


def pypi_names(path: str) -> list[str]:
    """The names of a download-ranked PyPI list, most downloaded first (see the module's doc)."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        return [row["project"] for row in json.loads(text)["rows"]]
    first = text.split("\n", 1)[0]
    if first.startswith("download_count,"):
        return [row["project"] for row in csv.DictReader(io.StringIO(text))]
    header = first.split("\t")
    name_col = header.index("name")
    rank_col = next(i for i, h in enumerate(header) if h.startswith("rank"))
    ranked: list[tuple[int, str]] = []
    for line in text.split("\n")[1:]:
        cols = line.split("\t")
        if len(cols) > rank_col and cols[rank_col].strip().isdigit():
            ranked.append((int(cols[rank_col]), cols[name_col]))
    ranked.sort()
    return [n for _, n in ranked]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--npm", metavar="VERSION", nargs="?", const="", default=None,
                    help="rebuild npm.txt.gz from npm-high-impact (the newest version when none is given)")
    ap.add_argument("--pypi", metavar="FILE", help="rebuild pypi.txt.gz from this download-ranked list")
    ap.add_argument("--pypi-source", default="", help="where the PyPI list came from (for the header)")
    ap.add_argument("--pypi-date", default="", help="the date of the PyPI list's download counts")
    ap.add_argument("--limit", type=int, default=15000, help="keep this many names of each list (default 15000)")
    args = ap.parse_args(argv)
    today = datetime.date.today().isoformat()
    if args.npm is None and args.pypi is None:
        ap.error("nothing to do: give --npm and/or --pypi FILE")
    if args.npm is not None:
        names, version, published = npm_names(args.npm)
        write_list(DATA / "npm.txt.gz", names[:args.limit], [
            "npm packages downloaded a lot, most downloaded first",
            (f"source: npm-high-impact {version} (lib/top-download.js), published {published}, "
             "from the npm registry; https://github.com/wooorm/npm-high-impact"),
            f"retrieved: {today} by tools/refresh_popular.py",
        ])
    if args.pypi is not None:
        names = pypi_names(args.pypi)
        write_list(DATA / "pypi.txt.gz", names[:args.limit], [
            "PyPI projects by downloads over 30 days, most downloaded first",
            f"source: {args.pypi_source or args.pypi}",
            f"counts of: {args.pypi_date or 'unknown'}",
            f"retrieved: {today} by tools/refresh_popular.py",
        ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
