"""policylang.frozen: value classes that behave as frozen dataclasses, built and defined cheaply."""
from __future__ import annotations

import dataclasses
import marshal
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policylang.frozen import frozen, record, replace
from policylang.verdict import Decision, Reason, Risk, SegmentVerdict, Verdict


@frozen
class Sample:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    kind: ClassVar[str] = "sample"  # a class constant, not a field


@record
class Row:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Reference:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()


VALUES = st.tuples(st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3), max_size=3).map(tuple))


@pytest.mark.parametrize("cls", [Sample, Row])
@given(a=VALUES, b=VALUES)
def test_equality_hash_repr_and_replace_agree_with_a_frozen_dataclass(cls: Any, a: tuple, b: tuple) -> None:
    x, y, rx, ry = cls(*a), cls(*b), Reference(*a), Reference(*b)
    assert (x == y) == (rx == ry) and (x != y) == (rx != ry)
    assert (hash(x) == hash(cls(*a)))
    assert repr(x).replace(cls.__name__, "Reference", 1) == repr(rx)
    assert replace(x, count=7) == cls(a[0], 7, a[2])
    assert dataclasses.astuple(rx) == tuple(getattr(x, n) for n in ("name", "count", "tags"))
    assert pickle.loads(pickle.dumps(x)) == x


@pytest.mark.parametrize("cls", [Sample, Row])
def test_defaults_keywords_and_errors(cls: Any) -> None:
    assert cls("a") == cls(name="a", count=0, tags=())
    assert cls("a", tags=("t",)).tags == ("t",)
    with pytest.raises(TypeError):
        cls()
    with pytest.raises(TypeError):
        cls("a", nope=1)
    with pytest.raises(TypeError):
        replace(cls("a"), nope=1)
    assert cls("a") != Reference("a") and cls("a") != ("a", 0, ())
    with pytest.raises(AttributeError):
        cls("a").other = 1


