"""policylang.config.precompiled in one process: what an entry records, and entries that must not be used."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from policylang import cache
from policylang.config import precompiled
from policylang.actions import Command
from policylang.verdict import Decision


@pytest.fixture()
def private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    for k in list(os.environ):
        if k.startswith("POLICYLANG_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(d))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return d


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def decide(policy: object, command: str) -> Decision:
    return policy.decide(Command(command, cwd="/tmp")).decision  # type: ignore[attr-defined, no-any-return]


def key_for(config: Path | None = None, policy_files: tuple[str, ...] = ()) -> str:
    return precompiled.cache_key(None if config is None else str(config), None, None, policy_files,
                                 cwd=os.getcwd(), env=dict(os.environ))


def test_every_file_and_listing_the_load_read_is_recorded(private: Path, tmp_path: Path) -> None:
    work = Path.cwd()
    write(work / "admin.toml", '[security]\npreset = "strict"\n')
    write(work / "one.policy", "rule one: deny exec make\n")
    extra = write(tmp_path / "extra.policy", "rule extra: ask exec cmake\n")
    config = write(work / "config.toml", '[security]\npolicy_files = ["one.policy"]\nadmin_config = "admin.toml"\n'
                                         f'project_policies = true\nworkspace = "{work}"\n')
    policy = precompiled.load_policy(str(config), policy_files=[str(extra)])
    assert decide(policy, "make") == Decision.DENY
    deps = precompiled.dependencies(str(config), policy_files=[str(extra)])
    files = {path for kind, path, _, _ in deps if kind == "file"}
    assert files == {str(config), str(work / "admin.toml"), str(work / "one.policy"), str(extra)}
    globs = [path for kind, path, _, _ in deps if kind == "glob"]
    assert globs == [os.path.join(str(work), ".policylang", "*.policy")]


def test_a_hit_gives_an_equal_policy(private: Path) -> None:
    config = write(Path.cwd() / "config.toml", '[security]\npreset = ["execute", "strict"]\n'
                                               'denylist_patterns = ["^make( |$)"]\n')
    built = precompiled.load_policy(str(config))
    hit = precompiled.load_policy(str(config))
    assert hit is not built
    assert hit.settings == built.settings
    assert [(r.id, r.decision, r.layer, r.location) for r in hit.rules] == \
        [(r.id, r.decision, r.layer, r.location) for r in built.rules]
    assert hit.diagnostics == built.diagnostics
    for command in ("make all", "git status", "rm -rf /", "unknown-tool"):
        assert decide(hit, command) == decide(built, command)


def _entry_path(key: str) -> str:
    path = cache.path_for(precompiled.NAME, key)
    assert path is not None
    return path


def test_an_entry_stored_for_another_key_is_not_used(private: Path) -> None:
    strict = write(Path.cwd() / "strict.toml", '[security]\npreset = "strict"\n')
    relaxed = write(Path.cwd() / "relaxed.toml", '[security]\npreset = "relaxed"\n')
    assert decide(precompiled.load_policy(str(strict)), "unknown-tool") == Decision.DENY
    assert decide(precompiled.load_policy(str(relaxed)), "unknown-tool") == Decision.ALLOW
    # the strict config's entry copied over the relaxed one's: it names another key, so it is rebuilt
    with open(_entry_path(key_for(strict)), "rb") as fh:
        data = fh.read()
    with open(_entry_path(key_for(relaxed)), "wb") as fh:
        fh.write(data)
    assert decide(precompiled.load_policy(str(relaxed)), "unknown-tool") == Decision.ALLOW


@pytest.mark.parametrize("entry", [
    None, 42, ("policylang-compiled-policy",), ("other", 1, "k", "d", b""),
])
def test_a_foreign_entry_is_ignored(private: Path, entry: object) -> None:
    key = key_for()
    precompiled.load_policy()
    cache.store(precompiled.NAME, key, entry)
    assert precompiled._checked_entry(cache.load(precompiled.NAME, key), key) is None
    assert decide(precompiled.load_policy(), "rm -rf /") == Decision.DENY
    assert precompiled._checked_entry(cache.load(precompiled.NAME, key), key) is not None  # rebuilt


def test_a_payload_of_the_wrong_types_is_ignored(private: Path) -> None:
    key = key_for()
    payload = pickle.dumps(((), "not settings", (), {}, (), ()))
    entry = (precompiled.MAGIC, precompiled.FORMAT, key, cache.digest(payload), payload)
    assert precompiled._checked_entry(entry, key) is None
    payload = pickle.dumps(((), None, ("not a PolicyFile",), {}, (), ()))
    assert precompiled._checked_entry((precompiled.MAGIC, precompiled.FORMAT, key, cache.digest(payload),
                                       payload), key) is None


def test_a_changed_package_file_changes_the_key(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = key_for()
    monkeypatch.setattr(precompiled, "code_fingerprint", lambda: "another build")
    assert key_for() != before


@pytest.mark.parametrize("variable", ["POLICYLANG_MODE", "POLICYLANG_PRESET", "POLICYLANG_EXEC_STRICT", "HOME"])
def test_the_environment_the_loader_reads_is_in_the_key(private: Path, monkeypatch: pytest.MonkeyPatch,
                                                        variable: str) -> None:
    before = key_for()
    monkeypatch.setenv(variable, "1")
    assert key_for() != before


def test_environment_settings_are_honoured_through_the_cache(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert decide(precompiled.load_policy(), "unknown-tool") != Decision.DENY
    monkeypatch.setenv("POLICYLANG_PRESET", "strict")
    assert decide(precompiled.load_policy(), "unknown-tool") == Decision.DENY
    assert decide(precompiled.load_policy(), "unknown-tool") == Decision.DENY


def test_old_entries_are_pruned(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precompiled, "MAX_ENTRIES", 2)
    for mode in ("approve", "execute", "explain_only"):
        precompiled.load_policy(mode=mode)
    assert len(list(private.glob("policy-*.pickle"))) == 2


def test_off_when_asked(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYLANG_NO_CACHE", "1")
    assert decide(precompiled.load_policy(), "rm -rf /") == Decision.DENY
    assert not private.exists()


def test_policy_files_read_like_open_reads_them(private: Path) -> None:
    crlf = write(Path.cwd() / "crlf.policy", "")
    crlf.write_bytes(b"rule crlf: deny exec make\r\n    message \"no make\"\r\n")
    policy = precompiled.load_policy(policy_files=[str(crlf)])
    assert decide(policy, "make") == Decision.DENY
    with pytest.raises(OSError):
        precompiled.load_policy(policy_files=[str(Path.cwd() / "missing.policy")])


def test_an_edit_anywhere_in_a_policy_file_misses_the_cache(private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole file is hashed, however long: with a limit of 64 bytes, an edit at byte 200 misses."""
    monkeypatch.setattr(precompiled, "MAX_POLICY_FILE_BYTES", 64)
    pad = "# " + "é" * 100 + "\n"  # 200+ bytes of comment before the rule
    f = write(Path.cwd() / "long.policy", pad + "rule my.allow: allow exec git ...\n")
    assert decide(precompiled.load_policy(policy_files=[str(f)]), "git status") == Decision.ALLOW
    write(f, pad + "rule my.deny: deny exec git ...\n")
    policy = precompiled.load_policy(policy_files=[str(f)])
    assert decide(policy, "git status") == Decision.DENY
    assert "my.deny" in policy.decide(Command("git status", cwd="/tmp")).matched


