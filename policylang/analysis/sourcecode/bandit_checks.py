"""Insecure-code findings of Python code from bandit's checks, run in-process on the source's AST.

Bandit (https://bandit.readthedocs.io) is a maintained analyser of Python code. Its plugins are
run here the way bandit runs them on a file -- its ``BanditNodeVisitor`` walks the AST and its
``BanditTester`` calls every test registered for a node type -- but on one source string, with no
subprocess, no file and no configuration file. The test set is built once per process, lazily, the
first time Python code is analysed (importing bandit costs about 0.1 s), and holds only the tests
``data/bandit.toml`` counts (bandit's profile ``include``), so the others cost nothing.

What differs from running ``bandit`` on a file, on purpose:

* ``# nosec`` comments are ignored: the code being judged cannot switch its own checks off.
* Node types no counted test looks at are walked without bandit's per-node bookkeeping (the
  context dict, the test lookup); the nodes bandit's visitor reads for its own state (imports,
  functions, classes, calls, constants) are visited as bandit visits them. Its tester runs each
  test as bandit's does, less the ``# nosec`` lookups and the scores, which are not read.
  (tests/test_bandit_checks.py checks that bandit's own visitor finds the same issues.)
* A finding the project's own analysis settles is dropped (``followed`` in bandit.toml): ``exec``
  and ``eval`` of a string literal, or of code the analysis followed, and a shell command the
  analysis resolved, which the command policy judges.
* A hard-coded credential (B105-B107) is described, never quoted -- bandit's own text shows the
  value -- and is not reported on a line where the secrets detector found a secret (the ``secret``
  effect reports that one).
* A test that fails inside bandit makes the code opaque (never silently harmless).

Each finding becomes a ``finding`` effect (:func:`finding_effects`) whose text is the rule id
``bandit:B301``; its risk comes from bandit's severity and confidence through the table in
bandit.toml.
"""

from __future__ import annotations

import ast
import io
import threading
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from ...effects import Effect
from ...verdict import Risk
from .findings import CodeFindings, Finding

DETECTOR = "bandit"
MAX_FINDINGS = 100  # findings kept per source
MAX_MESSAGE = 200  # characters of bandit's own text kept in a reason
_FILENAME = "/cell.py"  # a name bandit reads a module name from without looking at the filesystem
# Node types bandit's visitor keeps state for (its visit_* methods), visited whatever the tests are.
_STATEFUL = frozenset({"ClassDef", "FunctionDef", "Call", "Import", "ImportFrom"})


@dataclass(frozen=True, slots=True)
class TestSpec:
    """How one counted bandit test is read (bandit.toml ``[tests]``)."""

    test_id: str
    followed: str | None  # "code", "command" or None
    credential: bool
    what: str | None


@dataclass(frozen=True, slots=True)
class BanditTables:
    """bandit.toml: the counted tests, the ignored ones with why, and the severity x confidence table."""

    tests: Mapping[str, TestSpec]
    ignored: Mapping[str, str]
    risk: Mapping[tuple[str, str], Risk]

    def risk_of(self, severity: str, confidence: str) -> Risk:
        """The risk of a finding; an unknown level (a newer bandit) counts as the highest one."""
        return self.risk.get((severity.upper(), confidence.upper()), Risk.HIGH)


_LEVELS = ("HIGH", "MEDIUM", "LOW")
_FOLLOWED = (None, "code", "command")


def load_tables(text: str | None = None) -> BanditTables:
    """Read bandit.toml (or ``text``); a malformed table raises ValueError."""
    if text is None:
        text = resources.files(__package__).joinpath("data/bandit.toml").read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    risk: dict[tuple[str, str], Risk] = {}
    for sev in _LEVELS:
        row = doc.get("risk", {}).get(sev)
        if not isinstance(row, dict) or set(row) != set(_LEVELS):
            raise ValueError(f"bandit.toml: [risk] {sev} must map each of {', '.join(_LEVELS)} to a risk")
        for conf, name in row.items():
            risk[(sev, conf)] = Risk.parse(name)
    tests: dict[str, TestSpec] = {}
    for tid, spec in doc.get("tests", {}).items():
        unknown = set(spec) - {"followed", "credential", "what"}
        if unknown or spec.get("followed") not in _FOLLOWED:
            raise ValueError(f"bandit.toml: [tests] {tid}: unknown keys or value ({sorted(unknown)})")
        if spec.get("credential") and not spec.get("what"):
            raise ValueError(f"bandit.toml: [tests] {tid}: a credential test needs `what` (bandit's text shows the value)")
        tests[tid] = TestSpec(tid, spec.get("followed"), bool(spec.get("credential")), spec.get("what"))
    ignored = {str(k): str(v) for k, v in doc.get("ignored", {}).items()}
    both = set(tests) & set(ignored)
    if both:
        raise ValueError(f"bandit.toml: {', '.join(sorted(both))} both counted and ignored")
    return BanditTables(tests, ignored, risk)


