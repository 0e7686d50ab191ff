"""Records behave as the dataclasses they replace.

Each shape of class below is defined twice from one body, once with
``@record`` and once with ``@dataclass``, and the two are held to the same
behaviour: signature, argument errors, defaults, repr, equality, hashing,
frozenness, pattern matching, copy and pickle, and the ``dataclasses``
functions.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from pybpf.asm import records
from pybpf.asm.records import MISSING, field, record

# Each shape: (name, decorator options, a body that defines the class with the
# given decorator and field function).
Body = Callable[[Any, Any], type]
_SHAPES: dict[str, tuple[dict[str, bool], Body]] = {}


def _shape(name: str, **options: bool) -> Callable[[Body], Body]:
    def add(body: Body) -> Body:
        _SHAPES[name] = (options, body)
        return body

    return add


@_shape("frozen_slots", frozen=True, slots=True)
def _frozen_slots(deco: Any, fld: Any) -> type:
    @deco
    class Point:
        """A point."""

        x: int
        y: int = 0
        origin: ClassVar[tuple[int, int]] = (0, 0)

        @property
        def norm(self) -> int:
            return abs(self.x) + abs(self.y)

    return Point


@_shape("mutable_factories")
def _mutable_factories(deco: Any, fld: Any) -> type:
    @deco
    class Bag:
        """A bag of things."""

        name: str
        items: list[int] = fld(default_factory=list)
        tags: dict[str, str] = fld(default_factory=dict)
        count: int = 0

    return Bag


@_shape("hidden_fields")
def _hidden_fields(deco: Any, fld: Any) -> type:
    @deco
    class Var:
        """A variable with fields left out of repr and equality."""

        name: str
        size: int
        owner: object = fld(default=None, repr=False, compare=False)
        order: str = fld(default="little", repr=False, compare=False)

    return Var


@_shape("explicit_methods", frozen=True)
def _explicit_methods(deco: Any, fld: Any) -> type:
    @deco
    class Named:
        """Equal by name only, with its own repr."""

        name: str
        kind: int = 0

        def __eq__(self, other: object) -> bool:
            if not isinstance(other, Named):
                return NotImplemented
            return self.name == other.name

        def __hash__(self) -> int:
            return hash(self.name)

        def __repr__(self) -> str:
            return f"<{self.name}>"

    return Named


@_shape("explicit_eq_no_hash")
def _explicit_eq_no_hash(deco: Any, fld: Any) -> type:
    @deco
    class Loose:  # noqa: PLW1641 (no __hash__: the case under test)
        """Its own __eq__ and no __hash__: unhashable, as a mutable dataclass."""

        value: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Loose) and other.value % 10 == self.value % 10

    return Loose


@_shape("eq_false_frozen", frozen=True, eq=False)
def _eq_false_frozen(deco: Any, fld: Any) -> type:
    @deco
    class Ident:
        """eq=False: identity equality and hash, inherited from object."""

        name: str

    return Ident


@_shape("specs_style", eq=False)
def _specs_style(deco: Any, fld: Any) -> type:
    @deco
    class Spec:
        """As the specs: eq=False with __eq__ and __hash__ = None in the body."""

        name: str
        contents: list[bytes] = fld(default_factory=list)

        def __eq__(self, other: object) -> bool:
            return type(other) is type(self) and vars(other) == vars(self)

        __hash__ = None  # type: ignore[assignment]

    return Spec


@_shape("post_init")
def _post_init(deco: Any, fld: Any) -> type:
    @deco
    class Sized:
        """A derived field, set by __post_init__."""

        data: bytes
        size: int = fld(init=False, default=-1)
        pieces: list[bytes] = fld(init=False, default_factory=list)

        def __post_init__(self) -> None:
            if not isinstance(self.data, bytes):
                raise TypeError("data must be bytes")
            self.size = len(self.data)

    return Sized


@_shape("frozen_post_init", frozen=True, slots=True)
def _frozen_post_init(deco: Any, fld: Any) -> type:
    @deco
    class Checked:
        """A frozen record that checks its fields."""

        low: int
        high: int = 10

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low above high")

    return Checked


@_shape("inheritance")
def _inheritance(deco: Any, fld: Any) -> type:
    class Plain:
        """Not a record: its annotations are no fields."""

        __slots__ = ()
        ignored: int

        def describe(self) -> str:
            return f"{self.name}/{self.size}"  # type: ignore[attr-defined]

    @deco
    class Base(Plain):
        """A record base."""

        name: str
        size: int = 0

    @deco
    class Child(Base):
        """Fields after its base's; a redefined one keeps its place."""

        size: int = 8
        extra: list[int] = fld(default_factory=list)

        def describe(self) -> str:
            return "child " + super().describe()

    return Child


