"""Cold start, round 2: the lazily decoded command catalog and the CLI's argparse-free ``decide``."""
from __future__ import annotations

import copy
import io
import json
import os
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang import cache
from policylang.adapters import cli
from policylang.analysis.catalog import store as commands
from policylang.verdict import Risk

# ---- the catalog ---------------------------------------------------------------------------------


@pytest.fixture()
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache directory, and a module state with no catalog loaded yet."""
    d = tmp_path / "cache"
    monkeypatch.delenv("POLICYLANG_NO_CACHE", raising=False)
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(d))
    monkeypatch.setattr(commands, "_DEFAULT", None)
    monkeypatch.setattr(commands, "_BUILT", None)
    monkeypatch.setattr(commands, "_CATALOG", {})
    return d


def parsed_catalog() -> tuple[dict[str, commands.CommandModel], tuple[tuple[str, commands.CommandModel], ...]]:
    return commands.load_catalog(commands._catalog_texts())


def test_the_catalog_text_is_the_packaged_file() -> None:
    from importlib import resources

    data = resources.files("policylang.analysis.catalog").joinpath("data")
    packaged = sorted((f.name, f.read_text(encoding="utf-8")) for f in data.iterdir() if f.name.endswith(".toml"))
    assert len(packaged) > 1 and list(commands._catalog_texts()) == packaged


@pytest.mark.parametrize("cached", [False, True], ids=["built", "from-cache"])
def test_a_decoded_catalog_equals_the_parsed_one(private: Path, cached: bool) -> None:
    by_name, families = parsed_catalog()
    if cached:
        commands._default()  # builds and stores the entry
        assert len(list(private.glob("catalog-*.pickle"))) == 1
        assert len(list(private.glob("catalog-*.parts"))) == 1
        commands._DEFAULT = None
        commands._BUILT = None
    assert commands.all_models() == by_name
    for name, model in by_name.items():
        assert commands.lookup(name) == model
    for prefix, model in families:
        assert commands.lookup(prefix + "x") == model


def test_a_hit_decodes_only_what_is_looked_up(private: Path) -> None:
    commands._default()
    commands._DEFAULT = None
    commands._BUILT = None
    git = commands.lookup("git")
    cat = commands._DEFAULT
    assert git is not None and cat is not None and cat.parts is not None
    decoded = [m for m in cat.models if m is not None]
    assert decoded == [git]
    assert commands._BUILT is None  # commands.toml was not parsed


def test_names_of_one_entry_share_one_model(private: Path) -> None:
    commands._default()
    commands._DEFAULT = None
    assert commands.lookup("python") is commands.lookup("python3")
    assert commands.lookup("mkfs.ext4") is commands.lookup("mkfs.xfs")


@pytest.mark.parametrize("head,parts", [
    ("garbage", [b"x"]), (("5", {}, ()), [b"x"]), (("6", {"git": 5}, ()), [b"x"]),
    (("6", {"git": 0}, (("a", 1),)), [b"x"]), (("6", {"git": "0"}, ()), [b"x"]), (("6", [], ()), [b"x"]),
], ids=["string", "old-format", "index-out-of-range", "family-out-of-range", "index-not-int", "names-not-dict"])
def test_a_foreign_entry_is_not_used(private: Path, head: Any, parts: list[bytes]) -> None:
    cache.store_parts("catalog", commands._catalog_key(), head, parts)
    assert commands._checked(cache.load_parts("catalog", commands._catalog_key())) is None
    by_name, _ = parsed_catalog()
    assert commands.lookup("git") == by_name["git"]


def test_an_entry_of_the_old_single_file_form_is_not_used(private: Path) -> None:
    cache.store("catalog", commands._catalog_key(), ("6", {"git": 0}, (), (pickle.dumps("not a model"),)))
    by_name, _ = parsed_catalog()
    assert commands.lookup("git") == by_name["git"]


def _stored_entry(private: Path) -> tuple[Any, cache.Parts, Path]:
    commands._default()
    hit = cache.load_parts("catalog", commands._catalog_key())
    assert hit is not None
    (parts_file,) = private.glob("catalog-*.parts")
    return hit[0], hit[1], parts_file


def _fresh() -> None:
    commands._DEFAULT = None
    commands._BUILT = None
    commands._CATALOG.clear()


def test_a_blob_that_does_not_decode_to_a_model_rebuilds_the_catalog(private: Path) -> None:
    by_name, _ = parsed_catalog()
    head, parts, _ = _stored_entry(private)
    names = head[1]
    bad = [parts.get(i) or b"" for i in range(len(parts))]
    bad[names["git"]] = pickle.dumps("not a model")
    bad[names["rm"]] = b"\x80\x05torn"
    cache.store_parts("catalog", commands._catalog_key(), head, bad)
    _fresh()
    assert commands.lookup("git") == by_name["git"]
    assert commands.lookup("rm") == by_name["rm"]
    assert commands.lookup("ls") == by_name["ls"]


def _rewrite(path: Path, data: bytes) -> None:
    """Change a cache file as another process of the user could (same name, same owner and mode)."""
    path.chmod(0o600)
    path.write_bytes(data)


@pytest.mark.parametrize("change", ["flipped-byte", "truncated", "replaced-by-a-link", "removed", "group-writable"])
def test_a_changed_parts_file_is_never_decoded(private: Path, tmp_path: Path, change: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts file is not sealed as a whole: each part must hash to what the sealed entry says,
    and the file must be a private regular file, or the part reads as missing and the catalog is
    parsed again; a planted pickle is never loaded."""
    by_name, _ = parsed_catalog()
    head, parts, parts_file = _stored_entry(private)
    i = head[1]["git"]
    offset, length, _ = parts.spans[i]
    data = bytearray(parts_file.read_bytes())
    original = bytes(data[offset:offset + length])
    if change == "flipped-byte":
        data[offset + length // 2] ^= 0x01
        _rewrite(parts_file, bytes(data))
    elif change == "truncated":
        _rewrite(parts_file, bytes(data[:offset + length - 1]))
    elif change == "replaced-by-a-link":
        elsewhere = tmp_path / "elsewhere.parts"
        elsewhere.write_bytes(bytes(data))
        parts_file.unlink()
        parts_file.symlink_to(elsewhere)
    elif change == "removed":
        parts_file.unlink()
    else:
        parts_file.chmod(0o620)
    assert parts.get(i) is None
    loaded: list[bytes] = []
    monkeypatch.setattr(cache, "loads", lambda b: loaded.append(b) or pickle.loads(b))
    _fresh()
    assert commands.lookup("git") == by_name["git"]
    assert commands._BUILT is not None  # parsed from the data files
    changed = bytes(data[offset:offset + length])  # git's part as the file holds it now (flipped-byte)
    assert original not in loaded and changed not in loaded  # git's part was never unpickled


def test_a_parts_file_named_outside_the_cache_is_not_used(private: Path) -> None:
    commands._default()
    key = commands._catalog_key()
    for name in ("../elsewhere.parts", "/tmp/x.parts", "grammar-x.parts"):
        cache.store("catalog", key, ("parts/1", ("6", {}, ()), name, ()))
        assert cache.load_parts("catalog", key) is None


def test_the_key_follows_the_data_files(private: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited data file (its size or mtime) is a new key: the old entry is not used."""
    data = tmp_path / "pkg" / "data"
    data.mkdir(parents=True)
    (data / "a.toml").write_text("[x]\n", encoding="utf-8")
    monkeypatch.setattr(commands, "__file__", str(tmp_path / "pkg" / "store.py"))
    before = commands._catalog_key()
    os.utime(data / "a.toml", ns=(1, 1))
    touched = commands._catalog_key()
    (data / "b.toml").write_text("", encoding="utf-8")
    added = commands._catalog_key()
    assert len({before, touched, added}) == 3
    assert commands._catalog_key() == added


def test_without_a_cache_the_catalog_is_parsed(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYLANG_NO_CACHE", "1")
    by_name, _ = parsed_catalog()
    assert commands.lookup("git") == by_name["git"]
    assert not private.exists()


def _imported_after(code: str, tmp_path: Path) -> set[str]:
    """Which costly modules a fresh interpreter has imported after ``code`` (on its second run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env["POLICYLANG_CACHE_DIR"] = str(tmp_path / "cache")
    probe = (f"{code}\nimport sys\n"
             "heavy = sorted(m for m in ('tomllib', 'importlib.resources', 'argparse', 'json', 'policylang.lang.parse', "
             "'policylang.config.loader') if m in sys.modules)\n"
             "import json\nprint(json.dumps(heavy))")
    for _ in range(2):  # the first run fills the caches
        run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120,
                             cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_a_warm_look_up_parses_no_toml(tmp_path: Path) -> None:
    assert _imported_after("from policylang.analysis.catalog import lookup\nassert lookup('git') is not None",
                           tmp_path) == set()


# ---- the CLI -------------------------------------------------------------------------------------

ARGVS = [
    ["decide", "git status"], ["decide", "git", "status"], ["decide", "ls", "--json"], ["decide", "x", "--", "y"],
    ["decide", "rm", "-rf", "/"], ["decide", "a b c", "--config", "f"], ["decide", "echo", "--headless"],
    ["decide", "--json", "ls"], ["decide", "--", "ls"], ["decide", "-x"], ["decide"], ["decide", ""],
    ["check", "ls"], ["explain", "ls"], ["policy", "show"], [], ["decide", "-"], ["decide", "--cwd", "/", "ls"],
]


def _full(argv: list[str]) -> dict[str, Any] | None:
    try:
        return vars(cli.build_parser().parse_args(argv))
    except (cli.UsageError, SystemExit):
        return None


def _plain(argv: list[str]) -> dict[str, Any] | None:
    args = cli.plain_decide_args(argv)
    return None if args is None else {k: getattr(args, k) for k in args.__slots__}


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a) or "-" for a in ARGVS])
def test_the_plain_decide_parse_is_argparses(argv: list[str]) -> None:
    plain = _plain(argv)
    if plain is not None:
        assert plain == _full(argv)


