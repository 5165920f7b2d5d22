"""bandit's findings on Python code (analysis/sourcecode/bandit_checks.py): a labelled table of snippets
run as Code actions, as ``python3 -c '...'`` commands and as ``python3 - <<EOF`` heredocs (the
analysed text only: nothing here is executed), with the decision and the finding each must get,
precision and recall printed; the data (bandit.toml) against the installed bandit; the finding
target of the policy language; failures that must fail closed."""
from __future__ import annotations

import ast
import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import policylang
from policylang import Settings, from_text
from policylang.actions import Code, Command
from policylang.analysis.sourcecode import analyse_code, bandit_checks
from policylang.diagnostics import PolicyError
from policylang.verdict import Decision

CWD = "/home/u/proj"
GH = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"  # made up, in the github-pat format

# (name, source, decision under the execute preset, the bandit finding it must have or None).
# dangerous: denied with the finding; risky: asked, or allowed but flagged; benign: allowed, no finding.
TABLE: list[tuple[str, str, str, str | None]] = [
    # dangerous
    ("eval-argv", "import sys\nprint(eval(sys.argv[1]))\n", "deny", "bandit:B307"),
    ("exec-input", "src = input('code? ')\nexec(src)\n", "deny", "bandit:B102"),
    ("pickle-loads", "import pickle, sys\nobj = pickle.loads(sys.stdin.buffer.read())\n", "deny", "bandit:B301"),
    ("pickle-load-file", "import pickle\nwith open('model.pkl', 'rb') as fh:\n    model = pickle.load(fh)\n",
     "deny", "bandit:B301"),
    ("marshal-loads", "import marshal\ncode = marshal.loads(open('blob.bin', 'rb').read())\n", "deny",
     "bandit:B302"),
    ("yaml-load", "import yaml\ncfg = yaml.load(open('config.yml'))\n", "deny", "bandit:B506"),
    ("yaml-load-loader", "import yaml\ncfg = yaml.load(open('c.yml'), Loader=yaml.Loader)\n", "deny", "bandit:B506"),
    ("nosec-ignored", "import pickle, sys\nobj = pickle.loads(sys.stdin.buffer.read())  # nosec\n", "deny",
     "bandit:B301"),
    ("ctypes-table", "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nlibc.system(b'id')\n", "deny", None),
    # risky: asked (a shell command built at run time: unknown, as the posture asks for any opaque command)
    ("subprocess-shell-argv", "import subprocess, sys\nsubprocess.run(sys.argv[1], shell=True)\n", "ask",
     "bandit:B602"),
    ("popen-shell-format", "import subprocess, sys\nsubprocess.Popen('ls ' + sys.argv[1], shell=True)\n", "ask",
     "bandit:B602"),
    ("os-system-input", "import os\nos.system(input('command: '))\n", "ask", "bandit:B605"),
    ("requests-verify-false", "import requests\nr = requests.get('https://api.example.com/v1', verify=False)\n",
     "ask", "bandit:B501"),
    ("ssl-unverified", "import ssl\nctx = ssl._create_unverified_context()\n", "ask", "bandit:B323"),
    ("chmod-777", "import os\nos.chmod('build/run.sh', 0o777)\n", "ask", "bandit:B103"),
    ("tar-extractall", "import tarfile\ntarfile.open('dl.tar.gz').extractall('out')\n", "ask", "bandit:B202"),
    ("paramiko-autoadd", ("import paramiko\nc = paramiko.SSHClient()\n"
     "c.set_missing_host_key_policy(paramiko.AutoAddPolicy())\n"), "ask", "bandit:B507"),
    ("torch-load", "import torch\nstate = torch.load('model.pt')\n", "ask", "bandit:B614"),
    ("logging-listen", "import logging.config\nt = logging.config.listen(9999)\nt.start()\n", "ask",
     "bandit:B612"),
    ("trojan-source", "access = 'user'\nif access != 'none\u202e \u2066# admin\u2069 \u2066':\n    print('ok')\n",
     "ask", "bandit:B613"),
    # risky: flagged, not asked (low or medium risk, no rule)
    ("mktemp", "import tempfile\nname = tempfile.mktemp(suffix='.txt')\nprint(name)\n", "allow", "bandit:B306"),
    ("hardcoded-password", "password = 'hunter2'\nprint(len(password))\n", "allow", "bandit:B105"),
    ("hardcoded-password-kwarg", "def connect(**kw):\n    return kw\n\nconnect(user='me', password='s3cr3t!pw')\n",
     "allow", "bandit:B106"),
    ("hardcoded-password-default", "def login(user, password='changeme'):\n    return user\n", "allow",
     "bandit:B107"),
    # benign
    ("pandas", "import pandas as pd\ndf = pd.read_csv('data.csv')\nprint(df.groupby('region').sum())\n",
     "allow", None),
    ("json-pathlib", ("import json\nfrom pathlib import Path\n"
     "data = json.loads(Path('in.json').read_text())\nprint(len(data))\n"), "allow", None),
    ("argparse", ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--n', type=int)\n"
     "print(p.parse_args().n)\n"), "allow", None),
    ("subprocess-list", ("import subprocess\nout = subprocess.run(['git', 'status', '--short'], capture_output=True,"
     " text=True)\nprint(out.stdout)\n"), "allow", None),
    ("subprocess-shell-literal", "import subprocess\nsubprocess.run('ls -l | wc -l', shell=True)\n", "allow", None),
    ("subprocess-shell-resolved", "import subprocess\ncmd = 'git log --oneline -5'\nsubprocess.run(cmd, shell=True)\n",
     "allow", None),
    ("yaml-safe-load", "import yaml\ncfg = yaml.safe_load(open('config.yml'))\nprint(cfg)\n", "allow", None),
    ("yaml-load-safeloader", "import yaml\ncfg = yaml.load(open('c.yml'), Loader=yaml.SafeLoader)\n", "allow", None),
    ("requests-default", "import requests\nr = requests.get('https://api.example.com/v1')\nprint(r.json())\n",
     "allow", None),
    ("exec-literal", "exec('print(1 + 1)')\n", "allow", None),
    ("eval-literal", "print(eval('2 * 21'))\n", "allow", None),
    ("assert-random-md5", ("import hashlib, random\nassert random.random() < 2\n"
     "print(hashlib.md5(b'x').hexdigest())\n"), "allow", None),
    ("import-pickle-only", "import pickle\nprint(pickle.HIGHEST_PROTOCOL)\n", "allow", None),
    ("xml-parse", "import xml.etree.ElementTree as ET\nroot = ET.parse('feed.xml').getroot()\nprint(root.tag)\n",
     "allow", None),
    ("try-except-pass", "try:\n    import numpy\nexcept ImportError:\n    pass\n", "allow", None),
    ("tmp-path", "with open('/tmp/out.txt', 'w') as fh:\n    fh.write('done')\n", "allow", None),
    ("urlopen", "import urllib.request\nprint(urllib.request.urlopen('https://example.com').status)\n", "allow",
     None),
]


@pytest.fixture(scope="module")
def policy() -> policylang.Policy:
    return policylang.load(preset="execute")


def _forms(source: str) -> dict[str, Code | Command]:
    """The same source as a Code action, a ``python3 -c`` one-liner and a heredoc fed to python3."""
    return {
        "code": Code("python", source, cwd=CWD),
        "python -c": Command("python3 -c " + shlex.quote(source), cwd=CWD),
        "heredoc": Command("python3 - <<'EOF'\n" + source + "EOF\n", cwd=CWD),
    }


def _found(v: policylang.Verdict) -> set[str]:
    """The bandit findings a verdict shows, from the effects of its segments."""
    out = set()
    for seg in v.segments:
        for e in seg.effects:
            if e.startswith("finding(bandit:"):
                out.add(e[len("finding("):].split(" ", 1)[0])
    return out


@pytest.mark.parametrize("form", ["code", "python -c", "heredoc"])
def test_labelled_table(policy: policylang.Policy, form: str) -> None:
    tp = fp = fn = 0
    wrong = []
    for name, source, decision, finding in TABLE:
        v = policy.decide(_forms(source)[form])
        found = _found(v)
        tp += finding in found
        fn += finding is not None and finding not in found
        fp += len(found - {finding})
        if v.decision.label != decision or (finding is None) != (not found) or finding and finding not in found:
            wrong.append((name, v.decision.label, sorted(found), decision, finding))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(f"\n{form}: {len(TABLE)} snippets, precision {precision:.2f}, recall {recall:.2f}")
    assert not wrong, wrong
    assert precision == 1.0 and recall == 1.0


