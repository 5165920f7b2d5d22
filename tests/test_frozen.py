"""policylang.frozen: the same dataclass as @dataclass(frozen=True, slots=True), with a fast __init__."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from policylang.frozen import fast_init, frozen, record, replace
from policylang.verdict import Decision, Reason, Verdict


@frozen
class Sample:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = dataclasses.field(default_factory=dict)
    kind: str = dataclasses.field(default="sample", init=False)


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = dataclasses.field(default_factory=dict)
    kind: str = dataclasses.field(default="sample", init=False)


@pytest.mark.parametrize("args,kwargs", [
    (("a",), {}),
    (("a", 2), {}),
    (("a", 2, ("x",)), {}),
    (("a",), {"extra": {"k": 1}}),
    ((), {"name": "b", "tags": ("y", "z"), "count": 5}),
])
def test_fields_defaults_and_repr_match_the_plain_dataclass(args: tuple, kwargs: dict) -> None:
    s, r = Sample(*args, **kwargs), Reference(*args, **kwargs)
    assert [getattr(s, f.name) for f in dataclasses.fields(s)] == [getattr(r, f.name) for f in dataclasses.fields(r)]
    assert repr(s).replace("Sample", "Reference") == repr(r)


def test_still_frozen_hashable_comparable_replaceable_and_picklable() -> None:
    s = Sample("a", 1, ("t",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "b"  # type: ignore[misc]
    assert s == Sample("a", 1, ("t",)) and s != Sample("a", 2, ("t",))
    assert dataclasses.replace(s, count=3) == Sample("a", 3, ("t",))
    assert pickle.loads(pickle.dumps(s)) == s
    assert hash(Reason("r", "m", Decision.DENY)) == hash(Reason("r", "m", Decision.DENY))


def test_a_default_factory_gives_a_fresh_value_each_time() -> None:
    assert Sample("a").extra is not Sample("a").extra


def test_missing_and_unknown_arguments_are_errors_as_before() -> None:
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample("a", kind="x")  # type: ignore[call-arg]


def test_refuses_what_it_cannot_reproduce() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, PostInit):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_a_verdicts_lazy_segments_behave_as_a_field() -> None:
    from policylang.verdict import Risk, SegmentVerdict

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


@record
class Row:
    name: str
    count: int = 0
    tags: tuple[str, ...] = ()


def test_a_record_is_a_read_only_value() -> None:
    r = Row("a", 2)
    assert (r.name, r.count, r.tags) == ("a", 2, ())
    assert r == Row("a", 2) and r != Row("a", 3) and r != ("a", 2, ())
    assert hash(r) == hash(Row("a", 2)) and len({r, Row("a", 2)}) == 1
    assert repr(r) == "Row(name='a', count=2, tags=())"
    assert pickle.loads(pickle.dumps(r)) == r
    assert replace(r, tags=("x",)) == Row("a", 2, ("x",)) and r.tags == ()
    with pytest.raises(AttributeError):
        r.name = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        r.other = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        replace(r, nope=1)
    with pytest.raises(TypeError):
        Row()  # type: ignore[call-arg]


def test_replace_still_works_on_dataclasses() -> None:
    assert replace(Sample("a"), count=4) == Sample("a", 4)


def test_a_record_refuses_a_required_field_after_a_default() -> None:
    with pytest.raises(TypeError):
        @record
        class Bad:
            a: int = 0
            b: int
