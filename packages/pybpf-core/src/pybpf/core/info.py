"""What the kernel says about a map (``struct bpf_map_info``)."""

from __future__ import annotations

from dataclasses import dataclass

from pybpf.core import _cmds, _sys
from pybpf.core._uapi import MapFlags
from pybpf.core.fd import FD
from pybpf.elf import MapType

__all__ = ["MapInfo"]


#: Where ``map_extra`` ends in ``struct bpf_map_info``: kernels that fill less
#: (before 5.16) do not report it.
_MAP_EXTRA_END = _cmds.field_ends("struct pybpf_map_info")["map_extra"]


@dataclass(frozen=True)
class MapInfo:
    """The kernel's view of a map: ``BPF_OBJ_GET_INFO_BY_FD``.

    A field that came after Linux 5.10 is ``None`` when the running kernel
    does not report it (it says how much of the struct it filled).
    """

    #: The map type; a plain int for types this library does not know.
    type: MapType | int
    #: The kernel-wide id (see ``Map.from_id``).
    id: int
    #: Key size in bytes.
    key_size: int
    #: Value size in bytes.
    value_size: int
    #: The most elements the map holds.
    max_entries: int
    #: The flags it was created with.
    flags: MapFlags
    #: The name as the kernel stored it (at most 15 characters).
    name: str
    #: The network device an offloaded map lives on, else 0.
    ifindex: int
    #: The id of the map's BTF in the kernel, 0 without.
    btf_id: int
    #: The key's type id in that BTF, 0 without.
    btf_key_type_id: int
    #: The value's type id in that BTF, 0 without.
    btf_value_type_id: int
    #: For a struct_ops map, the id of ``struct bpf_struct_ops_<name>`` in the
    #: kernel's BTF (vmlinux's, or a module's: see ``btf_vmlinux_id``); else 0.
    btf_vmlinux_value_type_id: int
    #: The map type's extra setting (bloom filter hash count, arena address,
    #: ...); Linux 5.16+, None before.
    map_extra: int | None
    #: For a struct_ops map, the id of the kernel BTF object (vmlinux or a
    #: module) holding its type; Linux 6.9+ (struct_ops in modules), 0 before
    #: and for other maps.
    btf_vmlinux_id: int

    @classmethod
    def from_fd(cls, fd: FD) -> MapInfo:
        """Ask the kernel about the map behind ``fd``."""
        ffi = _sys.ffi
        raw = _cmds.new_info("map")
        filled = _cmds.obj_info(fd, raw, f"map fd {fd.number}")
        try:
            map_type: MapType | int = MapType(raw.type)
        except ValueError:
            map_type = int(raw.type)
        return cls(
            type=map_type,
            id=int(raw.id),
            key_size=int(raw.key_size),
            value_size=int(raw.value_size),
            max_entries=int(raw.max_entries),
            flags=MapFlags(raw.map_flags),
            name=ffi.string(raw.name).decode("utf-8", "replace"),
            ifindex=int(raw.ifindex),
            btf_id=int(raw.btf_id),
            btf_key_type_id=int(raw.btf_key_type_id),
            btf_value_type_id=int(raw.btf_value_type_id),
            btf_vmlinux_value_type_id=int(raw.btf_vmlinux_value_type_id),
            map_extra=int(raw.map_extra) if filled >= _MAP_EXTRA_END else None,
            # Before 6.9 the field is padding: the kernel copies back a zero.
            btf_vmlinux_id=int(raw.btf_vmlinux_id),
        )