@pytest.mark.parametrize("name,source,decision,finding", [r for r in TABLE if r[3]], ids=[r[0] for r in TABLE if r[3]])
def test_reason_names_detector_test_and_location(policy: policylang.Policy, name: str, source: str, decision: str,
                                                 finding: str) -> None:
    ex = policy.explain(Code("python", source, cwd=CWD))
    (j,) = [j for j in ex.judged if j.effect.kind == "finding" and j.effect.text == finding]
    test_id = finding.split(":")[1]
    assert j.effect.program == "bandit" and j.why.startswith(f"bandit {test_id} (")
    line, col = (int(x) for x in j.effect.operands[0].removeprefix("line ").split(":"))
    lines = source.splitlines()
    assert 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]) + 1
    if decision != "allow":  # the verdict's reasons name it
        assert any(r.effect == f"finding({finding} at line {line}:{col})" for r in ex.verdict.reasons), \
            ex.verdict.reasons


def test_segment_of_a_one_liner_is_named(policy: policylang.Policy) -> None:
    v = policy.decide(Command("echo start && python3 -c " + shlex.quote("import yaml; yaml.load(open('c'))"),
                              cwd=CWD))
    assert v.decision is Decision.DENY
    reason = next(r for r in v.reasons if r.rule == "builtin.finding.deserialise")
    assert reason.effect == "finding(bandit:B506 at line 1:14 of the python code in segment 2)"


def test_message_has_test_id_severity_confidence() -> None:
    found = analyse_code("python", "import marshal\nmarshal.loads(b'')\n")
    (f,) = found.findings
    assert (f.rule, f.line, f.col, f.severity, f.confidence) == ("bandit:B302", 2, 1, "MEDIUM", "HIGH")
    assert f.message.startswith("bandit B302 (blacklist, severity medium, confidence high): ")


# ---- credentials: described, never quoted; not reported twice ----------------------------------------

def test_hardcoded_password_value_never_shown(policy: policylang.Policy) -> None:
    source = "password = 'hunter2'\nprint(password)\n"
    found = analyse_code("python", source)
    assert [f.rule for f in found.findings] == ["bandit:B105"]
    assert all("hunter2" not in f.message for f in found.findings)
    ex = policy.explain(Code("python", source, cwd=CWD))
    assert "bandit:B105" in _found(ex.verdict)
    shown = [j.why for j in ex.judged] + [r.message for j in ex.judged for r in j.reasons]
    assert all("hunter2" not in text for text in shown)


def test_secret_found_by_the_detector_is_not_reported_again(policy: policylang.Policy) -> None:
    source = f"token = '{GH}'\nheaders = {{'Authorization': 'token ' + token}}\n"
    found = analyse_code("python", source)
    assert not [f for f in found.findings if f.rule in ("bandit:B105", "bandit:B106")]
    v = policy.decide(Code("python", source, cwd=CWD))
    assert any(e.startswith("secret(github-pat") for s in v.segments for e in s.effects)
    assert GH not in repr(v.to_json())
    # the same assignment with a value the detector does not know is bandit's
    plain = analyse_code("python", "token = 'hunter2'\n")
    assert [f.rule for f in plain.findings] == ["bandit:B105"]


# ---- fail closed ------------------------------------------------------------------------------------

def test_code_that_does_not_parse_stays_opaque(policy: policylang.Policy) -> None:
    found = analyse_code("python", "def broken(:\n    pickle.loads(x)\n")
    assert found.opaque and not found.findings
    assert policy.decide(Code("python", "def broken(:\n", cwd=CWD)).decision is not Decision.ALLOW