def test_a_frozen_class_refuses_assignment_as_a_dataclass_does() -> None:
    s = Sample("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del s.name  # type: ignore[misc]
    assert Sample.kind == "sample" and "kind" not in Sample.__slots__


def test_a_record_refuses_assignment() -> None:
    r = Row("a")
    with pytest.raises(AttributeError):
        r.name = "b"  # type: ignore[misc]


def test_replace_still_works_on_dataclasses() -> None:
    assert replace(Reference("a"), count=4) == Reference("a", 4)


@pytest.mark.parametrize("decorator", [frozen, record])
def test_a_required_field_after_a_default_is_refused(decorator: Any) -> None:
    class Bad:
        a: int = 0
        b: int

    with pytest.raises(TypeError):
        decorator(Bad)


def test_reasons_compare_and_hash_by_value() -> None:
    assert hash(Reason("r", "m", Decision.DENY)) == hash(Reason("r", "m", Decision.DENY))
    assert Reason("r", "m", Decision.DENY) != Reason("r", "m", Decision.ASK)


def test_a_verdicts_lazy_segments_behave_as_a_field() -> None:
    seg = SegmentVerdict("ls", "ls", Decision.ALLOW, Risk.LOW, ("exec(ls)",), ())
    built: list[int] = []

    def build() -> tuple[SegmentVerdict, ...]:
        built.append(1)
        return (seg,)

    lazy = Verdict(Decision.ALLOW, Risk.LOW, (), build, action="ls")
    eager = Verdict(Decision.ALLOW, Risk.LOW, (), (seg,), action="ls")
    assert not built
    assert lazy == eager and hash(lazy) == hash(eager) and repr(lazy) == repr(eager)
    assert lazy.segments == (seg,) and built == [1]  # built once, then kept
    assert pickle.loads(pickle.dumps(Verdict(Decision.DENY, Risk.HIGH, (), build))) == \
        Verdict(Decision.DENY, Risk.HIGH, (), (seg,))
    assert lazy.to_json() == eager.to_json()
    with pytest.raises(AttributeError):
        lazy.decision = Decision.DENY  # type: ignore[misc]


@pytest.mark.parametrize("decorator", [frozen, record], ids=["frozen", "record"])
def test_classes_of_one_arity_keep_their_own_names_and_defaults(decorator: Any) -> None:
    """Every ``__init__`` of one arity shares one compiled body: each class still takes its own
    argument names, stores its own fields and has its own defaults."""
    @decorator
    class First:
        a: int
        b: str = "first"

    @decorator
    class Second:
        x: str
        y: int = 7

    @decorator
    class Empty:
        pass

    first, second = First(1), Second(y=2, x="s")
    assert (first.a, first.b, second.x, second.y) == (1, "first", "s", 2)
    assert (First(b="k", a=3).b, Second("t").y) == ("k", 7)
    assert repr(Empty()).endswith(".Empty()") and Empty() == Empty()
    with pytest.raises(TypeError, match="'y'"):
        First(1, y=2)
    with pytest.raises(TypeError, match="'b'"):
        Second("s", b="x")
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        Second()
    assert First.__init__.__qualname__.endswith("First.__init__")
    assert pickle.loads(pickle.dumps(Sample("p", 2))) == Sample("p", 2)


# ---- the __init__ bodies kept between processes ------------------------------------------------

def _child_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env.update(HOME=str(tmp_path / "home"), POLICYLANG_CACHE_DIR=str(tmp_path / "cache"))
    return env


def test_a_cli_process_keeps_its_init_bodies_and_the_next_compiles_none(tmp_path: Path) -> None:
    env = _child_env(tmp_path)
    (tmp_path / "home").mkdir()
    probe = ("import policylang.frozen as f\nimport policylang.engine.policy, policylang.analysis.shell\n"
             "import policylang.adapters.cli\nprint(f._INIT_STATE['new'], len(f._INIT_CODE))")
    before = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert before.stdout.split()[0] == "True"  # nothing kept yet: every body compiled
    run = subprocess.run([sys.executable, "-m", "policylang", "decide", "git status"], env=env, capture_output=True,
                         text=True, check=False, cwd=tmp_path)
    assert run.stdout.startswith("allow"), run.stderr
    assert len(list((tmp_path / "cache").glob("frozen-inits-*.pickle"))) == 1
    after = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    new, count = after.stdout.split()
    assert new == "False" and int(count) > 10


def test_importing_the_value_classes_leaves_no_trace(tmp_path: Path) -> None:
    """Reading the kept bodies never creates the cache directory or the cache key."""
    env = _child_env(tmp_path)
    (tmp_path / "home").mkdir()
    subprocess.run([sys.executable, "-c", "import policylang.actions, policylang.verdict, policylang.settings"],
                   env=env, check=True)
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "home" / ".policylang").exists()


def test_a_kept_body_of_another_layout_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policylang import cache, frozen as frozen_module

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("POLICYLANG_NO_CACHE", raising=False)
    monkeypatch.delenv("POLICYLANG_STATE_DIR", raising=False)
    monkeypatch.setattr(frozen_module, "_INIT_CODE", {})
    monkeypatch.setattr(frozen_module, "_INIT_STATE", {"kept": False, "new": False})
    namespace: dict[str, Any] = {}
    exec(frozen_module._init_source(True, 3), namespace)  # noqa: S102
    good = namespace["__init__"].__code__
    exec("def __init__(self, a0, a1):\n    import os\n    os.system('true')\n", namespace)  # noqa: S102
    bad = namespace["__init__"].__code__
    kept = {(True, 3): good, (True, 2): bad, (False, 3): good, ("x", 1): good}
    cache.store_bytes(frozen_module._INITS_ENTRY, frozen_module._inits_key(), marshal.dumps(kept))
    frozen_module._load_kept()
    assert frozen_module._INIT_CODE == {(True, 3): good}

    @frozen
    class Pair:
        a: int
        b: int = 2

    assert (Pair(1).a, Pair(1).b) == (1, 2) and frozen_module._INIT_STATE["new"]  # (True, 2) compiled here
