"""The specs: plain, copyable, comparable blueprints of BPF objects.

A spec holds everything needed to create a kernel object and nothing that
depends on the running kernel. Reading the same ELF anywhere gives equal specs;
``copy()`` is deep, so an edited copy never changes the original.
"""

from __future__ import annotations

import copy as _copy
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pybpf.elf._uapi import AttachType, MapType, ProgramType

if TYPE_CHECKING:
    from pybpf.asm import Instructions
    from pybpf.btf import Spec as BTFSpec
    from pybpf.btf import Type as BTFType

ByteOrder = Literal["little", "big"]


class Pinning(enum.IntEnum):
    """How a map is pinned in bpffs (libbpf's ``enum libbpf_pin_type``)."""

    NONE = 0
    BY_NAME = 1


@dataclass(eq=True)
class MapSpec:
    """The blueprint of a map.

    ``contents`` holds the initial key/value pairs as raw bytes, except for
    program arrays and maps of maps, whose values name the program or the map
    (``str``) to put there when the collection is loaded.
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
    #: True for the maps of data sections (.data, .rodata, .bss, .kconfig, ...).
    section: str | None = None
    #: Kept only for ``.rodata``-like sections that the loader freezes.
    readonly: bool = False

    def copy(self) -> MapSpec:
        """A deep copy that can be edited without touching this spec."""
        return _copy.deepcopy(self)


@dataclass(eq=True)
class ProgramSpec:
    """The blueprint of a program."""

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

    def copy(self) -> ProgramSpec:
        """A deep copy that can be edited without touching this spec."""
        return _copy.deepcopy(self)


@dataclass(eq=True)
class VariableSpec:
    """A global variable: ``size`` bytes at ``offset`` of a data section's map."""

    name: str
    section: str
    offset: int
    size: int
    type: BTFType | None = None

    def copy(self) -> VariableSpec:
        """A deep copy that can be edited without touching this spec."""
        return _copy.deepcopy(self)


@dataclass(eq=True)
class CollectionSpec:
    """Everything an object file describes: a thin container of specs."""

    maps: dict[str, MapSpec] = field(default_factory=dict)
    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    types: BTFSpec | None = None
    byte_order: ByteOrder = "little"

    def copy(self) -> CollectionSpec:
        """A deep copy that can be edited without touching this spec."""
        return _copy.deepcopy(self)
