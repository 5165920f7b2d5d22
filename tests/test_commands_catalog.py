"""The command catalog (policylang/analysis/catalog/data/*.toml) and argument parsing (catalog/argv.py)."""
from __future__ import annotations

import tomllib
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.analysis import catalog as commands
from policylang.analysis.catalog import store
from policylang.analysis.catalog import CatalogError, canonical_flags, load_catalog, lookup, normalise_program, parse_args
from policylang.analysis.shell import analyse_command
from policylang.verdict import Risk

CATALOG_TABLES = {name: table for f in resources.files("policylang.analysis.catalog").joinpath("data").iterdir()
                  if f.name.endswith(".toml") for name, table in tomllib.loads(f.read_text(encoding="utf-8")).items()}


def test_catalog_has_at_least_80_command_tables() -> None:
    assert len(CATALOG_TABLES) >= 80


REQUIRED = """
ls cat head tail less more wc sort uniq cut tr grep rg ag find xargs cp mv rm rmdir mkdir touch ln chmod chown chgrp
chattr stat du df tee dd truncate install shred sed awk tar zip unzip gzip git pip pip3 npm npx yarn pnpm cargo go make
apt apt-get brew gem docker kubectl terraform helm curl wget ssh scp rsync nc ncat socat telnet ftp mkfs mkfs.ext4
fdisk parted wipefs mdadm lvremove kill killall pkill systemctl service shutdown reboot halt poweroff crontab mount
umount iptables ufw useradd userdel passwd visudo history python python3 node perl ruby php bash sh zsh dash ksh fish
deno bun echo printf true false test [ pwd cd which type hash whereis man help date env sleep sudo doas command builtin
exec nice nohup time timeout stdbuf ionice chrt taskset watch parallel busybox eval source .
""".split()


@pytest.mark.parametrize("name", REQUIRED)
def test_required_commands_are_in_the_catalog(name: str) -> None:
    assert lookup(name) is not None


def test_every_entry_is_well_formed() -> None:
    for name, model in commands.all_models().items():
        assert model.summary, name
        assert model.risk in (Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL), name
        assert model.handler in commands.HANDLERS, name
        for sub in model.subcommands.values():
            assert sub.summary, (name, sub.name)
        for rule in model.rules:
            assert rule.why, name


@pytest.mark.parametrize("word, program", [
    ("rm", "rm"), ("/usr/bin/rm", "rm"), ("/bin/rm", "rm"), ("/usr/local/sbin/iptables", "iptables"),
    ("/opt/homebrew/bin/git", "git"), ("\\rm", "rm"), ("RM.exe", "rm"), ("Git", "git"), ("/usr/bin/../bin/rm", "rm"),
    ("/usr//bin/rm", "rm"), ("ｒｍ", "rm"), ("/home/u/bin/rm", "/home/u/bin/rm"), ("./rm", "./rm"),
    ("bin/rm", "bin/rm"), (".exe", ".exe"), ("/usr/bin/", "/usr/bin"),
])
def test_normalise_program(word: str, program: str) -> None:
    assert normalise_program(word) == program


@pytest.mark.parametrize("program, family", [
    ("mkfs.ext4", "mkfs"), ("mkfs.xfs", "mkfs"), ("python3.12", "python"), ("pip3.11", "pip"), ("lua5.4", "lua"),
])
def test_program_families(program: str, family: str) -> None:
    model = lookup(program)
    assert model is not None and model.name == family


@pytest.mark.parametrize("program, args, operands, flags", [
    ("rm", ["-rf", "x"], ("x",), {"-r", "-f"}),
    ("rm", ["-fr", "x"], ("x",), {"-r", "-f"}),
    ("rm", ["-R", "--force", "x"], ("x",), {"-r", "-f"}),
    ("rm", ["--recursive", "x"], ("x",), {"-r"}),
    ("rm", ["--RECURSIVE", "x"], ("x",), {"-r"}),
    ("rm", ["--rec", "x"], ("x",), {"-r"}),  # an unambiguous GNU abbreviation
    ("rm", ["x", "-rf"], ("x",), {"-r", "-f"}),  # GNU: options after operands
    ("rm", ["--", "-rf"], ("-rf",), set()),
    ("rm", ["\u2010rf", "x"], ("x",), {"-r", "-f"}),
    ("git", ["-C", "dir", "push", "--force"], ("push",), {"-C", "--force"}),
    ("git", ["-Cdir", "push"], ("push",), {"-C"}),
    ("git", ["-c", "core.pager=less", "push", "-f", "origin"], ("push", "origin"), {"-c", "--force"}),
    ("git", ["push", "--force=true"], ("push",), {"--force"}),
    ("git", ["push", "--force-with-lease=main"], ("push",), {"--force-with-lease"}),
    # an undeclared variant of declared options carries their flags (and its own name)
    ("git", ["push", "--force-with-lease-if-includes"], ("push",),
     {"--force", "--force-with-lease", "--force-with-lease-if-includes"}),
    ("git", ["RESET", "--HARD"], ("reset",), {"--hard"}),
    ("git", ["branch", "-D", "x"], ("branch", "x"), {"--delete", "--force"}),
    ("git", ["branch", "-d", "x"], ("branch", "x"), {"--delete"}),
    ("git", ["commit", "-am", "msg"], ("commit",), {"-a", "-m"}),
    ("git", ["commit", "-m", "rm -rf /"], ("commit",), {"-m"}),
    ("git", ["stash", "drop", "stash@{0}"], ("stash", "drop", "stash@{0}"), set()),
    ("git", ["restore", "-S", "f"], ("restore", "f"), {"--staged"}),
    ("tar", ["xzf", "a.tgz", "-C", "/opt"], (), {"-x", "-z", "-f", "-C"}),
    ("tar", ["-xzf", "a.tgz"], (), {"-x", "-z", "-f"}),
    ("head", ["-10", "f"], ("f",), {"-10"}),
    ("find", [".", "-name", "*.py", "-delete"], (".",), {"-name", "-delete"}),
    ("terraform", ["apply", "-auto-approve"], ("apply",), {"-auto-approve"}),
    ("sed", ["-i.bak", "s/a/b/", "f"], ("s/a/b/", "f"), {"-i"}),
    ("sudo", ["-u", "bob", "rm", "-rf", "/"], ("rm", "-rf", "/"), {"-u"}),
    ("curl", ["-fsSL", "-o", "out", "https://x"], ("https://x",), {"-f", "-s", "-S", "-L", "-o"}),
    ("unknown-tool", ["-ab", "--Long=x", "op"], ("op",), {"-a", "-b", "--long"}),
])
def test_parse_args(program: str, args: list[str], operands: tuple[str, ...], flags: set[str]) -> None:
    assert parse_args(program, args) == (operands, frozenset(flags))