class _Engine:
    """bandit's test set for the counted tests and a visitor class that runs it on one tree."""

    def __init__(self, tables: BanditTables) -> None:
        with _quiet():  # bandit's loader logs the formatters it cannot load (sarif) and stevedore warns
            from bandit.core import config as b_config
            from bandit.core import constants as b_constants
            from bandit.core import context as b_context
            from bandit.core import extension_loader  # noqa: F401  (loads the plugins: the noisy part)
            from bandit.core import metrics as b_metrics
            from bandit.core import node_visitor as b_visitor
            from bandit.core import test_set as b_test_set
            from bandit.core import tester as b_tester

        self.tables = tables
        self.testset = b_test_set.BanditTestSet(b_config.BanditConfig(), {"include": set(tables.tests)})
        self.metrics = b_metrics.Metrics()
        types = set(self.testset.tests) - {"File"}
        needed = frozenset(types | _STATEFUL | ({"Constant"} if types & {"Str", "Bytes"} else set()))
        self.file_tests = "File" in self.testset.tests

        make_context = b_context.Context
        scores = {"SEVERITY": [0] * len(b_constants.RANKING), "CONFIDENCE": [0] * len(b_constants.RANKING)}

        class Tester(b_tester.BanditTester):  # type: ignore[misc]
            """bandit's tester, less what ``# nosec`` comments need (they are ignored here) and the
            scores (not read); a test that raises is recorded (bandit only logs it)."""

            failed: list[str]

            def run_tests(self, raw_context: dict[str, Any], checktype: str) -> dict[str, list[int]]:
                # BanditTester.run_tests: each test on its own copy of the context; a result gets
                # the context's place and the test's name and id
                for test in self.testset.get_tests(checktype):
                    temp = dict(raw_context)
                    try:
                        config = getattr(test, "_config", None)
                        result = test(make_context(temp), config) if hasattr(test, "_config") else \
                            test(make_context(temp))
                    except Exception as exc:  # noqa: BLE001 -- recorded: the code is then opaque
                        self.failed.append(f"{test.__name__} failed ({type(exc).__name__})")
                        continue
                    if result is None:
                        continue
                    result.fname = temp["filename"]
                    result.fdata = temp["file_data"]
                    if result.lineno is None:
                        result.lineno = temp["lineno"]
                    if result.linerange == []:
                        result.linerange = temp["linerange"]
                    if result.col_offset == -1:
                        result.col_offset = temp["col_offset"]
                    result.end_col_offset = temp.get("end_col_offset", 0)
                    result.test = test.__name__
                    if result.test_id == "":
                        result.test_id = test._test_id
                    self.results.append(result)
                return scores

            def report_error(self, test: str, context: Any, error: Exception) -> None:
                self.failed.append(f"{test} failed ({type(error).__name__})")

        class Visitor(b_visitor.BanditNodeVisitor):  # type: ignore[misc]
            """bandit's visitor, walking past the node types no counted test looks at."""

            def __init__(self, testset: Any, fdata: Any, metrics: Any) -> None:
                super().__init__(_FILENAME, fdata, None, testset, False, {}, metrics)  # {}: no nosec lines
                self.tester = Tester(testset, False, {}, metrics)
                self.tester.failed = []

            def generic_visit(self, node: ast.AST) -> None:
                # bandit's own walk (node_visitor.generic_visit), less pre_visit/visit/post_visit of
                # nodes that neither a test nor the visitor's state needs
                for _, value in ast.iter_fields(node):
                    if isinstance(value, list):
                        last = len(value) - 1
                        for idx, item in enumerate(value):
                            if isinstance(item, ast.AST):
                                item._bandit_sibling = value[idx + 1] if idx < last else None  # type: ignore[attr-defined]
                                item._bandit_parent = node  # type: ignore[attr-defined]
                                self._step(item)
                    elif isinstance(value, ast.AST):
                        value._bandit_sibling = None  # type: ignore[attr-defined]
                        value._bandit_parent = node  # type: ignore[attr-defined]
                        self._step(value)

            def _step(self, item: ast.AST) -> None:
                if type(item).__name__ in needed:
                    if self.pre_visit(item):
                        self.visit(item)
                        self.generic_visit(item)
                        self.post_visit(item)
                else:
                    self.generic_visit(item)

        self.visitor = Visitor

    def run(self, source: str, tree: ast.Module) -> tuple[list[Any], list[str]]:
        """bandit's issues on ``tree`` (parsed from ``source``) and the tests that failed."""
        data = source.encode("utf-8", "surrogatepass")
        v = self.visitor(self.testset, io.BytesIO(data), self.metrics)
        v.generic_visit(tree)
        if self.file_tests:  # what BanditNodeVisitor.process runs after the walk
            v.context = {"file_data": v.fdata, "filename": v.fname, "lineno": 0, "linerange": [0, 1],
                         "col_offset": 0}
            v.update_scores(v.tester.run_tests(v.context, "File"))
        return list(v.tester.results), list(v.tester.failed)