@_shape("inheritance_frozen_slots", frozen=True, slots=True)
def _inheritance_frozen_slots(deco: Any, fld: Any) -> type:
    @deco
    class Base:
        """A frozen slotted base."""

        name: str

        def describe(self) -> str:
            return self.name

    @deco
    class Child(Base):
        """A frozen slotted child that calls super()."""

        level: int = 1

        def describe(self) -> str:
            return super().describe() + f"@{self.level}"

    return Child


@_shape("no_fields", frozen=True)
def _no_fields(deco: Any, fld: Any) -> type:
    @deco
    class Empty:
        """No fields at all."""

    return Empty


@_shape("self_field", frozen=True, slots=True)
def _self_field(deco: Any, fld: Any) -> type:
    @deco
    class Odd:
        """Fields named like the generated code's names."""

        self: int
        object: str = "o"
        type: int = 0

    return Odd


def _make(name: str, kind: str, *, picklable: bool = True) -> type:
    """The shape ``name`` as a record (``kind`` "r") or a dataclass ("d"), picklable or new."""
    options, body = _SHAPES[name]
    if kind == "r":
        cls = body(record(**options), field)
    else:
        cls = body(dataclasses.dataclass(**options), dataclasses.field)
    # Module-level names, so that pickle finds the classes.
    cls.__qualname__ = f"{name}_{kind}"
    if picklable:
        globals()[cls.__qualname__] = cls
    return cls


_TWINS = {name: (_make(name, "r"), _make(name, "d")) for name in _SHAPES}

# Arguments that construct each shape, and some that do not.
_GOOD: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "frozen_slots": [((1,), {}), ((1, 2), {}), ((), {"x": 3, "y": -4})],
    "mutable_factories": [(("a",), {}), (("a", [1]), {"count": 2}), ((), {"name": "b"})],
    "hidden_fields": [(("v", 4), {}), (("v", 4, "m"), {"order": "big"})],
    "explicit_methods": [(("a",), {}), (("a", 2), {})],
    "explicit_eq_no_hash": [((3,), {}), ((), {"value": 13})],
    "eq_false_frozen": [(("n",), {})],
    "specs_style": [(("s",), {}), (("s", [b"x"]), {})],
    "post_init": [((b"abc",), {})],
    "frozen_post_init": [((1,), {}), ((1, 2), {})],
    "inheritance": [(("c",), {}), (("c", 3, [1]), {})],
    "inheritance_frozen_slots": [(("c",), {}), (("c", 2), {})],
    "no_fields": [((), {})],
    "self_field": [((1,), {}), ((), {"self": 2, "object": "x", "type": 3})],
}
_BAD: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "frozen_slots": [((), {}), ((1, 2, 3), {}), ((1,), {"z": 1}), ((1,), {"x": 2})],
    "mutable_factories": [((), {}), (("a",), {"nope": 1})],
    "hidden_fields": [(("v",), {})],
    "explicit_methods": [((), {"kind": 1})],
    "explicit_eq_no_hash": [((), {})],
    "eq_false_frozen": [((), {})],
    "specs_style": [((), {})],
    "post_init": [((b"abc", 3), {}), ((), {"data": b"", "size": 0}), (("str",), {})],
    "frozen_post_init": [((5, 1), {})],
    "inheritance": [((), {"size": 1})],
    "inheritance_frozen_slots": [((), {})],
    "no_fields": [((1,), {})],
    "self_field": [((), {})],
}


def _error(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[type, str]:
    """The exception a construction raises, its message without the function's qualified name."""
    with pytest.raises(Exception) as info:
        cls(*args, **kwargs)
    message = str(info.value)
    _, sep, tail = message.partition("__init__() ")
    return type(info.value), tail if sep else message


def _same_repr(r: object, d: object, name: str) -> None:
    assert repr(r).replace(f"{name}_r", "C") == repr(d).replace(f"{name}_d", "C")


def _view(f: Any) -> tuple[Any, ...]:
    default = MISSING if f.default is dataclasses.MISSING else f.default
    factory = MISSING if f.default_factory is dataclasses.MISSING else f.default_factory
    return (f.name, f.type, default, factory, f.init, f.repr, f.compare)


@pytest.mark.parametrize("init", ["generic", "compiled"])
@pytest.mark.parametrize("name", sorted(_SHAPES))
def test_a_record_is_constructed_as_its_dataclass(name: str, init: str) -> None:
    # A new class makes its first instances with the generic __init__; reading
    # __init__ (as inspect.signature does) compiles it.
    r_cls, d_cls = _make(name, "r", picklable=False), _make(name, "d", picklable=False)
    if init == "compiled":
        assert str(inspect.signature(r_cls)) == str(inspect.signature(d_cls))
        assert r_cls.__match_args__ == d_cls.__match_args__  # type: ignore[attr-defined]
    for args, kwargs in _GOOD[name]:
        _same_repr(r_cls(*args, **kwargs), d_cls(*args, **kwargs), name)
        assert isinstance(vars(r_cls)["__init__"], records._InitOnFirstUse) == (init == "generic")
    for args, kwargs in _BAD[name]:
        assert _error(r_cls, args, kwargs) == _error(d_cls, args, kwargs), (args, kwargs)


def test_argument_errors_name_the_record() -> None:
    r_cls, _ = _TWINS["frozen_slots"]
    with pytest.raises(TypeError, match=r"^frozen_slots_r\.__init__\(\) missing 1 required"):
        r_cls()


@pytest.mark.parametrize("name", sorted(_SHAPES))
def test_a_record_compares_hashes_and_shows_as_its_dataclass(name: str) -> None:
    r_cls, d_cls = _TWINS[name]
    assert (r_cls.__hash__ is None) == (d_cls.__hash__ is None)
    for args, kwargs in _GOOD[name]:
        r1, r2 = r_cls(*args, **kwargs), r_cls(*args, **kwargs)
        d1, d2 = d_cls(*args, **kwargs), d_cls(*args, **kwargs)
        _same_repr(r1, d1, name)
        assert (r1 == r2) == (d1 == d2)
        assert (r1 != r2) == (d1 != d2)
        assert r1 != d1 and d1 != r1
        assert (r1 == 1, r1 != "x") == (d1 == 1, d1 != "x")
        if d_cls.__hash__ is object.__hash__:  # eq=False: by identity
            assert r_cls.__hash__ is object.__hash__
        elif d_cls.__hash__ is not None:
            assert hash(r1) == hash(d1) == hash(r2)


def test_init_is_compiled_when_first_read() -> None:
    @record()
    class Lazy:
        a: int
        b: list[int] = field(default_factory=list)

    stand_in = vars(Lazy)["__init__"]
    assert Lazy(1).b == [] and Lazy(1, [2]).b == [2]
    assert vars(Lazy)["__init__"] is stand_in  # its first instances: the generic one
    assert Lazy.__init__.__qualname__.endswith("Lazy.__init__")
    assert vars(Lazy)["__init__"] is not stand_in

    @record()
    class Busy:
        a: int
        b: list[int] = field(default_factory=list)

    made = [Busy(i) for i in range(records._COMPILE_AFTER + 1)]
    assert [m.a for m in made] == list(range(records._COMPILE_AFTER + 1))
    assert all(m.b == [] for m in made) and len({id(m.b) for m in made}) == len(made)
    assert not isinstance(vars(Busy)["__init__"], records._InitOnFirstUse)

    @record()
    class Described:
        a: int = 0

    assert str(inspect.signature(Described)) == "(a: 'int' = 0) -> None"
    assert Described().a == 0


def test_eq_and_hash_are_compiled_at_their_first_call() -> None:
    @record(frozen=True)
    class Pair:
        a: int
        b: tuple[int, ...] = ()

    stand_in_eq, stand_in_hash = vars(Pair)["__eq__"], vars(Pair)["__hash__"]
    kept_eq = Pair.__eq__
    assert Pair(1) == Pair(1, ()) and Pair(1) != Pair(2)
    assert vars(Pair)["__eq__"] is not stand_in_eq
    assert vars(Pair)["__hash__"] is not stand_in_hash
    assert hash(Pair(1, (2,))) == hash((1, (2,)))
    # A reference taken before the first call still compares.
    assert kept_eq(Pair(3), Pair(3)) is True
    assert kept_eq(Pair(3), 3) is NotImplemented
    assert Pair.__eq__.__qualname__.endswith("Pair.__eq__")


def test_fields_left_out_of_compare_are_left_out_of_equality() -> None:
    r_cls, _ = _TWINS["hidden_fields"]
    assert r_cls("v", 4, object()) == r_cls("v", 4, object(), order="big")
    assert r_cls("v", 4) != r_cls("v", 5)
    assert "owner" not in repr(r_cls("v", 4))


def test_factories_give_each_instance_its_own_value() -> None:
    r_cls, _ = _TWINS["mutable_factories"]
    a, b = r_cls("a"), r_cls("b")
    a.items.append(1)
    assert b.items == [] and a.items is not b.items and a.tags is not b.tags
    given = [5]
    assert r_cls("c", given).items is given


@pytest.mark.parametrize(
    "name", ["frozen_slots", "explicit_methods", "eq_false_frozen", "inheritance_frozen_slots"]
)
def test_a_frozen_record_refuses_changes_as_its_dataclass(name: str) -> None:
    r_cls, d_cls = _TWINS[name]
    args, kwargs = _GOOD[name][0]
    r, d = r_cls(*args, **kwargs), d_cls(*args, **kwargs)
    for attr in r_cls.__match_args__:  # type: ignore[attr-defined]
        outcomes = []
        for obj in (r, d):
            with pytest.raises(AttributeError) as set_error:
                setattr(obj, attr, 1)
            with pytest.raises(AttributeError) as del_error:
                delattr(obj, attr)
            outcomes.append((type(set_error.value), str(set_error.value), type(del_error.value)))
        assert outcomes[0] == outcomes[1]
        assert outcomes[0][0] is dataclasses.FrozenInstanceError
    # Any other name too (a frozen slotted dataclass of Python 3.11 raises
    # TypeError there, from super() of the class its slots replaced).
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
        r.other = 1
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'other'"):
        del r.other


def test_a_plain_subclass_of_a_frozen_record_may_add_attributes() -> None:
    r_cls, _ = _TWINS["explicit_methods"]

    class Sub(r_cls):  # type: ignore[misc,valid-type]
        pass

    sub = Sub("a")
    sub.note = "mine"
    assert sub.note == "mine"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        sub.name = "b"


@pytest.mark.parametrize("name", sorted(_SHAPES))
def test_a_record_copies_and_pickles_as_its_dataclass(name: str) -> None:
    r_cls, d_cls = _TWINS[name]
    for args, kwargs in _GOOD[name]:
        for cls in (r_cls, d_cls):
            obj = cls(*args, **kwargs)
            for clone in (
                copy.copy(obj),
                copy.deepcopy(obj),
                pickle.loads(pickle.dumps(obj)),
                pickle.loads(pickle.dumps(obj, protocol=0)),
            ):
                assert type(clone) is cls
                assert repr(clone) == repr(obj)
                if cls.__eq__ is not object.__eq__:
                    assert clone == obj


@pytest.mark.parametrize("name", sorted(_SHAPES))
def test_the_dataclasses_functions_see_a_record_as_its_dataclass(name: str) -> None:
    r_cls, d_cls = _TWINS[name]
    assert dataclasses.is_dataclass(r_cls)
    assert [_view(f) for f in dataclasses.fields(r_cls)] == [
        _view(f) for f in dataclasses.fields(d_cls)
    ]
    assert [_view(f) for f in records.fields(r_cls)] == [
        _view(f) for f in dataclasses.fields(d_cls)
    ]
    assert dataclasses.fields(r_cls) is not None
    for args, kwargs in _GOOD[name]:
        r, d = r_cls(*args, **kwargs), d_cls(*args, **kwargs)
        assert dataclasses.is_dataclass(r)
        assert dataclasses.asdict(r) == dataclasses.asdict(d)
        assert dataclasses.astuple(r) == dataclasses.astuple(d)
        assert [_view(f) for f in dataclasses.fields(r)] == [
            _view(f) for f in dataclasses.fields(d)
        ]
        _same_repr(dataclasses.replace(r), dataclasses.replace(d), name)
        _same_repr(records.replace(r), dataclasses.replace(d), name)
        first = r_cls.__match_args__[:1]  # type: ignore[attr-defined]
        if first:
            change = {first[0]: getattr(r, first[0])}
            _same_repr(dataclasses.replace(r, **change), dataclasses.replace(d, **change), name)
            _same_repr(records.replace(r, **change), dataclasses.replace(d, **change), name)


def test_replace_refuses_init_false_fields_and_unknown_names() -> None:
    r_cls, d_cls = _TWINS["post_init"]
    for replace, cls in (
        (records.replace, r_cls),
        (dataclasses.replace, r_cls),
        (dataclasses.replace, d_cls),
    ):
        with pytest.raises(ValueError, match="size is declared with init=False"):
            replace(cls(b"ab"), size=3)
        with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
            replace(cls(b"ab"), nope=3)
    replaced = records.replace(r_cls(b"ab"), data=b"abcd")
    assert replaced.size == 4


def test_fields_needs_a_record() -> None:
    _, d_cls = _TWINS["frozen_slots"]
    for thing in (d_cls, 3, object):
        with pytest.raises(TypeError, match="needs a record class or instance"):
            records.fields(thing)


def test_a_record_is_matched_by_position_and_keyword() -> None:
    r_cls, _ = _TWINS["frozen_slots"]
    match r_cls(1, 2):
        case r_cls(x, y=2):  # type: ignore[misc]
            assert x == 1
        case _:
            pytest.fail("no match")
    c_cls, _ = _TWINS["inheritance"]
    assert c_cls.__match_args__ == ("name", "size", "extra")
    match c_cls("c"):
        case c_cls(name, size):  # type: ignore[misc]
            assert (name, size) == ("c", 8)
        case _:
            pytest.fail("no match")


def test_slots_and_inheritance() -> None:
    r_cls, d_cls = _TWINS["frozen_slots"]
    assert r_cls.__slots__ == d_cls.__slots__ == ("x", "y")  # type: ignore[attr-defined]
    assert r_cls(3, -4).norm == 7 and r_cls.origin == (0, 0)  # type: ignore[attr-defined]
    assert not hasattr(r_cls(1), "__dict__")
    child, _ = _TWINS["inheritance_frozen_slots"]
    assert child.__slots__ == ("level",)  # type: ignore[attr-defined]
    # super() in a slotted record's methods reaches the class it was defined in.
    assert child("c", 3).describe() == "c@3"
    plain, _ = _TWINS["inheritance"]
    assert plain("c").describe() == "child c/8"
    assert [f.name for f in records.fields(plain)] == ["name", "size", "extra"]


def test_class_defaults_stay_on_a_class_without_slots() -> None:
    r_cls, d_cls = _TWINS["hidden_fields"]
    for cls in (r_cls, d_cls):
        assert cls.owner is None and cls.order == "little"  # type: ignore[attr-defined]
    r_cls, d_cls = _TWINS["mutable_factories"]
    for cls in (r_cls, d_cls):
        assert not hasattr(cls, "items") and cls.count == 0  # type: ignore[attr-defined]


def test_a_dataclass_may_subclass_a_record() -> None:
    base, _ = _TWINS["mutable_factories"]

    @dataclasses.dataclass
    class More(base):  # type: ignore[misc,valid-type]
        more: int = 1

    assert repr(More("m", more=2)) == "test_a_dataclass_may_subclass_a_record.<locals>.More(" + (
        "name='m', items=[], tags={}, count=0, more=2)"
    )


def test_wrong_definitions_are_refused_as_dataclasses_refuses_them() -> None:
    for deco, fld in ((record(), field), (dataclasses.dataclass, dataclasses.field)):
        with pytest.raises(ValueError, match="mutable default <class 'list'> for field x"):

            @deco
            class Mutable:
                x: list[int] = []

        with pytest.raises(TypeError, match="non-default argument 'y' follows default argument"):

            @deco
            class Order:
                x: int = 0
                y: int

        with pytest.raises(TypeError, match="'z' is a field but has no type annotation"):

            @deco
            class Unannotated:
                z = fld(default=1)

        with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
            fld(default=1, default_factory=list)

    for deco in (record(frozen=True), dataclasses.dataclass(frozen=True)):
        with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):

            @deco
            class Settable:
                x: int

                def __setattr__(self, name: str, value: object) -> None:
                    pass

    for deco in (record(slots=True), dataclasses.dataclass(slots=True)):
        with pytest.raises(TypeError, match="already specifies __slots__"):

            @deco
            class Slotted:
                __slots__ = ("x",)
                x: int

    with pytest.raises(TypeError, match="cannot inherit non-frozen record from a frozen one"):

        @record()
        class Thawed(_TWINS["frozen_slots"][0]):  # type: ignore[misc,valid-type]
            pass

    with pytest.raises(TypeError, match="cannot inherit frozen record from a non-frozen one"):

        @record(frozen=True)
        class Frozen(_TWINS["mutable_factories"][0]):  # type: ignore[misc,valid-type]
            pass