@pytest.mark.parametrize("program, sub, flag, expected", [
    ("rm", None, "-rf", {"-r", "-f"}),
    ("rm", None, "-R", {"-r"}),
    ("rm", None, "--recursive", {"-r"}),
    ("rm", None, "--force", {"-f"}),
    ("git", "push", "-f", {"--force"}),
    ("git", "push", "--force=true", {"--force"}),
    ("git", "push", "--force-with-lease", {"--force-with-lease"}),
    ("git", "push", "--FORCE", {"--force"}),
    ("git", "branch", "-D", {"--delete", "--force"}),
    ("git", "stash drop", "-q", {"-q"}),
    ("git", "restore", "-S", {"--staged"}),
    ("git", None, "-C", {"-C"}),
    ("chmod", None, "--recursive", {"-R"}),
    (None, None, "-rf", {"-r", "-f"}),
    (None, None, "--Force", {"--force"}),
    ("terraform", "apply", "-auto-approve", {"-auto-approve"}),
    ("rm", None, "x", {"x"}),
])
def test_canonical_flags(program: str | None, sub: str | None, flag: str, expected: set[str]) -> None:
    assert canonical_flags(program, sub, flag) == frozenset(expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["-r", "-f", "-R", "--recursive", "--force", "-rf", "-fr", "-v", "x", "--", "-"]),
                max_size=6))
def test_every_spelling_of_a_flag_matches(args: list[str]) -> None:
    # A rule written with any spelling finds the command written with any other spelling.
    _, flags = parse_args("rm", args)
    if "--" in args:
        args = args[:args.index("--")]
    wants_r = any(a in ("-r", "-R", "--recursive", "-rf", "-fr") for a in args)
    assert (canonical_flags("rm", None, "--recursive") <= flags) is wants_r
    assert (canonical_flags("rm", None, "-R") <= flags) is wants_r


@pytest.mark.parametrize("text, message", [
    ('[x]\nrisk = "low"\nsummary = "s"\nbogus = 1\n', "unknown key"),
    ('[x]\nsummary = "s"\n', "missing risk"),
    ('[x]\nrisk = "severe"\n', "risk must be"),
    ('[x]\nrisk = "low"\nhandler = "teleport"\n', "unknown handler"),
    ('[x]\nrisk = "low"\n[y]\nrisk = "low"\nnames = ["x"]\n', "already in the catalog"),
    ('[x]\nrisk = "low"\n[[x.paths]]\nrole = "eat"\n', "role must be"),
    ('[x]\nrisk = "low"\n[[x.paths]]\nrole = "read"\nfrom = "moon"\n', "unknown from"),
    ('[x]\nrisk = "low"\n[[x.rules]]\nrisk = "high"\n', "missing why"),
    ('[x]\nrisk = "low"\n[[x.network]]\nfrom = "urls"\ncolour = 1\n', "unknown key"),
    ('[x\nrisk = "low"\n', "commands.toml"),
])
def test_catalog_errors_are_reported(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_catalog(text)


NEW_COMMAND = '''
[frob]
risk = "medium"
summary = "a tool added as data only"
names = ["frobnicate"]
options = ["-a --everything", "-o --out =data"]
[[frob.paths]]
role = "delete"
recursive_flags = ["-a"]
[[frob.paths]]
role = "write"
from = "flag"
flags_from = ["-o"]
[[frob.rules]]
flags = ["-a"]
risk = "high"
why = "frob -a deletes everything"
[[frob.network]]
from = "fixed"
host = "frob.example"
[frob.sub.status]
risk = "low"
summary = "read-only"
'''


def test_adding_a_command_is_a_data_change(monkeypatch: pytest.MonkeyPatch) -> None:
    extra, _ = load_catalog(NEW_COMMAND)
    for name, model in extra.items():
        monkeypatch.setitem(store._CATALOG, name, model)
    a = analyse_command("frobnicate --everything 'old data' --out=/tmp/log", cwd="/w", env={}, home="/h")
    seg = a.segments[0]
    # the program keeps the name it was called by; the catalog entry it shares is lookup(name).name
    assert (seg.program, seg.known, seg.risk) == ("frobnicate", True, Risk.HIGH)
    assert lookup("frobnicate") is not None and lookup("frobnicate").name == "frob"  # type: ignore[union-attr]
    kinds = {(e.kind, e.path, e.host, e.recursive) for e in a.effects if e.kind != "exec"}
    assert kinds == {("delete", "/w/old data", None, True), ("write", "/tmp/log", None, False),
                     ("network", None, "frob.example", False)}
    assert analyse_command("frob 'status'", cwd="/w", env={}, home="/h").segments[0].risk == Risk.LOW
