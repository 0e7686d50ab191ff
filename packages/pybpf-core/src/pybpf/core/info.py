"""What the kernel says about a map (``struct bpf_map_info``)."""

from __future__ import annotations

from dataclasses import dataclass

from pybpf.core import _cmds, _sys
from pybpf.core._uapi_flags import MapFlags
from pybpf.core.fd import FD
from pybpf.elf._uapi import MapType

__all__ = ["MapInfo"]


@dataclass(frozen=True)
class MapInfo:
    """The kernel's view of a map: ``BPF_OBJ_GET_INFO_BY_FD``."""

    #: The map type; a plain int for types this library does not know.
    type: MapType | int
    #: The kernel-wide id (see ``Map.from_id``).
    id: int
    key_size: int
    value_size: int
    max_entries: int
    flags: MapFlags
    #: The name as the kernel stored it (at most 15 characters).
    name: str
    ifindex: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    btf_vmlinux_value_type_id: int
    map_extra: int

    @classmethod
    def from_fd(cls, fd: FD) -> MapInfo:
        """Ask the kernel about the map behind ``fd``."""
        ffi = _sys.ffi
        raw = ffi.new("struct pybpf_map_info *")
        _cmds.obj_info(fd, raw, f"map fd {fd.number}")
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
            map_extra=int(raw.map_extra),
        )