def test_a_bandit_failure_makes_the_code_opaque(monkeypatch: pytest.MonkeyPatch, policy: policylang.Policy) -> None:
    eng = bandit_checks.engine()

    def boom(source: str, tree: ast.Module) -> tuple[list[object], list[str]]:
        raise KeyError("plugin")

    monkeypatch.setattr(eng, "run", boom)
    found = analyse_code("python", "print('hello')\n")
    assert found.opaque and "bandit's checks failed: KeyError" in found.opaque_reason
    assert policy.decide(Code("python", "print('hello')\n", cwd=CWD)).decision is not Decision.ALLOW


def test_a_failing_bandit_test_makes_the_code_opaque(monkeypatch: pytest.MonkeyPatch) -> None:
    eng = bandit_checks.engine()
    real = eng.run

    def with_failure(source: str, tree: ast.Module) -> tuple[list[object], list[str]]:
        issues, _ = real(source, tree)
        return issues, ["yaml_load failed (AttributeError)"]

    monkeypatch.setattr(eng, "run", with_failure)
    found = analyse_code("python", "print('hello')\n")
    assert found.opaque and "bandit's check yaml_load failed (AttributeError)" in found.opaque_reason


def test_a_plugin_that_raises_makes_the_code_opaque(monkeypatch: pytest.MonkeyPatch) -> None:
    eng = bandit_checks.engine()

    def broken(context: object) -> None:
        raise AttributeError("a plugin bug")

    broken._test_id = "B999"  # type: ignore[attr-defined]
    monkeypatch.setitem(eng.testset.tests, "Call", [broken, *eng.testset.tests["Call"]])
    found = analyse_code("python", "print('hello')\n")
    assert found.opaque and "bandit's check broken failed (AttributeError)" in found.opaque_reason
    found = analyse_code("python", "import pickle\npickle.loads(b'')\n")
    assert "bandit:B301" in [f.rule for f in found.findings]  # the other tests still ran


# ---- the data against the installed bandit, and our walk against bandit's own ---------------------

def test_every_bandit_test_is_counted_or_ignored() -> None:
    from bandit.core import extension_loader

    tables = bandit_checks.load_tables()
    ids = {p.plugin._test_id for p in extension_loader.MANAGER.plugins}
    ids |= {t["id"] for tests in extension_loader.MANAGER.blacklist.values() for t in tests}
    assert ids - set(tables.tests) - set(tables.ignored) == set(), "decide these in bandit.toml"
    assert set(tables.tests) - ids == set(), "counted tests bandit does not have"


def test_risk_table_low_severity_never_above_low() -> None:
    tables = bandit_checks.load_tables()
    assert all(tables.risk_of("LOW", c).label == "low" for c in ("LOW", "MEDIUM", "HIGH"))
    assert tables.risk_of("HIGH", "HIGH").label == "high"
    assert tables.risk_of("MEDIUM", "HIGH").label == "medium"


