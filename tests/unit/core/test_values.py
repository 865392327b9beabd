"""quick_init: the same frozen dataclass, built through its slots."""
from dataclasses import FrozenInstanceError, InitVar, dataclass, field, replace

import pytest

from mobsrc.core.values import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    value: float | None
    tags: tuple = ()
    notes: list = field(default_factory=list)


@quick_init
@dataclass(frozen=True, slots=True)
class Sorted:
    items: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(sorted(self.items)))


@dataclass(frozen=True, slots=True)
class Base:
    a: int


@quick_init
@dataclass(frozen=True, slots=True)
class Derived(Base):
    b: int = 2


def test_it_builds_the_same_value_as_the_dataclass_init():
    built = Sample("nox", 1.5, ("a",), ["x"])
    assert built == Sample("nox", 1.5, ("a",), ["x"]) and hash(Derived(1)) == hash(Derived(1))
    assert (built.name, built.value, built.tags, built.notes) == ("nox", 1.5, ("a",), ["x"])
    assert Sample(name="n", value=None) == Sample("n", None, (), [])
    assert replace(built, value=2.0).value == 2.0 and repr(built).startswith("Sample(name='nox'")


def test_defaults_and_factories_are_fresh_per_instance():
    first, second = Sample("a", 1.0), Sample("b", 2.0)
    assert first.tags == () and first.notes == [] and first.notes is not second.notes


def test_the_value_stays_frozen():
    with pytest.raises(FrozenInstanceError):
        Sample("a", 1.0).value = 2.0


def test_post_init_and_inherited_fields_work():
    assert Sorted((3, 1, 2)).items == (1, 2, 3)
    assert (Derived(1).a, Derived(1).b, Derived(1, 5).b) == (1, 2, 5)


def test_missing_or_unknown_arguments_are_refused_as_by_the_dataclass():
    with pytest.raises(TypeError):
        Sample("only a name")
    with pytest.raises(TypeError):
        Sample("a", 1.0, colour="red")


def test_classes_it_cannot_build_are_refused():
    with pytest.raises(TypeError):
        quick_init(dataclass(frozen=True)(type("Plain", (), {"__annotations__": {"a": int}})))

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        scale: InitVar[int] = 1

        def __post_init__(self, scale):
            pass

    with pytest.raises(TypeError):
        quick_init(WithInitVar)
