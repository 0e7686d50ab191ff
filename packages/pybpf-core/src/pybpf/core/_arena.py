"""BPF arenas in a collection: mapped before the programs load, holding the ``__arena`` globals.

An arena (``BPF_MAP_TYPE_ARENA``, Linux 6.9) is memory shared by the programs
and user space. As libbpf's ``bpf_object__create_maps`` does, the loader maps
every arena it creates into the process right after creating it: the kernel
fixes the arena's user address at that first mapping (or from ``map_extra``),
and refuses to verify a program that uses an arena without one ("arena's user
address must be set via map_extra or mmap()"), since a program's LD_IMM64 of
an arena address gives that user address plus the offset.

The object's ``__arena`` globals (section ``.addr_space.1``, which the elf
reader leaves as the arena map's contents) are copied into the mapping at the
end of the arena, in whole pages, as libbpf does since late 2025 (earlier
libbpf put them at the start): the first pages stay free, so a stray NULL
arena pointer faults instead of finding a global. The programs' loads of
those globals (``BPF_PSEUDO_MAP_VALUE`` of the arena map, at the variable's
offset in the section) are moved by the same offset, and so are the
collection's :class:`~pybpf.core.variable.Variable` objects for them.

An arena whose spec sets ``map_extra`` (the kernel selftests' and sched_ext's
arenas do) must be mapped at exactly that address, which Python's :mod:`mmap`
cannot do: it takes no address. Such an arena is mapped through the syscall
layer's ``mmap`` instead, and its ``memory`` is a writable :class:`memoryview` of the mapping,
unmapped once the collection is closed and the last view of it is gone.
libbpf maps it with ``MAP_FIXED``, which silently replaces whatever the
process had mapped there; here it is ``MAP_FIXED_NOREPLACE`` (Linux 4.17), and
an address already in use is an :class:`ArenaError` that says so.
"""

from __future__ import annotations

import ctypes
import errno
import mmap

from pybpf.asm.opcodes import PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE
from pybpf.asm.records import replace
from pybpf.core import _sys
from pybpf.core._uapi import MapFlags
from pybpf.core.errors import ArenaError, BPFError, LimitError
from pybpf.core.map import Map
from pybpf.core.variable import Memory, Variable
from pybpf.elf.arena import ARENA_SECTION
from pybpf.elf.spec import MapSpec, ProgramSpec, VariableSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["ARENA_SECTION", "Arena", "creation_spec", "map_arena"]

_VALUE_LOADS = frozenset({PSEUDO_MAP_VALUE, PSEUDO_MAP_IDX_VALUE})
# <linux/mman.h>; Python's mmap module does not name it.
_MAP_FIXED_NOREPLACE = 0x100000

#: An arena's memory: an :class:`mmap.mmap`, or a view of a mapping at a fixed address.
ArenaMemory = Memory


