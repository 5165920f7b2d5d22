"""Turn a pytest-benchmark JSON file into the tables of docs/performance.md.

    .venv/bin/python -m pytest benchmarks --benchmark-json=run.json
    .venv/bin/python benchmarks/report.py run.json [--before before.json]

Prints, as Markdown: the machine, the issue's targets (with the figure of an earlier run beside
each when ``--before`` is given), the side-by-side groups, the stage costs and every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

Bench = dict[str, dict[str, Any]]

# (target text, benchmark, limit in µs); "scale" rows compare two benchmarks instead
TARGETS: list[tuple[str, str, float]] = [
    ("simple command, strict + 1,000 rules, verdict cache off: ≤ 3 µs", "test_target_simple_uncached", 3),
    ("  the same, first sight (no memo can answer)", "test_target_simple_first_sight", 3),
    ("same, cache hit: ≤ 0.5 µs", "test_target_simple_cache_hit", 0.5),
    ("compound command, execute + 1,000 rules: ≤ 40 µs", "test_target_compound_uncached", 40),
    ("  the same, first sight", "test_target_compound_first_sight", 40),
    ("adversarial command, execute + 1,000 rules: ≤ 40 µs", "test_target_adversarial_uncached", 40),
    ("  the same, first sight", "test_target_adversarial_first_sight", 40),
    ("file op ≤ 2 µs (write outside the workspace, denied; resolves symlinks)",
     "test_target_file_op_uncached[write-/srv/data4/x.txt-deny]", 2),
    ("file op ≤ 2 µs (read in the workspace, allowed)",
     "test_target_file_op_uncached[read-/home/user/project/src/main.py-allow]", 2),
    ("  the same, first sight", "test_target_file_op_first_sight", 2),
    ("compile 1,000 rules ≤ 150 ms", "test_compile_1000_rules_whole", 150_000),
    ("cold start ≤ 80 ms (`python -m policylang decide \"git status\"`, editable install)",
     "test_cold_start_cli_decide", 80_000),
    ("  the same from an installed wheel", "test_cold_start_wheel_decide", 80_000),
]
SCALING = [("simple command", "test_decide_simple_command"), ("compound command", "test_decide_compound_command"),
           ("file write", "test_decide_file_write")]
STAGES = [
    ("shell analysis", "`git status`, fast path, memoised", "test_analyse_fast_path_cached"),
    ("shell analysis", "`git status`, fast path, analysed afresh", "test_analyse_fast_path_uncached"),
    ("shell analysis", "`git status`, forced through tree-sitter", "test_analyse_tree_sitter_path"),
    ("shell analysis", "`git status;` (one harmless metacharacter: tree-sitter), afresh",
     "test_analyse_harmless_metacharacter"),
    ("shell analysis", "`git status && ls -la | grep x; echo $(pwd)`, analysed afresh", "test_analyse_compound"),
    ("shell analysis", "the same through the public entry point: a memo hit", "test_analyse_compound_memoised"),
    ("corpus", "analysis afresh, per command over the whole corpus", "test_analyse_corpus"),
    ("corpus", "decision, per command over the allow and deny rows (execute, cache off)",
     "test_decide_corpus_uncached"),
    ("compile 1,000 rules", "parse (the generated source)", "test_compile_stage_parse"),
    ("compile 1,000 rules", "validate (built-in layer + generated)", "test_compile_stage_validate"),
    ("compile 1,000 rules", "build rules (targets, argv patterns, path sets)", "test_compile_stage_build_rules"),
    ("compile 1,000 rules", "index (Policy construction)", "test_compile_stage_index"),
    ("compile 1,000 rules", "whole pipeline, built-in layer included", "test_compile_1000_rules_whole"),
    ("cold start", "`python -c pass`", "test_cold_start_python"),
    ("cold start", "`python -c 'import policylang'`", "test_cold_start_import"),
    ("cold start", "`python -m policylang decide \"git status\"`, policy from the cache", "test_cold_start_cli_decide"),
    ("cold start", "the same with every cache off (`POLICYLANG_NO_CACHE=1`)", "test_cold_start_cli_decide_without_caches"),
    ("cold start", "`python -c pass` in a venv with the wheel installed", "test_cold_start_wheel_python"),
    ("cold start", "`python -m policylang decide \"git status\"` from that wheel", "test_cold_start_wheel_decide"),
]
GROUPS = ["simple", "compound", "adversarial", "corpus"]


def load(path: str) -> tuple[dict[str, Any], Bench]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data, {b["fullname"].split("::")[-1]: b for b in data["benchmarks"]}


def median(b: Bench, name: str) -> float | None:
    """Median in µs, per command when the benchmark decides a group per round."""
    entry = b.get(name)
    if entry is None:
        return None
    per = entry.get("extra_info", {}).get("commands") or 1
    return float(entry["stats"]["median"]) * 1e6 / per


def fmt(us: float | None) -> str:
    if us is None:
        return "—"
    if us >= 1000:
        return f"{us / 1000:,.1f} ms"
    return f"{us:,.0f} µs" if us >= 100 else f"{us:.1f} µs" if us >= 10 else f"{us:.2f} µs"


def machine(data: dict[str, Any]) -> str:
    info, commit = data["machine_info"], data.get("commit_info", {})
    cpu = info.get("cpu", {}).get("brand_raw") or info.get("processor") or "unknown CPU"
    state = "with uncommitted changes" if commit.get("dirty") else "clean tree"
    return (f"Measured {data['datetime'][:16].replace('T', ' ')} UTC at commit `{str(commit.get('id', '?'))[:7]}` "
            f"({state}); {os.cpu_count()} cores of {cpu}; Python {info.get('python_version')}; "
            f"pytest-benchmark {data.get('version')}.")


def targets(b: Bench, before: Bench | None) -> list[str]:
    head = "| target (issue \"Performance\") | benchmark | median |" + (" before |" if before else "") + " |"
    out = [head, "|---|---|---:|" + ("---:|" if before else "") + "---|"]
    for text, name, limit in TARGETS:
        m = median(b, name)
        ratio = None if m is None else m / limit
        verdict = ("not run" if ratio is None else "met" if ratio <= 1 else
                   f"missed: {ratio:.2f}× the target" if ratio < 1.1 else f"missed: {ratio:.1f}× the target")
        extra = f" {fmt(median(before, name))} |" if before else ""
        out.append(f"| {text} | `{name}` | {fmt(m)} |{extra} {verdict} |")
    for what, name in SCALING:
        big, small = median(b, f"{name}[10000rules]"), median(b, f"{name}[100rules]")
        if big is None or small is None:
            continue
        r = big / small
        extra = " |" if before else ""
        out.append(f"| 10,000 rules ≤ 1.3× 100 rules ({what}) | `{name}` | {r:.2f}× ({fmt(big)} / {fmt(small)}) |"
                   f"{extra} {'met' if r <= 1.3 else 'missed'} |")
    cel = sorted({m.group(1) for k in b for m in [re.match(r"test_cel_condition\[(.+)-closure\]", k)] if m})
    ratios = {}
    for n in cel:
        closure, interp = median(b, f"test_cel_condition[{n}-closure]"), median(b, f"test_cel_condition[{n}-interpreter]")
        if closure and interp:
            ratios[n] = interp / closure
    if ratios:
        low = min(ratios.values())
        extra = " |" if before else ""
        out.append(f"| CEL closures ≥ 50× cel-python (interpreter ÷ closure) | `test_cel_condition` | "
                   f"{', '.join(f'{n} {r:.0f}×' for n, r in ratios.items())} |{extra} "
                   f"{'met' if low >= 50 else 'missed'} (lowest {low:.0f}×) |")
    return out


def side_by_side(b: Bench) -> list[str]:
    out = ["| group (commands) | naive regex list | policylang fresh | policylang uncached | policylang cached | cedarpy "
           "| invariant-ai | fresh ÷ naive | uncached ÷ naive | naive ÷ cached | cedarpy ÷ fresh |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for g in GROUPS:
        entry = b.get(f"test_naive_regex_list[{g}]", {})
        n = entry.get("extra_info", {}).get("commands", "?")
        nv, pf, pu, pc = (median(b, f"test_naive_regex_list[{g}]"), median(b, f"test_policylang_fresh[{g}]"),
                          median(b, f"test_policylang_uncached[{g}]"), median(b, f"test_policylang_cached[{g}]"))
        cd, iv = median(b, f"test_cedar[{g}]"), median(b, f"test_invariant[{g}]")

        def ratio(x: float | None, y: float | None) -> str:
            return f"{x / y:.1f}×" if x and y else "—"

        out.append(f"| {g} ({n}) | {fmt(nv)} | {fmt(pf)} | {fmt(pu)} | {fmt(pc)} | {fmt(cd)} | {fmt(iv)} | "
                   f"{ratio(pf, nv)} | {ratio(pu, nv)} | {ratio(nv, pc)} | {ratio(cd, pf)} |")
    return out


def stages(b: Bench) -> list[str]:
    out = ["| stage | what | median |", "|---|---|---:|"]
    for stage, what, name in STAGES:
        if name in b:
            per = " per command" if b[name].get("extra_info", {}).get("commands") else ""
            out.append(f"| {stage} | {what} (`{name}`) | {fmt(median(b, name))}{per} |")
    return out


def every_figure(b: Bench) -> list[str]:
    out = ["| group | benchmark | min µs | median µs | mean µs | rounds | commands per round |",
           "|---|---|---:|---:|---:|---:|---:|"]
    rows = sorted(((e.get("group") or "decide", name, e) for name, e in b.items()), key=lambda r: (r[0], r[1]))
    for group, name, e in rows:
        st = e["stats"]
        out.append(f"| {group} | `{name}` | {st['min'] * 1e6:,.2f} | {st['median'] * 1e6:,.2f} | "
                   f"{st['mean'] * 1e6:,.2f} | {st['rounds']} | {e.get('extra_info', {}).get('commands', '')} |")
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="pytest-benchmark JSON of the run to report")
    ap.add_argument("--before", help="an earlier run's JSON: its medians go beside the targets")
    args = ap.parse_args(argv)
    data, b = load(args.run)
    before = load(args.before)[1] if args.before else None
    for title, lines in (("Machine", [machine(data)]), ("Targets", targets(b, before)),
                         ("Side by side (µs per command)", side_by_side(b)), ("Stage costs", stages(b)),
                         ("Every figure", every_figure(b))):
        print(f"### {title}\n")
        print("\n".join(lines))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
