"""policylang.frozen: value classes that behave as frozen dataclasses, built and defined cheaply."""
from __future__ import annotations

import dataclasses
import pickle
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
