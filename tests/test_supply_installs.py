"""Package installs judged by what they install: the install effects of every installer the catalog
marks (``installs`` tables), their risks and reasons, the ``install`` target of the language, and the
check staying off the decide path of other commands.

Decisions are those of the execute preset (medium runs, high is denied, unknown runs with a warning):
the install effect decides where it is worse than the command.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policylang
from policylang import Settings, from_text
from policylang.analysis.catalog import CatalogError, load_catalog
from policylang.verdict import Risk

CWD = "/home/u/proj"

# (command, decision, the rule of the install reason, risk of the install effect, a fragment of its reason)
TABLE = [
    ("pip install requests", "allow", "default:low", "low", "among the"),
    ("pip install --upgrade pip", "allow", "default:low", "low", "pip is among"),
    ("pip install 'requests[socks]>=2.31'", "allow", "default:low", "low", "requests is among"),
    ("pip3 install --user numpy==1.26.4", "allow", "default:low", "low", "numpy is among"),
    ("pip install reqeusts", "deny", "default:high", "high", "reqeusts imitates requests"),
    ("pip install pythondateutil", "deny", "default:high", "high", "imitates python-dateutil"),
    ("pip install Python_Dateutil", "allow", "default:low", "low", "among the"),
    ("pip install my-internal-billing-lib", "allow", "default:medium", "medium", "not among the"),
    ("pip install -r requirements.txt", "allow", "default:medium", "medium", "installs what requirements.txt lists"),
    ("pip install -e .", "allow", "default:medium", "medium", "from the local path ."),
    ("pip install git+https://github.com/u/r.git", "allow", "default:medium", "medium", "from the git repository"),
    ("pip install https://files.example.com/pkg-1.0.whl", "allow", "default:medium", "medium", "from the URL"),
    ("pip install http://files.example.com/pkg-1.0.whl", "deny", "default:high", "high", "over plain HTTP"),
    ("pip install --index-url https://pypi.example.com/simple requests", "allow", "default:medium", "medium",
     "from the registry pypi.example.com (the option --index-url)"),
    ("pip install -i http://pypi.example.com/simple requests", "deny", "default:high", "high", "over plain HTTP"),
    ("pip install --index-url https://pypi.org/simple requests", "allow", "default:low", "low", "among the"),
    ("pip install --extra-index-url https://pkgs.example.com/simple acme-utils", "allow", "default:medium", "medium",
     "dependency confusion"),
    ("PIP_INDEX_URL=https://mirror.example.com/simple pip install flask", "allow", "default:medium", "medium",
     "($PIP_INDEX_URL)"),
    ("env PIP_INDEX_URL=https://mirror.example.com/simple pip install flask", "allow", "default:medium", "medium",
     "($PIP_INDEX_URL)"),
    ("export PIP_INDEX_URL=https://mirror.example.com/simple; pip install flask", "allow", "default:medium", "medium",
     "($PIP_INDEX_URL)"),
    ("pip install $PKG", "allow", "default:unknown", "unknown", "a package named at run time"),
    ("uv pip install reqeusts", "deny", "default:high", "high", "imitates requests"),
    ("uv add 'pandas>=2'", "allow", "default:low", "low", "pandas is among"),
    ("uv add --index https://pkgs.example.com/simple acme-utils", "allow", "default:medium", "medium", "also from"),
    ("uv run --with reqeusts pytest", "deny", "default:high", "high", "imitates requests"),
    ("uv tool install ruff", "allow", "default:low", "low", "ruff is among"),
    ("uvx --from reqeusts some-tool", "deny", "default:high", "high", "imitates requests"),
    ("uvx ruff check .", "allow", "default:low", "low", "ruff is among"),
    ("poetry add requestss", "deny", "default:high", "high", "imitates requests"),
    ("pipx install black", "allow", "default:low", "low", "black is among"),
    ("pipx run reqeusts", "deny", "default:high", "high", "imitates requests"),
    ("npm install lodash", "allow", "default:low", "low", "lodash is among"),
    ("npm i lodahs", "deny", "default:high", "high", "lodahs imitates lodash"),
    ("npm install @evil/lodash", "deny", "default:high", "high", "under the scope @evil"),
    ("npm install @types/node@20", "allow", "default:low", "low", "among the"),
    ("npm install some-unpopular-widget-xyz", "allow", "default:medium", "medium",
     "runs the package's install scripts"),
    ("npm install lodash@npm:lodahs", "deny", "default:high", "high", "imitates lodash"),
    ("npm install github:user/repo", "allow", "default:medium", "medium", "from the git repository"),
    ("npm install user/repo", "allow", "default:medium", "medium", "from the git repository"),
    ("npm install --registry=https://npm.example.com lodash", "allow", "default:medium", "medium",
     "from the registry npm.example.com"),
    ("npm_config_registry=http://npm.example.com npm install lodash", "deny", "default:high", "high",
     "over plain HTTP"),
    ("npx cowsay hello", "allow", "default:medium", "medium", "not among the"),
    ("npx -p lodahs some-bin", "deny", "default:high", "high", "imitates lodash"),
    ("npm exec -- expres", "deny", "default:high", "high", "imitates express"),
    ("yarn add expres", "deny", "default:high", "high", "imitates express"),
    ("yarn global add expres", "deny", "default:high", "high", "imitates express"),
    ("python3 -m pip install reqeusts", "deny", "default:high", "high", "imitates requests"),
    ("bash -c 'npm i lodahs'", "deny", "default:high", "high", "imitates lodash"),
    ("sudo -u bob pip install reqeusts", "deny", "default:high", "high", "imitates requests"),
    ("npm exec --package=lodahs -- foo", "deny", "default:high", "high", "imitates lodash"),
    ("PIP_INDEX_URL=$URL pip install flask", "allow", "default:unknown", "unknown", "known only at run time"),
    ("pip install r\u0435quests", "deny", "default:high", "high", "characters that look like its letters"),
    ("npm i l\u043edash", "deny", "default:high", "high", "imitates lodash"),
    ("pip install 'foo bar'", "allow", "default:unknown", "unknown", "not a package name"),
    ("yarn dlx create-vite-app-xyz", "allow", "default:medium", "medium", "not among the"),
    ("pnpm add react", "allow", "default:low", "low", "react is among"),
    ("pnpm dlx reactt", "deny", "default:high", "high", "imitates react"),
    ("bun add reactt", "deny", "default:high", "high", "imitates react"),
    ("bunx cowsay", "allow", "default:medium", "medium", "not among the"),
    ("bun x reactt", "deny", "default:high", "high", "imitates react"),
    ("cargo install ripgrep", "allow", "default:medium", "medium", "no list of popular names"),
    ("cargo install --git https://github.com/u/tool", "allow", "default:medium", "medium", "from the git repository"),
    ("cargo add serde@1", "allow", "default:medium", "medium", "no list of popular names"),
    ("gem install rails -v 7.1.0", "allow", "default:medium", "medium", "rails from RubyGems"),
    ("go install golang.org/x/tools/gopls@latest", "allow", "default:medium", "medium", "golang.org/x/tools/gopls"),
    ("sudo apt-get install -y curl", "allow", "default:low", "low", "curl from the system's package repositories"),
    ("sudo apt install ./tool.deb", "allow", "default:medium", "medium", "maintainer scripts run as root"),
    ("brew install wget", "allow", "default:low", "low", "wget from Homebrew"),
    ("brew install someone/tools/wget", "allow", "default:medium", "medium", "from the third-party tap someone/tools"),
]
# Options that turn off the checks of what is downloaded: the command itself is high.
INSECURE = ["pip install --trusted-host pypi.example.com requests", "uv pip install --allow-insecure-host x.example ruff",
            "uvx --allow-insecure-host x.example ruff", "npm install --no-strict-ssl lodash"]


@pytest.mark.parametrize("command", INSECURE)
def test_turning_off_certificate_checks_is_denied(execute: policylang.Policy, command: str) -> None:
    v = execute.decide(policylang.Command(command, cwd=CWD))
    assert v.decision.label == "deny" and any("certificate checks" in r.message for r in v.reasons), v.reasons


# Installs of nothing named (the lock file, the manifest): no install effect, nothing changes.
NO_INSTALLS = ["npm install", "npm ci", "yarn install", "pnpm install", "bun install", "uv sync",
               "uv remove requests", "npm uninstall lodash", "pip uninstall reqeusts", "cargo build", "go build ./...",
               "apt-get update", "brew update", "gem list", "pip download reqeusts"]


@pytest.fixture(scope="module")
def execute() -> policylang.Policy:
    return from_text("", Settings(mode="execute", posture="relaxed", block_high_risk=True, workspace=CWD))


def _installs(v: policylang.Verdict) -> list[policylang.Reason]:
    return [r for r in v.reasons if (r.effect or "").startswith("install(")]


@pytest.mark.parametrize("command,decision,rule,risk,why", TABLE, ids=[t[0] for t in TABLE])
def test_install_table(execute: policylang.Policy, command: str, decision: str, rule: str, risk: str,
                       why: str | None) -> None:
    v = execute.decide(policylang.Command(command, cwd=CWD))
    reasons = _installs(v)
    assert reasons, [r.effect for r in v.reasons]
    worst = max(reasons, key=lambda r: r.risk)
    assert (v.decision.label, worst.rule, worst.risk.label) == (decision, rule, risk), v.reasons
    if why is not None:
        assert why in worst.message and worst.message.startswith("supply-chain: "), worst.message


@pytest.mark.parametrize("command", NO_INSTALLS)
def test_installing_nothing_named_adds_no_install_effect(execute: policylang.Policy, command: str) -> None:
    v = execute.decide(policylang.Command(command, cwd=CWD))
    assert not _installs(v), v.reasons


def test_ignore_scripts_drops_the_scripts_reason(execute: policylang.Policy) -> None:
    with_scripts = _installs(execute.decide("npm install some-unpopular-widget-xyz"))[0]
    without = _installs(execute.decide("npm install --ignore-scripts some-unpopular-widget-xyz"))[0]
    assert "install scripts" in with_scripts.message and "install scripts" not in without.message
    assert (with_scripts.risk, without.risk) == (Risk.MEDIUM, Risk.MEDIUM)


def test_approve_mode_asks_for_an_unpopular_install_and_denies_a_typosquat() -> None:
    p = policylang.load(preset="approve")
    assert p.decide("pip install my-internal-billing-lib").decision.label == "ask"
    assert p.decide("pip install reqeusts").decision.label == "deny"


RULES = textwrap.dedent('''\
    rule inst.ok:       allow install in ["reqeusts", "npm:@acme/*", "Python_Dateutil"] risk high
    rule inst.host:     deny  install to ["*.evil.example"]
    rule inst.left:     ask   install matching re"^left-"
    rule inst.pypi-only: deny install in ["pypi:leftpad-*"]
    rule npm.all:       allow exec npm install ...
    ''')
LANG = [
    ("pip install reqeusts", "allow", "inst.ok"),
    ("npm install @acme/lodash", "allow", "inst.ok"),
    ("pip install python.dateutil", "allow", "inst.ok"),
    ("pip install --index-url https://x.evil.example/simple requests", "deny", "inst.host"),
    ("npm install left-pad", "ask", "inst.left"),
    ("pip install leftpad-x", "deny", "inst.pypi-only"),
    ("npm install leftpad-x", "allow", "npm.all"),
    ("npm install lodahs", "deny", "default:high"),
]


@pytest.mark.parametrize("command,decision,rule", LANG, ids=[t[0] for t in LANG])
def test_install_target(command: str, decision: str, rule: str) -> None:
    p = from_text(RULES, Settings(mode="execute", posture="relaxed", block_high_risk=True, workspace=CWD))
    v = p.decide(policylang.Command(command, cwd=CWD))
    assert v.decision.label == decision and rule in [r.rule for r in v.reasons], v.reasons


@pytest.mark.parametrize("text,code", [
    ('rule a: deny install in ["cpan:foo"]', "invalid-glob"),
    ('rule a: deny install in ["https://x.example/p"]', "invalid-glob"),
    ('rule a: deny install in message', "concern-scope"),
    ('rule a: deny persist in ["requests"]', "concern-scope"),
])
def test_install_target_errors(text: str, code: str) -> None:
    from policylang.lang.parse import parse_policy
    from policylang.lang.validate import validate
    from policylang.source import Source

    src = Source("t.policy", text, "user")
    f, diags = parse_policy(src)
    assert diags == [], [d.render() for d in diags]
    assert code in [d.code for d in validate([f], {src.name: src})]


@pytest.mark.parametrize("table,error", [
    ('[x]\nrisk = "low"\n[x.installs]\necosystem = "cpan"\n', "ecosystem must be one of"),
    ('[x]\nrisk = "low"\noptions = ["-i =url"]\n[x.installs]\necosystem = "pypi"\nindex_flags = ["--nope"]\n',
     "is not an option of the command"),
    ('[x]\nrisk = "low"\n[x.installs]\necosystem = "pypi"\npackages = "somewhere"\n', "packages must be"),
    ('[x]\nrisk = "low"\n[x.installs]\necosystem = "npm"\nscript = true\n', "unknown key"),
])
def test_catalog_installs_tables_are_checked(table: str, error: str) -> None:
    with pytest.raises(CatalogError, match=error):
        load_catalog(table)


def test_catalog_ecosystems_match_the_supply_chain_data() -> None:
    from policylang.analysis.catalog import load as catalog_load
    from policylang.analysis.supplychain.names import ecosystems

    assert catalog_load._INSTALL_ECOSYSTEMS == frozenset(ecosystems())


def test_lists_load_only_when_an_install_is_analysed(tmp_path) -> None:
    """The decide path of other commands never reads the lists (a fresh process, a scratch HOME)."""
    code = textwrap.dedent('''
        import json, sys, policylang
        from policylang.analysis.supplychain import names
        p = policylang.load()
        p.decide("git status"); p.decide("ls -la"); p.decide("npm install")
        before = sorted(names._INDEXES)
        p.decide("pip install requests")
        print(json.dumps([before, sorted(names._INDEXES)]))
    ''')
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=str(tmp_path), check=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == [] and after == ["pypi"]


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_word_is_judged_without_an_exception(word: str) -> None:
    """Whatever an install names, the check gives an answer (the analysis would otherwise fail closed,
    losing the reason); a word it cannot read is never low risk."""
    from policylang.analysis.supplychain.names import index
    from policylang.analysis.supplychain.specs import parse_spec

    for eco in ("pypi", "npm", "crates", "rubygems", "go", "debian", "homebrew"):
        spec = parse_spec(eco, word)
        assert spec.kind in ("registry", "url", "git", "path", "tap", "unknown")
    for eco in ("pypi", "npm"):
        ix = index(eco)
        assert ix is not None
        ix.imitates(word)


def test_the_examples_of_the_supply_chain_doc_compile() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "supply-chain.md").read_text(encoding="utf-8")
    rules = re.findall(r"```policy\n(.*?)```", doc, re.DOTALL) + re.findall(r"`(rule [^`]+)`", doc)
    p = from_text("\n".join(rules), Settings(mode="execute", posture="relaxed", workspace=CWD))
    assert p.decide("pip install torch-foo").decision.label == "deny"
    assert p.decide("npm install @acme/anything").decision.label in ("allow", "ask")


def test_refresh_script_reads_the_ranked_list_forms(tmp_path) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
    try:
        import refresh_popular as rp
    finally:
        sys.path.pop(0)
    (tmp_path / "a.json").write_text(json.dumps({"last_update": "2026-11-01", "rows": [
        {"download_count": 9, "project": "boto3"}, {"download_count": 8, "project": "requests"}]}))
    (tmp_path / "a.csv").write_text('download_count,project\n9,"boto3"\n8,"requests"\n')
    (tmp_path / "a.tsv").write_text("name\tversion\trank_x\nrequests\t1\t2\nzzz\t1\t\nboto3\t1\t1\n")
    for f in ("a.json", "a.csv", "a.tsv"):
        assert rp.pypi_names(str(tmp_path / f)) == ["boto3", "requests"], f
    out = tmp_path / "x.txt.gz"
    rp.write_list(out, ["b", "a", "b", "bad name"], ["source: test"])
    import gzip

    assert gzip.decompress(out.read_bytes()).decode() == "# source: test\n# names: 2\nb\na\n"


def test_a_list_that_cannot_be_read_leaves_the_install_to_the_posture(monkeypatch) -> None:
    """A damaged installation (a list missing or corrupt) never makes an install low risk."""
    from policylang.analysis.supplychain import names

    def broken(ecosystem: str) -> None:
        raise OSError("data/pypi.txt.gz: not a gzip file")

    monkeypatch.setattr("policylang.analysis.supplychain.installs.index", broken)
    monkeypatch.setattr(names, "index", broken)
    p = from_text("", Settings(mode="execute", posture="strict", block_high_risk=True, workspace=CWD, cache_size=0))
    v = p.decide(policylang.Command("pip install requests-toolbelt-xyz", cwd=CWD))
    reason = _installs(v)[0]
    assert v.decision.label == "deny" and reason.risk is Risk.UNKNOWN and "cannot be read" in reason.message