class Arena:
    """A collection's BPF arena, mapped into this process (``Collection.arena``).

    ``memory`` is the whole arena (``max_entries`` pages) mapped at
    ``address``: the user address the kernel gives the programs' arena
    pointers, so a pointer ``p`` read from the arena is ``memory[p - address]``.
    It is an :class:`mmap.mmap`, or for an arena at a fixed address
    (``map_extra``) a writable :class:`memoryview`; both index, slice and
    export their buffer alike. The object's ``__arena`` globals start at
    ``globals_offset``. Pages the programs did not allocate are allocated on
    first touch from user space. The collection closes the mapping.
    """

    __slots__ = ("_map", "_name", "globals_offset", "memory")

    def __init__(self, name: str, arena_map: Map, memory: ArenaMemory, globals_offset: int) -> None:
        # The spec's name: what the programs' instructions refer to.
        self._name = name
        self._map = arena_map
        #: The arena's memory, mapped shared and writable.
        self.memory = memory
        #: Where the ``__arena`` globals start in ``memory``.
        self.globals_offset = globals_offset

    @property
    def map(self) -> Map:
        """The arena map."""
        return self._map

    @property
    def address(self) -> int:
        """The user address of the arena's first byte, as the programs see it."""
        self._map.fd  # noqa: B018 (raises ClosedError once the collection is closed)
        anchor = ctypes.c_char.from_buffer(self.memory)
        try:
            return ctypes.addressof(anchor)
        finally:
            del anchor  # releases the buffer export, or the mapping could not close

    def relocate(self, prog: ProgramSpec) -> ProgramSpec:
        """``prog`` with its loads of ``__arena`` globals moved to where they were placed.

        The spec itself when it loads none (or the globals sit at offset 0).
        """
        name = self._name
        moved = [
            i
            for i, insn in enumerate(prog.instructions)
            if insn.is_load_from_map and insn.src in _VALUE_LOADS and insn.reference == name
        ]
        if not moved or not self.globals_offset:
            return prog
        prog = prog.copy()
        for i in moved:
            insn = prog.instructions[i]
            offset = insn.map_value_offset + self.globals_offset
            insn.constant = offset << 32 | insn.map_fd
        return prog

    def variable(self, spec: VariableSpec, byte_order: ByteOrder) -> Variable:
        """The collection's :class:`Variable` for an ``__arena`` global, in ``memory``."""
        placed = replace(spec, offset=self.globals_offset + spec.offset)
        return Variable(placed, self._map, byte_order, self.memory)

    def __repr__(self) -> str:
        size, offset = len(self.memory), self.globals_offset
        return f"Arena({self._name!r}, size={size}, globals_offset={offset})"


def creation_spec(spec: MapSpec) -> MapSpec:
    """The spec to create an arena map from: its contents are globals, not a map value."""
    if not spec.contents:
        return spec
    spec = spec.copy()
    spec.contents = []
    return spec


def map_arena(arena_map: Map, spec: MapSpec) -> Arena:
    """Map a freshly created arena and copy the spec's ``__arena`` globals into it.

    :class:`ArenaError` when it cannot be mapped or the globals cannot be placed.
    """
    # The elf reader's arena contents: one value under the empty key.
    data = b"".join(bytes(v) for _, v in spec.contents if not isinstance(v, str))
    page = mmap.PAGESIZE
    size = arena_map.max_entries * page
    placed = -(-len(data) // page) * page
    what = f"arena map {spec.name!r}"
    if placed > size:
        raise LimitError(
            errno.E2BIG,
            what,
            limit=f"max_entries={arena_map.max_entries}",
            reason=f"{size} bytes of arena cannot hold {len(data)} bytes of __arena globals",
        )
    if data and arena_map.flags & MapFlags.SEGV_ON_FAULT:
        # Writing the globals would fault on pages no program allocated yet.
        raise ArenaError(
            errno.EINVAL,
            what,
            reason="__arena globals cannot be written into a BPF_F_SEGV_ON_FAULT arena",
        )
    memory: ArenaMemory
    try:
        if spec.map_extra:
            memory = _map_at(arena_map, spec.map_extra, size)
        else:
            memory = arena_map.mmap(writable=True)
    except BPFError:
        raise
    except OSError as exc:
        raise ArenaError(exc.errno or errno.EINVAL, f"mmap {what}") from None
    offset = size - placed
    memory[offset : offset + len(data)] = data
    return Arena(spec.name, arena_map, memory, offset)


def _map_at(arena_map: Map, address: int, size: int) -> memoryview:
    """Map ``arena_map`` shared and writable at exactly ``address``, as its ``map_extra`` asks."""
    what = f"mmap arena map {arena_map.name!r} at map_extra={address:#x}"
    prot = mmap.PROT_READ | mmap.PROT_WRITE
    flags = mmap.MAP_SHARED | _MAP_FIXED_NOREPLACE
    addr = _sys.mmap(address, size, prot, flags, arena_map.fd.fileno())
    if addr < 0:
        reason = None
        if addr == -errno.EEXIST:
            reason = f"this process already has a mapping in {address:#x}..{address + size:#x}"
        raise ArenaError(-addr, what, reason=reason)
    if addr != address:
        # A kernel before 4.17 takes the flag as a mere hint.
        _sys.munmap(addr, size)
        raise ArenaError(errno.EEXIST, what, reason=f"the kernel placed it at {addr:#x}")
    return _sys.mapped_view(addr, size)
