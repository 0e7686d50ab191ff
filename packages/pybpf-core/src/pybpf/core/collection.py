"""Collections: every map, program and variable of an object, loaded together.

``Collection(spec_or_path, options)`` does what libbpf's ``bpf_object__load``
does, in its order: the object's BTF is loaded once; maps are created (data
sections filled, ``.rodata`` frozen, ``.kconfig`` filled for this kernel,
pinned maps reused or pinned, replacements used as given); programs are
loaded with CO-RE applied, externs resolved and map fds in place; then
program arrays and maps of maps get their ``.values``. A failure half-way
undoes what the load did: it removes the pins it made (not those it reused)
and closes what it created.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from pybpf.asm.records import field, record
from pybpf.btf import Spec, Type
from pybpf.core import (
    _args,
    _btf_probes,
    _map_create,
    _prog_load,
)
from pybpf.core._closing import Closing
from pybpf.core._kernel_btf import ModuleBTFs
from pybpf.core._map_create import MapBTF
from pybpf.core._objbtf import ObjectBTF
from pybpf.core._probes import NEEDS_BTF
from pybpf.core._uapi import MapFlags
from pybpf.core.errors import BPFError, ClosedError, NotSupportedError
from pybpf.core.map import Map
from pybpf.core.program import (
    Program,
    core_relocator,
    has_core_relocations,
    has_externs,
    kernel_spec_or_none,
    new_resolver,
)
from pybpf.core.variable import Memory, Variable, close_memory
from pybpf.elf import MapType, load_collection_spec
from pybpf.elf.datasecs import ARENA_SECTION
from pybpf.elf.spec import CollectionSpec, Extern, ExternKind, MapSpec, Pinning, ProgramSpec

__all__ = ["Collection", "CollectionOptions", "load_collection"]

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.core import _struct_ops
    from pybpf.core._arena import Arena

_FD_CONTENTS = frozenset({MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})


@record()
class CollectionOptions:
    """How to load a collection.

    ``map_replacements``: existing maps to use instead of creating the named
    ones (checked for compatibility). ``pin_path``: the bpffs directory where
    ``LIBBPF_PIN_BY_NAME`` maps are reused or pinned (without it, libbpf's
    default, ``/sys/fs/bpf``). ``log_level``/``log_size``: ask for the
    verifier log on the first attempt, and keep it (``Program.verifier_log``).
    ``core_target``: the BTF CO-RE relocates against instead of the running
    kernel's (and its modules').
    """

    map_replacements: dict[str, Map] = field(default_factory=dict)
    pin_path: str | os.PathLike[str] | None = None
    log_level: int = 0
    log_size: int = 0
    core_target: Spec | None = None


class Collection(Closing):
    """Loaded maps, programs and variables of one object.

    ``maps``, ``programs`` and ``variables`` are dicts by name. Programs with
    ``autoload`` False (``SEC("?...")``) are not loaded, unless a created
    struct_ops map holds them (a struct_ops program only uncreated maps hold
    is not loaded either), as libbpf does. The collection owns what it
    created (not the replacement maps it was given): :meth:`close`, or
    leaving a ``with`` block, closes them. A load that fails half-way
    removes the pins it made and closes everything it opened.
    """

    def __init__(
        self,
        spec: CollectionSpec | str | os.PathLike[str] | bytes,
        options: CollectionOptions | None = None,
        *,
        programs: Iterable[str] | None = None,
        maps: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(spec, CollectionSpec | str | os.PathLike | bytes):
            raise TypeError(
                "Collection needs a CollectionSpec, or an ELF path or bytes, "
                f"not {type(spec).__name__}"
            )
        if options is None:
            options = CollectionOptions()
        elif not isinstance(options, CollectionOptions):
            raise TypeError(f"options must be CollectionOptions, not {type(options).__name__}")
        _args.unsigned("collection", "log_level", options.log_level)
        _args.unsigned("collection", "log_size", options.log_size, maximum=_prog_load.LOG_MAX)
        if not isinstance(spec, CollectionSpec):
            spec = load_collection_spec(spec)
        self._spec = spec
        #: The loaded maps, by name.
        self.maps: dict[str, Map] = {}
        #: The loaded programs, by name.
        self.programs: dict[str, Program] = {}
        #: The variables of the loaded data sections, by name.
        self.variables: dict[str, Variable] = {}
        #: The object's BPF arena mapped into this process, if it has one.
        self.arena: Arena | None = None
        self._owned: list[Map] = []
        #: Maps this load pinned (not those it found pinned): unpinned if it fails.
        self._new_pins: list[Map] = []
        self._mmaps: dict[str, Memory | None] = {}
        self._struct_ops: dict[str, _struct_ops.StructOps] = {}
        self._struct_ops_progs: dict[str, tuple[int, int]] = {}
        #: struct_ops map name to the value that registers it (function
        #: pointers set to the program fds): what attaching writes at key 0.
        self.struct_ops_values: dict[str, bytes] = {}
        self._closed = False
        wanted_progs, wanted_maps = _selection(spec, programs, maps)
        # Every number and every pin path is checked before the first syscall.
        for name in wanted_maps:
            if name not in options.map_replacements:
                _map_create.check_numbers(spec.maps[name])
        for name in wanted_progs:
            _prog_load.check_numbers(f"program {name!r}", spec.programs[name])
        pin_paths = _pin_paths(spec, wanted_maps, options)
        btf: ObjectBTF | None = None
        try:
            if spec.types is not None:
                btf = ObjectBTF(
                    spec.types,
                    [spec.programs[n].instructions for n in wanted_progs],
                    _btf_probes.sanitize_options(spec.types),
                    kinds=[(n, spec.programs[n].type) for n in wanted_progs],
                )
            self._create_maps(spec, wanted_maps, wanted_progs, options, btf, pin_paths=pin_paths)
            # As libbpf, every extern of the object must resolve, whichever
            # program uses it; a selection answers only for what it names.
            everything = programs is None and maps is None
            extern_scope = list(spec.programs) if everything else wanted_progs
            self._load_programs(spec, wanted_progs, options, btf, extern_scope)
            self._fill_fd_maps(spec, wanted_maps)
            for name, var in spec.variables.items():
                if var.section == ARENA_SECTION:
                    if self.arena is not None:
                        self.variables[name] = self.arena.variable(var, spec.byte_order)
                    continue
                data = self.maps.get(var.section)
                if data is not None:
                    mem = self._mmap(var.section, data)
                    self.variables[name] = Variable(var, data, spec.byte_order, mem)
        except BaseException:
            for m in self._new_pins:
                try:  # noqa: SIM105 (contextlib is not on a load's path)
                    m.unpin()
                except OSError:  # the load's own error matters more
                    pass
            self.close()
            raise
        finally:
            if btf is not None:
                btf.close()

    # -- loading ------------------------------------------------------------------

    def _create_maps(
        self,
        spec: CollectionSpec,
        wanted: list[str],
        progs: list[str],
        options: CollectionOptions,
        btf: ObjectBTF | None,
        *,
        pin_paths: dict[str, str],
    ) -> None:
        for name in wanted:
            ms = spec.maps[name]
            replacement = options.map_replacements.get(name)
            if replacement is not None:
                from pybpf.core._pinning import check_compatible  # noqa: PLC0415 (see _pin_paths)

                check_compatible(ms, replacement, "replacement")
                self.maps[name] = replacement
                continue
            if ms.type == MapType.STRUCT_OPS:
                self._create_struct_ops(ms, btf)
                continue
            if ms.section == ".kconfig":
                ms = ms.copy()
                ms.contents[0] = (ms.contents[0][0], self._kconfig_value(spec, ms, progs))
            if ms.type in _FD_CONTENTS and ms.contents:
                ms = ms.copy()
                ms.contents = []
            arena = ms.type == MapType.ARENA
            if arena:
                from pybpf.core import _arena  # noqa: PLC0415 (only objects with an arena)

                ms = _arena.creation_spec(ms)
            map_btf = _map_btf(ms, btf)
            if name in pin_paths:
                from pybpf.core._pinning import pinned_or_new  # noqa: PLC0415 (see _pin_paths)

                m, new = pinned_or_new(ms, pin_paths[name], map_btf)
                if new:
                    self._new_pins.append(m)
            else:
                m = _create_map(ms, map_btf)
            self._owned.append(m)
            m._types = spec.types
            self.maps[name] = m
            if arena:
                # Before any program loads: they need the arena's user address.
                self.arena = _arena.map_arena(m, spec.maps[name])
                self._mmaps[ARENA_SECTION] = self.arena.memory

    def _create_struct_ops(self, ms: MapSpec, btf: ObjectBTF | None) -> None:
        # Laid out against the running kernel: CO-RE targets do not apply.
        kernel = kernel_spec_or_none()
        if kernel is None or btf is None:
            raise NotSupportedError(
                f"struct_ops map {ms.name!r} without the kernel's and the object's BTF"
            )
        # Imported here, as _kconfig below: only objects with such maps need them.
        from pybpf.core._struct_ops import prepare  # noqa: PLC0415

        # The layout first, then the object's BTF: libbpf's order.
        so = prepare(ms, kernel)
        if btf.fd is None:
            if isinstance(btf.error, BPFError):
                # As libbpf ("BTF is mandatory"): the kernel's errno says why.
                raise BPFError(
                    btf.error.errno or 0,
                    f"struct_ops map {ms.name!r} needs the object's BTF, which the kernel refused",
                ) from btf.error
            raise NotSupportedError(f"struct_ops map {ms.name!r} without the object's BTF")
        map_btf = MapBTF(btf.fd, vmlinux_value_type_id=so.vmlinux_value_type_id)
        m = Map(so.map_spec, btf=map_btf)
        m._types = self.spec.types
        self._owned.append(m)
        self.maps[ms.name] = m
        self._struct_ops[ms.name] = so
        for prog, index in so.member_index.items():
            self._struct_ops_progs[prog] = (so.struct_id, index)

    def _kconfig_value(self, spec: CollectionSpec, ms: MapSpec, progs: list[str]) -> bytes:
        variables = [v for v in spec.variables.values() if v.section == ".kconfig"]
        weak = set()
        for p in spec.programs.values():
            for insn in p.instructions:
                ext = insn.get_metadata(Extern)
                if isinstance(ext, Extern) and ext.kind == ExternKind.KCONFIG and ext.weak:
                    weak.add(ext.name)
        value = ms.contents[0][1]
        assert isinstance(value, bytes)
        order = spec.byte_order
        from pybpf.core._kconfig import fill  # noqa: PLC0415

        return fill(value, variables, weak, order)

    def _load_programs(
        self,
        spec: CollectionSpec,
        wanted: list[str],
        options: CollectionOptions,
        btf: ObjectBTF | None,
        extern_scope: list[str],
    ) -> None:
        # As libbpf's object: one set of module BTFs for CO-RE, externs and
        # attach targets, opened at the first need; their fds stay open until
        # the last program is loaded. One relocator, one resolver (for objects
        # with externs): types and externs are looked up once, those of every
        # program of ``extern_scope`` before the first program loads.
        with ModuleBTFs() as modules:
            # The resolver closes only module BTFs it opened itself: given the
            # load's, it owns nothing, so it needs no closing of its own.
            resolver = None
            with_externs = [n for n in extern_scope if has_externs(spec.programs[n].instructions)]
            if with_externs:
                resolver = new_resolver(modules)
                for name in with_externs:
                    resolver.require(name, spec.programs[name].instructions)
            relocator = None
            if spec.types is not None and any(
                has_core_relocations(spec.programs[n].instructions) for n in wanted
            ):
                relocator = core_relocator(spec.types, options.core_target, modules, "collection")
            for name in wanted:
                prog = spec.programs[name]
                if self.arena is not None:
                    prog = self.arena.relocate(prog)
                self.programs[name] = Program(
                    prog,
                    maps=self.maps,
                    types=spec.types,
                    core_target=options.core_target,
                    log_level=options.log_level,
                    log_size=options.log_size,
                    _btf=btf,
                    _relocator=relocator,
                    _struct_ops=self._struct_ops_progs.get(name),
                    _resolver=resolver,
                    _modules=modules,
                )
        for mname, so in self._struct_ops.items():
            members = self._spec.maps[mname].struct_ops_programs
            fds = {
                member: self.programs[prog].fd.number
                for member, prog in members.items()
                if prog in self.programs
            }
            self.struct_ops_values[mname] = so.value_with(fds)

    def _fill_fd_maps(self, spec: CollectionSpec, wanted: list[str]) -> None:
        for name in wanted:
            ms = spec.maps[name]
            if ms.type not in _FD_CONTENTS or name not in self._owned_names():
                continue
            m = self.maps[name]
            for key, value in ms.contents:
                if not isinstance(value, str):
                    m.update(key, value)
                    continue
                target = self.programs.get(value) or self.maps.get(value)
                if target is None:
                    raise ValueError(
                        f"map {name!r}: its contents name {value!r}, which was not loaded"
                    )
                m.update(key, target.fd.number.to_bytes(4, sys.byteorder))

    def _mmap(self, section: str, data: Map) -> Memory | None:
        if section not in self._mmaps:
            mem = None
            if data.flags & MapFlags.MMAPABLE and data.key_size == 4:
                try:
                    mem = data.mmap()
                except OSError:
                    mem = None  # older kernels refuse to map some maps: use syscalls
            self._mmaps[section] = mem
        return self._mmaps[section]

    def _owned_names(self) -> set[str]:
        return {n for n, m in self.maps.items() if any(m is o for o in self._owned)}

    # -- access ---------------------------------------------------------------------

    @property
    def spec(self) -> CollectionSpec:
        """The spec the collection was loaded from."""
        return self._spec

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __getitem__(self, name: str) -> Map | Program:
        """The program or map called ``name`` (programs first)."""
        if self._closed:
            raise ClosedError("collection is closed")
        if name in self.programs:
            return self.programs[name]
        return self.maps[name]

    def close(self) -> None:
        """Close every program and every map the collection created."""
        self._closed = True
        for mem in self._mmaps.values():
            if mem is not None:
                close_memory(mem)
        for p in self.programs.values():
            p.close()
        for m in self._owned:
            m.close()

    def __repr__(self) -> str:
        return f"Collection(programs={list(self.programs)}, maps={list(self.maps)})"


def load_collection(
    spec: CollectionSpec | str | os.PathLike[str] | bytes,
    options: CollectionOptions | None = None,
) -> Collection:
    """Load every map and autoload program of ``spec`` (a spec, or an ELF path/bytes)."""
    return Collection(spec, options)


def _pin_paths(
    spec: CollectionSpec, wanted: list[str], options: CollectionOptions
) -> dict[str, str]:
    """Where each ``LIBBPF_PIN_BY_NAME`` map to create is pinned, by map name."""
    pinned = [
        name
        for name in wanted
        if spec.maps[name].pinning == Pinning.BY_NAME and name not in options.map_replacements
    ]
    if not pinned:
        return {}
    # Imported here: only objects with pinned maps (or replacements, which are
    # checked as pinned maps are) need the pinning rules and bpffs paths.
    from pybpf.core import _bpffs, _pinning  # noqa: PLC0415

    root = _bpffs.DEFAULT_PIN_ROOT if options.pin_path is None else options.pin_path
    return {name: _pinning.pin_path_of(spec.maps[name], root) for name in pinned}


def _create_map(ms: MapSpec, map_btf: MapBTF | None) -> Map:
    try:
        return Map(ms, btf=map_btf)
    except BPFError:
        if map_btf is None or ms.type in NEEDS_BTF:
            raise
    # Like libbpf: whatever the kernel refused, try again without the map's BTF.
    return Map(ms)


def _map_btf(ms: MapSpec, btf: ObjectBTF | None) -> MapBTF | None:
    if btf is None or btf.fd is None:
        return None

    def type_id(t: Type | None) -> int:
        if t is None:
            return 0
        try:
            return btf.type_id(t)
        except (KeyError, ValueError):
            return 0

    value_id = type_id(ms.value_type)
    key_id = type_id(ms.key_type)
    # A map of maps' inner template gets its own types, as libbpf gives them.
    inner = _map_btf(ms.inner_map, btf) if ms.inner_map is not None else None
    if not value_id:
        # Without type ids the kernel ignores the BTF fd.
        return None if inner is None else MapBTF(btf.fd, inner=inner)
    if ms.section is not None:
        # Data sections: the kernel wants an int key (none here) with a DATASEC value.
        key_id = 0
    return MapBTF(btf.fd, key_type_id=key_id, value_type_id=value_id, inner=inner)


def _referenced_maps(p: ProgramSpec) -> set[str]:
    return {i.reference for i in p.instructions if i.is_load_from_map and i.reference is not None}


def _struct_ops_holder(spec: CollectionSpec, program: str, wanted: set[str]) -> set[str]:
    """The struct_ops maps that ``program`` brings into a selection.

    None when a map holding it is ``wanted`` already; else the maps holding
    it that are created by default, or all of them when none is.
    """
    holders = {n for n, m in spec.maps.items() if program in m.struct_ops_programs.values()}
    if holders & wanted:
        return set()
    created = {n for n in holders if spec.maps[n].autocreate}
    return created or holders


def _selection(
    spec: CollectionSpec, programs: Iterable[str] | None, maps: Iterable[str] | None
) -> tuple[list[str], list[str]]:
    """What to load: every autoload program and map, or those named and what they need.

    By default maps whose ``autocreate`` is off are left out; naming one loads it.
    """
    if programs is None and maps is None:
        created = [n for n, m in spec.maps.items() if m.autocreate]
        # As libbpf (bpf_object_adjust_struct_ops_autoload, 1.4+): a struct_ops
        # program that some struct_ops map holds is loaded when one of them is
        # created (also from SEC("?struct_ops/...")), and not when only maps
        # left uncreated (SEC("?.struct_ops")) hold it.
        in_created = {p for n in created for p in spec.maps[n].struct_ops_programs.values()}
        in_any = {p for m in spec.maps.values() for p in m.struct_ops_programs.values()}
        progs = [
            n for n, p in spec.programs.items() if (n in in_created if n in in_any else p.autoload)
        ]
        return progs, created
    progs = []
    for n in programs or ():
        if n not in spec.programs:
            raise KeyError(f"no program {n!r} in the collection spec")
        progs.append(n)
    wanted: set[str] = set()
    for n in maps or ():
        if n not in spec.maps:
            raise KeyError(f"no map {n!r} in the collection spec")
        wanted.add(n)
    seen_progs = set(progs)
    done: set[str] = set()
    # Until nothing new: programs bring the maps they use and a struct_ops
    # map that holds them (their struct and member come from it); program
    # arrays and maps of maps the programs and maps they hold; struct_ops maps
    # their programs.
    while True:
        for p in progs:
            if p not in done:
                done.add(p)
                wanted |= _referenced_maps(spec.programs[p])
                wanted |= _struct_ops_holder(spec, p, wanted)
        held: list[str] = []
        for mname in wanted:
            ms = spec.maps[mname]
            held += ms.struct_ops_programs.values()
            held += [v for _, v in ms.contents if isinstance(v, str)]
        new_progs = [h for h in held if h in spec.programs and h not in seen_progs]
        new_maps = {h for h in held if h in spec.maps} - wanted
        if not new_progs and not new_maps and done >= seen_progs:
            break
        for h in new_progs:
            if h not in seen_progs:
                seen_progs.add(h)
                progs.append(h)
        wanted |= new_maps
    return progs, [n for n in spec.maps if n in wanted]