@pytest.mark.parametrize("text,problem", [
    ('[risk]\nHIGH = { HIGH = "high" }\n', "[risk] HIGH"),
    (Path(bandit_checks.__file__).with_name("data").joinpath("bandit.toml").read_text()
     + '\n[tests.B999]\ncredential = true\n', "needs `what`"),
    (('[risk]\nHIGH = { HIGH = "high", MEDIUM = "high", LOW = "low" }\nMEDIUM = { HIGH = "medium", MEDIUM = "medium", '
     'LOW = "low" }\nLOW = { HIGH = "low", MEDIUM = "low", LOW = "low" }\n[tests]\nB301 = {}\n[ignored]\nB301 = "x"\n'),
     "both counted and ignored"),
])
def test_malformed_tables_are_rejected(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        bandit_checks.load_tables(text)


@pytest.mark.parametrize("name,source", [(r[0], r[1]) for r in TABLE], ids=[r[0] for r in TABLE])
def test_filtered_walk_finds_what_bandits_own_walk_finds(name: str, source: str) -> None:
    eng = bandit_checks.engine()  # loads bandit quietly

    from bandit.core import node_visitor

    ours, _ = eng.run(source, ast.parse(source))
    stock = node_visitor.BanditNodeVisitor("/cell.py", io.BytesIO(source.encode()), None, eng.testset, False, {},
                                           eng.metrics)
    stock.process(source)
    def key(i: Any) -> tuple[Any, ...]:
        return (i.test_id, i.lineno, i.col_offset, i.severity, i.confidence)

    assert sorted(map(key, ours)) == sorted(map(key, stock.tester.results))


# ---- the policy language: `finding` --------------------------------------------------------------

def test_finding_target_matches_rule_ids() -> None:
    p = from_text('rule f.pw: ask finding matching re"^bandit:B10[5-7]$"\nrule f.any: deny finding',
                  Settings(mode="execute"))
    v = p.decide(Code("python", "password = 'hunter2'\n"))
    assert v.decision is Decision.DENY and {"f.pw", "f.any"} <= set(v.matched)
    v = p.decide(Code("python", "print('x')\n"))
    assert v.decision is Decision.ALLOW and not {"f.pw", "f.any"} & set(v.matched)


def test_builtin_finding_rules_can_be_disabled(tmp_path) -> None:
    extra = tmp_path / "p.policy"
    extra.write_text("disable builtin.finding.deserialise\n")
    p = policylang.load(preset="execute", policy_files=[str(extra)])
    v = p.decide(Code("python", "import yaml\ncfg = yaml.load(open('c.yml'))\n", cwd=CWD))
    # the finding is medium risk (bandit: medium severity, high confidence): no rule, the risk table allows
    assert v.decision is Decision.ALLOW and "bandit:B506" in _found(v)


@pytest.mark.parametrize("text", ["rule f.x: deny finding in message", "rule f.x: deny finding to network",
                                  'rule f.x: deny finding in ["**"]'])
def test_finding_takes_no_place(text: str) -> None:
    with pytest.raises(PolicyError, match="concern-scope|cannot go|has no paths"):
        from_text(text, Settings())


# ---- the CLI, as a real process -------------------------------------------------------------------

def test_cli_batch_reports_findings_and_keeps_stderr_clean(tmp_path: Path) -> None:
    from clirun import run_cli

    home = tmp_path / "home"
    home.mkdir()
    lines = [
        {"kind": "code", "language": "python", "source": "import yaml\ncfg = yaml.load(open('c.yml'))\n"},
        {"kind": "code", "language": "python", "source": "import yaml\ncfg = yaml.safe_load(open('c.yml'))\n"},
        {"kind": "command", "command": "python3 -c " + shlex.quote("import pickle,sys; pickle.loads(sys.stdin.read())")},
    ]
    feed = "".join(json.dumps(x) + "\n" for x in lines).encode()
    r = run_cli(["decide", "--preset", "execute", "--cwd", str(home), "--jsonl", "-"], str(home), stdin=feed,
                timeout=120)
    assert r.err == "", r.err  # bandit's loader logs and warnings stay out of the CLI's output
    out = [json.loads(x) for x in r.out.splitlines() if x.strip()]
    assert [o["decision"] for o in out] == ["deny", "allow", "deny"], out
    assert any(x.get("rule") == "builtin.finding.deserialise" and "bandit:B506" in (x.get("effect") or "")
               for x in out[0]["reasons"]), out[0]
    assert any("bandit:B301" in (x.get("effect") or "") and "segment 1" in (x.get("effect") or "")
               for x in out[2]["reasons"]), out[2]


def test_bandit_text_goes_through_redaction(policy: policylang.Policy) -> None:
    # bandit's text for B103 quotes the path: a credential in it is shown as its marker
    source = f"import os\nos.chmod('/tmp/{GH}', 0o777)\n"
    ex = policy.explain(Code("python", source, cwd=CWD))
    (j,) = [j for j in ex.judged if j.effect.kind == "finding"]
    assert j.effect.text == "bandit:B103"
    assert GH not in repr(ex.verdict.to_json()) and "[REDACTED github-pat:" in repr(ex.verdict.to_json())
    assert all(GH not in r.message for jj in ex.judged for r in jj.reasons)


def test_threads_get_the_findings_of_a_sequential_run() -> None:
    from concurrent.futures import ThreadPoolExecutor

    sources = [r[1] for r in TABLE] * 4
    sequential = [analyse_code("python", s).findings for s in sources]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda s: analyse_code("python", s).findings, sources))
    assert threaded == sequential