@contextmanager
def _quiet() -> Iterator[None]:
    """No log records or warnings from bandit and stevedore while bandit loads: they would reach the
    CLI's standard error through logging's last-resort handler."""
    import logging  # only when bandit loads: not on the CLI's start-up path

    loggers = [logging.getLogger(name) for name in ("bandit", "stevedore")]
    saved = [lg.disabled for lg in loggers]
    try:
        for lg in loggers:
            lg.disabled = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, was in zip(loggers, saved):
            lg.disabled = was


_LOCK = threading.Lock()
_ENGINE: _Engine | None = None


def engine() -> _Engine:
    """The test set, loaded once per process on first use."""
    global _ENGINE
    if _ENGINE is None:
        with _LOCK:
            if _ENGINE is None:
                _ENGINE = _Engine(load_tables())
    return _ENGINE


def add_bandit(found: CodeFindings, source: str) -> CodeFindings:
    """``found`` (the code analysis of Python ``source``) with bandit's findings; a source that does
    not parse is left as it is (the analysis made it opaque). Never raises: a failure of bandit makes
    the code opaque, keeping what the analysis found."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return found
    try:
        findings, failed = _findings(source, tree, found.opaque)
    except RecursionError:
        return _opaque(found, "the code is nested too deeply for bandit's checks")
    except Exception as exc:  # noqa: BLE001 -- fail closed: bandit's failure must not pass the code unexamined
        return _opaque(found, f"bandit's checks failed: {type(exc).__name__}")
    if failed:
        found = _opaque(found, f"bandit's check {failed[0]}")
    return replace(found, findings=findings) if findings else found


def _opaque(found: CodeFindings, reason: str) -> CodeFindings:
    why = found.why + (reason,)
    opaque_reason = f"{found.opaque_reason}; {reason}" if found.opaque_reason else reason
    return replace(found, why=why, opaque=True, opaque_reason=opaque_reason)


def _findings(source: str, tree: ast.Module, opaque: bool) -> tuple[tuple[Finding, ...], list[str]]:
    eng = engine()
    tables = eng.tables
    issues, failed = eng.run(source, tree)
    out: dict[tuple[str, int, int], Finding] = {}
    calls: dict[tuple[int, int], ast.Call] | None = None
    secret_lines: set[int] | None = None
    for issue in sorted(issues, key=lambda i: (i.lineno or 0, i.col_offset or 0, i.test_id)):
        spec = tables.tests.get(issue.test_id)
        if spec is None:
            continue
        line, col = int(issue.lineno or 0), max(int(issue.col_offset or 0), 0)
        if spec.followed == "code":
            if calls is None:
                calls = {(n.lineno, n.col_offset): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
            if not opaque or _literal_code(calls.get((line, col))):
                continue  # the analysis read the code it runs
        elif spec.followed == "command" and not opaque:
            continue  # every command is resolved, and judged by the command policy
        if spec.credential:
            if secret_lines is None:
                secret_lines = _secret_lines(source)
            if line in secret_lines:
                continue  # the secrets detector reports it (a `secret` effect)
        text = spec.what or " ".join(str(issue.text).split())[:MAX_MESSAGE]
        severity, confidence = str(issue.severity).upper(), str(issue.confidence).upper()
        rule = f"{DETECTOR}:{issue.test_id}"
        message = (f"bandit {issue.test_id} ({issue.test}, severity {severity.lower()}, "
                   f"confidence {confidence.lower()}): {text}")
        key = (rule, line, col)
        if key not in out and len(out) < MAX_FINDINGS:
            out[key] = Finding(rule, str(issue.test), tables.risk_of(severity, confidence), line, col + 1,
                               message, severity, confidence)
    return tuple(out.values()), failed


def _literal_code(call: ast.Call | None) -> bool:
    """Does the call run a string literal (``exec("print(1)")``)? The analysis reads such code."""
    if call is None:
        return False
    arg: ast.expr | None = call.args[0] if call.args else next(
        (k.value for k in call.keywords if k.arg == "source"), None)
    return isinstance(arg, ast.Constant) and isinstance(arg.value, (str, bytes))


def _secret_lines(source: str) -> set[int]:
    """The lines on which the secrets detector finds a credential."""
    from ..secretscan.detector import scan

    return {source.count("\n", 0, f.start) + 1 for f in scan(source)}


def finding_effects(findings: tuple[Finding, ...], segment: int, language: str = "") -> list[Effect]:
    """One ``finding`` effect per finding: text the rule id, operands[0] where it is -- ``line 3:5``,
    and for code a command runs (``language`` given) ``line 1:8 of the python code in segment 2``."""
    where = f" of the {language} code in segment {segment + 1}" if language else ""
    out = []
    for f in findings:
        place = f"line {f.line}:{f.col}{where}"
        out.append(Effect("finding", program=f.detector, text=f.rule, operands=(place,), risk=f.risk,
                          why=f"{f.message} (at {place})", segment=segment))
    return out


__all__ = ["DETECTOR", "BanditTables", "TestSpec", "add_bandit", "engine", "finding_effects", "load_tables"]