def test_node_classes_are_realised_once_under_threads() -> None:
    """Threads that build nodes of a class not yet realised all get working nodes."""
    import threading

    from policylang.lang import nodes as ast
    from policylang.source import Span

    @ast.node
    class Probe(ast.Node):
        value: str
        span: Span

    span = Span("f", 1, 1, 0, 1)
    out: list[object] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            out.append(Probe("x", span))
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(out) == 16 and all(n == Probe("x", span) for n in out)


# Unpickles one node of every class before the class is used, then checks it behaves as a frozen
# dataclass: what a process that starts from the cache sees.
LAZY_NODES = r"""
import dataclasses, pickle, sys
import policylang.lang.nodes as a
from policylang.source import Span
span = Span("f", 1, 1, 0, 1)
classes = [c for c in vars(a).values() if isinstance(c, type) and issubclass(c, a.Node) and c is not a.Node]
assert len(classes) == 26, len(classes)
blobs = {c: pickle.dumps(c.__new__(c)) for c in classes}
for c in classes:
    n = pickle.loads(blobs[c])
    n.__dict__.update({name: ("v", i) for i, name in enumerate(c.__annotations__)})
    assert "__match_args__" not in c.__dict__, c  # not realised by unpickling or reading fields
    fields = [f.name for f in dataclasses.fields(n)]
    assert fields == list(c.__annotations__), (c, fields)
    twin = c(*[("v", i) for i in range(len(fields))])
    assert n == twin and hash(n) == hash(twin) and repr(n) == repr(twin) and n != object()
    first = fields[0]
    try:
        setattr(n, first, span)
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError(f"{c.__name__} is not frozen")
    assert getattr(dataclasses.replace(twin, **{first: span}), first) == span
print("ok")
"""


def test_node_classes_are_frozen_dataclasses_from_first_use() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", LAZY_NODES], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr
