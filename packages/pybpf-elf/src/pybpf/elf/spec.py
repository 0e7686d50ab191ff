"""The specs: plain, copyable, comparable blueprints of BPF objects.

A spec holds everything needed to create a kernel object and nothing that
depends on the running kernel. Reading the same ELF anywhere gives equal specs;
``copy()`` is deep, so an edited copy never changes the original.

BTF types (``MapSpec.key_type``, ``VariableSpec.type``, ``CollectionSpec.types``)
are the exception: a copy shares them, as they describe the object rather than
configure it. Equality compares them by content, so that two readings of one
file are equal.

The specs are records (:mod:`pybpf.asm.records`): dataclasses to the standard
library's functions (``dataclasses.fields()``, ``replace()``, ``asdict()``),
without the cost of defining dataclasses at every start of a process.
"""

from __future__ import annotations

import enum
from operator import attrgetter

from pybpf.asm import Instructions
from pybpf.asm.exports import lazy_exports
from pybpf.asm.records import field, fields, record, replace
from pybpf.elf._uapi import AttachType, MapType, ProgramType
from pybpf.elf.variable_value import VariableValue

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import Enum, IntEnum
    from typing import Any

    from pybpf.asm.byteorder import ByteOrder
    from pybpf.btf import Spec as BTFSpec
    from pybpf.btf import Type as BTFType
else:
    from pybpf.asm.runtime_typing import Enum, IntEnum

__all__ = [
    "ByteOrder",
    "CollectionSpec",
    "Extern",
    "ExternKind",
    "MapSpec",
    "Pinning",
    "ProgramSpec",
    "VariableSpec",
]

# ByteOrder (for run-time readers) is imported the first time it is read
# (PEP 562): annotations never read it, and making it imports typing.
__getattr__, __dir__ = lazy_exports(
    __name__, {"pybpf.asm.byteorder": ["ByteOrder"]}, globals(), __all__
)


class Pinning(IntEnum):
    """How a map is pinned in bpffs (libbpf's ``enum libbpf_pin_type``)."""

    NONE = 0
    BY_NAME = 1


_Kind = type | tuple[type, ...]


def _check_types(owner: object, *checks: tuple[str, _Kind]) -> None:
    """Raise TypeError naming the first constructor argument of the wrong type.

    A wrong type (``name=b"x"``) would otherwise surface far away, as an
    untyped error from whatever first uses the value (the kernel layer).
    """
    for arg, kind in checks:
        value = getattr(owner, arg)
        if type(value) is kind:
            # The exact class: the common case, one comparison (and never a
            # bool passed for an int, whose class is bool).
            continue
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            wanted = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
            raise TypeError(
                f"{type(owner).__name__}() argument {arg!r} must be {wanted}, "
                f"not {type(value).__name__}"
            )


class _ArgumentChecks:
    """One spec class's :func:`_check_types`, with a fast pass for the usual values.

    Every spec the reader builds goes through here (tens per object), so the
    usual case is one C-level pass: each argument's exact class looked up in the
    classes known to pass (the kind itself, None where allowed, this module's
    enums for an int). Anything else, a subclass or a wrong value, takes
    :func:`_check_types`, which decides and words the error.
    """

    __slots__ = ("_checks", "_get", "_passing")

    def __init__(self, *checks: tuple[str, _Kind]) -> None:
        assert len(checks) > 1, "attrgetter gives a tuple for two names or more"
        self._checks = checks
        self._get = attrgetter(*(arg for arg, _ in checks))
        self._passing = tuple(_passing_classes(kind) for _, kind in checks)

    def __call__(self, owner: object) -> None:
        """Raise TypeError, as :func:`_check_types` does, for a wrong argument of ``owner``."""
        values = self._get(owner)
        if not all(map(frozenset.__contains__, self._passing, map(type, values))):
            _check_types(owner, *self._checks)


def _passing_classes(kind: _Kind) -> frozenset[type]:
    """Classes whose instances pass ``kind``'s check as they are (never bool for int)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    found = set(kinds)
    if int in kinds:
        found.update((MapType, Pinning, ProgramType, AttachType))
    if bool not in kinds:
        found.discard(bool)
    return frozenset(found)


def _member(kind: type[enum.IntEnum], value: int) -> str:
    """``ProgramType.XDP`` for a known value, the number for another."""
    try:
        return f"{kind.__name__}.{kind(value).name}"
    except ValueError:
        return repr(value)


def _fields_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return NotImplemented  # type: ignore[no-any-return]
    # Only comparing specs walks BTF graphs: a load never does.
    from pybpf.elf._btfeq import content_equal  # noqa: PLC0415 (not on a load's path)

    return all(
        content_equal(getattr(a, f.name), getattr(b, f.name)) for f in fields(a) if f.compare
    )


@record(eq=False)
class MapSpec:
    """The blueprint of a map.

    ``contents`` holds the initial key/value pairs as raw bytes, except for
    program arrays and maps of maps, whose values name the program or the map
    (``str``) to put there when the collection is loaded. The maps of data
    sections (``.data``, ``.rodata``, ``.bss``, ``.kconfig``, ``.data.foo``) are
    named after their section and hold one value: the section's bytes. An
    arena map with ``__arena`` globals holds one value under the empty key:
    the bytes of ``.addr_space.1``, which the loader copies into the arena.
    """

    name: str
    type: MapType
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    flags: int = 0
    pinning: Pinning = Pinning.NONE
    inner_map: MapSpec | None = None
    contents: list[tuple[bytes, bytes | str]] = field(default_factory=list)
    key_type: BTFType | None = None
    value_type: BTFType | None = None
    map_extra: int = 0
    numa_node: int = 0
    #: The ELF section of a data-section map (.data, .rodata, .bss, .kconfig, ...), else None.
    section: str | None = None
    #: True for ``.rodata``-like sections and ``.kconfig``: the loader freezes them.
    readonly: bool = False
    #: Bytes of a legacy ``maps`` record past ``struct bpf_map_def`` (iproute2's
    #: id, pinning, inner_id, inner_idx), kept as they are, in the object's byte order.
    extra: bytes = b""
    #: For ``.struct_ops`` maps: the struct type's name and, per function
    #: pointer member, the program to put there.
    struct_ops_programs: dict[str, str] = field(default_factory=dict)
    #: The ``max_entries`` the object declares, where the reader changed it: a
    #: ring buffer's size is rounded up to a power-of-two number of pages, as
    #: libbpf rounds it. None when ``max_entries`` is the object's own value.
    declared_max_entries: int | None = None
    #: False for a map the loader creates only when asked, as libbpf's
    #: ``autocreate``: the struct_ops maps of ``SEC("?.struct_ops")`` and
    #: ``SEC("?.struct_ops.link")``.
    autocreate: bool = True

    __eq__ = _fields_equal
    __hash__ = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _MAP_SPEC_CHECKS(self)

    def copy(self) -> MapSpec:
        """A deep copy that can be edited without touching this spec."""
        return replace(
            self,
            inner_map=self.inner_map.copy() if self.inner_map else None,
            contents=list(self.contents),
            struct_ops_programs=dict(self.struct_ops_programs),
        )


_MAP_SPEC_CHECKS = _ArgumentChecks(
    ("name", str),
    ("type", int),
    ("key_size", int),
    ("value_size", int),
    ("max_entries", int),
    ("flags", int),
    ("pinning", int),
    ("inner_map", (MapSpec, type(None))),
    ("contents", list),
    ("map_extra", int),
    ("numa_node", int),
    ("section", (str, type(None))),
    ("extra", bytes),
    ("struct_ops_programs", dict),
    ("declared_max_entries", (int, type(None))),
    ("autocreate", bool),
)


@record(eq=False)
class ProgramSpec:
    """The blueprint of a program.

    ``instructions`` is the program's own code followed by the subprograms it
    calls (directly or through callbacks), appended in the order libbpf appends
    them; each function's first instruction carries its ``symbol``, and calls,
    function pointers, map loads and extern uses carry a ``reference``.

    ``type`` is ``ProgramType.UNSPEC`` for a program whose section names no
    type (and for a lone ``.text`` function), as libbpf opens them: set it
    before loading. ``repr()`` is one line; ``str()`` adds the disassembly.
    """

    name: str
    section: str
    type: ProgramType
    instructions: Instructions
    attach_type: AttachType | None = None
    #: What the section name says to attach to: a function, a tracepoint, ...
    attach_to: str = ""
    flags: int = 0
    license: str = ""
    kernel_version: int = 0
    sleepable: bool = False
    #: False for sections prefixed with ``?``: loaded only on request.
    autoload: bool = True

    __eq__ = _fields_equal
    __hash__ = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _PROGRAM_SPEC_CHECKS(self)

    def __repr__(self) -> str:
        # One line: the instructions (with their metadata) run to kilobytes.
        return (
            f"ProgramSpec(name={self.name!r}, type={_member(ProgramType, self.type)}, "
            f"section={self.section!r}, instructions={len(self.instructions)})"
        )

    def __str__(self) -> str:
        """The one-line ``repr`` followed by the disassembled instructions."""
        return f"{self!r}\n{self.instructions}"

    @property
    def own_slots(self) -> int:
        """The 8-byte slots of the program's own code, before its subprograms.

        What libbpf's ``bpf_program__insn_cnt`` gives right after opening.
        """
        slots = 0
        for i, insn in enumerate(self.instructions):
            if i and insn.symbol is not None:
                break
            slots += insn.slots
        return slots

    def copy(self) -> ProgramSpec:
        """A deep copy that can be edited without touching this spec."""
        return replace(self, instructions=self.instructions.copy())


_PROGRAM_SPEC_CHECKS = _ArgumentChecks(
    ("name", str),
    ("section", str),
    ("type", int),
    ("instructions", Instructions),
    ("attach_type", (int, type(None))),
    ("attach_to", str),
    ("flags", int),
    ("license", str),
    ("kernel_version", int),
)


@record(eq=False)
class VariableSpec(VariableValue):
    """A global variable: ``size`` bytes at ``offset`` of a data section's map.

    ``section`` is the ELF section; ``map`` holds the bytes: the section's own
    map, or for ``__arena`` globals (section ``.addr_space.1``) the arena map.
    ``get()`` and ``set()`` read and edit the variable's initial value in the
    map's contents, through the BTF value codec.
    """

    name: str
    section: str
    offset: int
    size: int
    type: BTFType | None = None
    #: The map holding the variable's bytes; set by the reader and by copies.
    map: MapSpec | None = field(default=None, repr=False, compare=False)
    byte_order: ByteOrder = field(default="little", repr=False, compare=False)

    __eq__ = _fields_equal
    __hash__ = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _VARIABLE_SPEC_CHECKS(self)

    @property
    def raw(self) -> bytes:
        """The variable's initial bytes."""
        value = self._value_bytes()
        return bytes(value[self.offset : self.offset + self.size])

    @raw.setter
    def raw(self, data: bytes) -> None:
        self.check_raw(data)
        value = bytearray(self._value_bytes())
        value[self.offset : self.offset + self.size] = data
        assert self.map is not None
        key = self.map.contents[0][0]
        self.map.contents[0] = (key, bytes(value))

    def _value_bytes(self) -> bytes:
        if self.map is None or not self.map.contents:
            raise ValueError(f"variable {self.name!r} is not attached to its section's map")
        value = self.map.contents[0][1]
        if not isinstance(value, bytes):
            raise ValueError(f"map {self.map.name!r} does not hold bytes")
        return value

    def copy(self) -> VariableSpec:
        """A copy; it still edits the same map (CollectionSpec.copy rewires it)."""
        return replace(self)