def test_a_recursive_record_shows_dots() -> None:
    @record()
    class Node:
        value: object = None

    node = Node()
    node.value = node
    assert repr(node).endswith("Node(value=...)")


def test_records_import_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from pybpf.asm.records import field, record\n"
        "@record(frozen=True, slots=True)\n"
        "class A:\n"
        "    x: int\n"
        "    y: list = field(default_factory=list)\n"
        "A(1) == A(1); repr(A(3))\n"
        "print(' '.join(sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = {"dataclasses", "inspect", "typing", "re", "copy", "ast"} & set(done.stdout.split())
    assert not heavy, heavy


# The public records of the load and attach paths, with their fields in the order they had
# as dataclasses: positional construction depends on it.
_PUBLIC_RECORDS = {
    "pybpf.elf.spec.MapSpec": [
        "name",
        "type",
        "key_size",
        "value_size",
        "max_entries",
        "flags",
        "pinning",
        "inner_map",
        "contents",
        "key_type",
        "value_type",
        "map_extra",
        "numa_node",
        "section",
        "readonly",
        "extra",
        "struct_ops_programs",
        "declared_max_entries",
        "autocreate",
    ],
    "pybpf.elf.spec.ProgramSpec": [
        "name",
        "section",
        "type",
        "instructions",
        "attach_type",
        "attach_to",
        "flags",
        "license",
        "kernel_version",
        "sleepable",
        "autoload",
    ],
    "pybpf.elf.spec.VariableSpec": [
        "name",
        "section",
        "offset",
        "size",
        "type",
        "map",
        "byte_order",
    ],
    "pybpf.elf.spec.Extern": ["name", "kind", "type", "weak"],
    "pybpf.elf.spec.CollectionSpec": ["maps", "programs", "variables", "types", "byte_order"],
    "pybpf.elf.sections.SectionDef": [
        "pattern",
        "type",
        "attach_type",
        "attach_btf",
        "sleepable",
        "xdp_frags",
    ],
    "pybpf.elf.sections.SectionInfo": [
        "name",
        "type",
        "attach_type",
        "attach_to",
        "flags",
        "sleepable",
        "autoload",
        "definition",
    ],
    "pybpf.elf.binary.Segment": [
        "type",
        "flags",
        "offset",
        "vaddr",
        "filesz",
        "memsz",
        "align",
    ],
    "pybpf.btf.sanitize.SanitizeOptions": [
        "func",
        "func_global",
        "datasec",
        "qmark_datasec",
        "float",
        "decl_tag",
        "type_tag",
        "enum64",
        "tag_attributes",
    ],
    "pybpf.btf.ext.records.FuncInfo": ["func", "offset"],
    "pybpf.btf.ext.records.LineInfo": ["file", "line", "line_number", "column", "offset"],
    "pybpf.btf.ext.records.CORERelocation": ["type", "accessor", "kind", "offset"],
    "pybpf.btf.ext.infos.SectionExtInfos": ["func_infos", "line_infos", "core_relocations"],
    "pybpf.btf.ext.infos.ExtInfos": [
        "func_infos",
        "line_infos",
        "core_relocations",
        "byte_order",
    ],
    "pybpf.btf.corerelo.fixup.COREFixup": [
        "kind",
        "local",
        "target",
        "poison",
        "validate",
        "local_size",
        "target_size",
        "bad_size_change",
    ],
    "pybpf.btf.corerelo.relocate.COREResult": ["index", "relocation", "fixup"],
    "pybpf.core._map_create.MapBTF": [
        "fd",
        "key_type_id",
        "value_type_id",
        "vmlinux_value_type_id",
        "inner",
    ],
    "pybpf.core.collection.CollectionOptions": [
        "map_replacements",
        "pin_path",
        "log_level",
        "log_size",
        "core_target",
    ],
    "pybpf.core._perf_event.PerfEventAttr": [
        "type",
        "config",
        "sample_period",
        "sample_type",
        "read_format",
        "flags",
        "wakeup_events",
        "bp_type",
        "config1",
        "config2",
    ],
    "pybpf.link.auto.AutoTarget": ["call", "args", "options", "binary"],
    "pybpf.link.cgroup.CgroupProgram": ["id", "attach_flags", "link_id"],
    "pybpf.link.cgroup.CgroupQuery": ["attach_type", "attach_flags", "programs", "revision"],
    "pybpf.link.usdt.USDTArgument": [
        "kind",
        "value_offset",
        "register",
        "register_offset",
        "size",
        "signed",
        "bitshift",
        "index_register",
        "index_register_offset",
        "scale_bitshift",
    ],
    "pybpf.link.usdt.USDTProbe": [
        "provider",
        "name",
        "address",
        "offset",
        "semaphore_address",
        "semaphore_offset",
        "arg_spec",
        "machine",
    ],
}


@pytest.mark.parametrize("path", sorted(_PUBLIC_RECORDS))
def test_public_records_keep_their_dataclass_fields(path: str) -> None:
    module_name, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except ImportError as e:  # pybpf-asm's tests run without the upper layers too
        pytest.skip(f"{module_name} is not installed: {e}")
    assert "__record_fields__" in vars(cls)
    assert [f.name for f in records.fields(cls)] == _PUBLIC_RECORDS[path]
    assert [f.name for f in dataclasses.fields(cls)] == _PUBLIC_RECORDS[path]
    init_names = [f.name for f in records.fields(cls) if f.init]
    assert list(inspect.signature(cls).parameters) == init_names