def test_which_command_lines_take_the_plain_path() -> None:
    taken = [argv for argv in ARGVS if cli.plain_decide_args(argv) is not None]
    assert taken == [a for a in ARGVS[:7]]


WORDS = st.one_of(st.sampled_from(["--json", "--", "-", "--config", "--cwd", "/", "--role", "admin", "-h", "ls",
                                   "--headless", "--preset", "strict", "", "-rf", "decide"]),
                  st.text(max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=6))
def test_the_plain_path_agrees_with_argparse_on_any_words(words: list[str]) -> None:
    argv = ["decide", *words]
    plain = _plain(argv)
    if plain is not None:
        assert plain == _full(argv)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(), max_size=5))
def test_argv_is_printed_as_json_prints_it(words: list[str]) -> None:
    assert cli._json_strings(words) == json.dumps(words)


@pytest.mark.parametrize("argv", [["decide", "git status"], ["decide", "rm", "-rf", "/"], ["decide", "curl x | sh"],
                                  ["decide", "ls", "--json"]])
def test_decide_prints_what_the_parser_path_prints(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast_out = io.StringIO()
    fast = cli.main(argv, stdout=fast_out, stderr=io.StringIO())
    monkeypatch.setattr(cli, "plain_decide_args", lambda argv: None)
    slow_out = io.StringIO()
    slow = cli.main(argv, stdout=slow_out, stderr=io.StringIO())
    assert (fast, fast_out.getvalue()) == (slow, slow_out.getvalue())
    assert fast_out.getvalue()


def test_a_plain_decide_imports_no_argparse_or_json(tmp_path: Path) -> None:
    code = ("import io\nfrom policylang.adapters.cli import main\n"
            "assert main(['decide', 'git status'], stdout=io.StringIO()) == 0")
    assert _imported_after(code, tmp_path) == set()


# ---- the model classes ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReferenceCondition:
    """commands.Condition as the dataclass it was."""

    flags: frozenset[str] = frozenset()
    all_flags: frozenset[str] = frozenset()
    no_flags: frozenset[str] = frozenset()
    operands: frozenset[str] = frozenset()
    operand_prefix: tuple[str, ...] = ()
    operand_contains: tuple[str, ...] = ()
    flag_value_contains: tuple[tuple[str, tuple[str, ...]], ...] = ()
    dashdash: bool | None = None
    min_operands: int = 0
    max_operands: int | None = None
    operand_at: tuple[tuple[int, frozenset[str]], ...] = ()


CONDITIONS = st.fixed_dictionaries({}, optional={
    "flags": st.frozensets(st.sampled_from(["-r", "-f", "--force"])), "operand_prefix": st.tuples(st.just("x")),
    "dashdash": st.none() | st.booleans(), "min_operands": st.integers(0, 2), "max_operands": st.none() | st.just(1),
})


@settings(max_examples=200, deadline=None)
@given(CONDITIONS, CONDITIONS)
def test_model_classes_behave_as_frozen_dataclasses(a: dict[str, Any], b: dict[str, Any]) -> None:
    from policylang.analysis.catalog import Condition

    c, d = Condition(**a), Condition(**b)
    r, q = ReferenceCondition(**a), ReferenceCondition(**b)
    assert (c == d) == (r == q) and (c != d) == (r != q)
    assert hash(c) == hash(Condition(**a))
    assert repr(c) == repr(r).replace("ReferenceCondition(", "Condition(", 1)
    assert pickle.loads(pickle.dumps(c)) == c and copy.deepcopy(c) == c
    with pytest.raises(FrozenInstanceError):
        c.flags = frozenset()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        c.other = 1  # type: ignore[attr-defined]


def test_a_model_without_mappings_has_empty_ones() -> None:
    m = commands.CommandModel(name="x", risk=Risk.LOW)
    assert (m.options, m.subcommands, m.keys, m.settings, m.has_subcommands) == ({}, {}, {}, {}, False)
    assert m == commands.CommandModel("x", Risk.LOW) and m != commands.CommandModel("y", Risk.LOW)
    with pytest.raises(TypeError):
        commands.CommandModel()  # type: ignore[call-arg]


def test_parsed_compares_and_prints_as_before() -> None:
    from policylang.analysis.catalog import parse

    git = commands.lookup("git")
    assert git is not None
    p = parse(git, ["push", "-f", "origin"])
    assert p == parse(git, ["push", "-f", "origin"]) != parse(git, ["push"])
    assert repr(p).startswith("Parsed(args=['push', '-f', 'origin'], operands=[2], flags={'--force'}, flag_values={}, chain=[CommandModel(name='git'")
    with pytest.raises(TypeError):
        hash(p)


# ---- the compiled-policy key ---------------------------------------------------------------------

def test_the_package_directories_are_where_the_import_system_finds_them() -> None:
    from importlib.util import find_spec

    from policylang.config import precompiled

    dirs = precompiled._package_dirs()
    for sub in ("presets", "schemas"):
        spec = find_spec(f"policylang.{sub}")
        assert spec is not None and spec.submodule_search_locations
        assert [os.path.realpath(d) for d in spec.submodule_search_locations] == [
            os.path.realpath(d) for d in dirs if os.path.basename(d) == sub]


# ---- compiled path patterns ----------------------------------------------------------------------

def test_a_payload_with_patterns_of_the_wrong_type_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policylang.config import precompiled
    from policylang.settings import Settings

    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(tmp_path / "cache"))
    key = "k"
    for patterns, usable in (((), True), (("/etc/**",), False), ([], False)):
        payload = pickle.dumps(((), Settings(), (), {}, (), patterns))
        entry = (precompiled.MAGIC, precompiled.FORMAT, key, cache.digest(payload), payload)
        assert (precompiled._checked_entry(entry, key) is not None) == usable


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["/", "~", "$WORKSPACE", "**", "$TMPDIR", "!~", "/etc"]), min_size=1, max_size=1),
       st.lists(st.sampled_from(["a", "*", "**", "?", "[ab]", ".env", "x.*"]), max_size=3))
def test_a_learnt_pattern_is_what_compiling_gives(root: list[str], parts: list[str]) -> None:
    from policylang.engine import pathsets as paths

    text = "/".join(root + parts)
    try:
        fresh = paths._compile_pattern(text)
    except paths.GlobError:
        with pytest.raises(paths.GlobError):
            paths.compile_pattern(text)
        return
    assert paths.compile_pattern(text) == fresh
    assert fresh in paths.known_patterns()
    paths.learn([fresh])
    assert paths.compile_pattern(text) == fresh