_VARIABLE_SPEC_CHECKS = _ArgumentChecks(
    ("name", str),
    ("section", str),
    ("offset", int),
    ("size", int),
    ("map", (MapSpec, type(None))),
)


class ExternKind(Enum):
    """What an ``extern`` of the object stands for."""

    #: A ``__kconfig`` value, given a place in the ``.kconfig`` map.
    KCONFIG = "kconfig"
    #: A kernel variable (``__ksym``), typed or not (``void``).
    KSYM = "ksym"
    #: A kernel function called from BPF (``__ksym`` function).
    KFUNC = "kfunc"


@record(frozen=True, eq=False)
class Extern:
    """An extern the loader resolves against the running kernel.

    Attached to instructions that use it, as ``insn.metadata[Extern]``.
    """

    name: str
    kind: ExternKind
    type: BTFType | None = None
    weak: bool = False

    __eq__ = _fields_equal

    def __hash__(self) -> int:
        return hash((self.name, self.kind))


@record(eq=False)
class CollectionSpec:
    """Everything an object file describes: a thin container of specs."""

    maps: dict[str, MapSpec] = field(default_factory=dict)
    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    types: BTFSpec | None = None
    byte_order: ByteOrder = "little"

    __eq__ = _fields_equal
    __hash__ = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _COLLECTION_SPEC_CHECKS(self)
        for kind, specs, spec_type in (
            ("maps", self.maps, MapSpec),
            ("programs", self.programs, ProgramSpec),
            ("variables", self.variables, VariableSpec),
        ):
            for name, spec in specs.items():
                if not isinstance(name, str) or not isinstance(spec, spec_type):
                    raise TypeError(
                        f"CollectionSpec() argument {kind!r} must map str to "
                        f"{spec_type.__name__}, not {type(name).__name__} to "
                        f"{type(spec).__name__}"
                    )

    def __repr__(self) -> str:
        # One line: the names, not every program's instructions.
        return (
            f"CollectionSpec(programs={list(self.programs)}, maps={list(self.maps)}, "
            f"variables={len(self.variables)}, byte_order={self.byte_order!r})"
        )

    def copy(self) -> CollectionSpec:
        """A deep copy that can be edited without touching this spec."""
        maps = {name: m.copy() for name, m in self.maps.items()}
        variables = {}
        for name, v in self.variables.items():
            clone = v.copy()
            if v.map is not None:
                clone.map = maps.get(v.map.name, v.map)
            variables[name] = clone
        return CollectionSpec(
            maps=maps,
            programs={name: p.copy() for name, p in self.programs.items()},
            variables=variables,
            types=self.types,
            byte_order=self.byte_order,
        )


_COLLECTION_SPEC_CHECKS = _ArgumentChecks(
    ("maps", dict),
    ("programs", dict),
    ("variables", dict),
)
