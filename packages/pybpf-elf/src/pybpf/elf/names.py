"""The names libbpf gives kernel enums (``libbpf_bpf_*_type_str``)."""

from __future__ import annotations

from pybpf.elf._uapi import AttachType, MapType, ProgramType

__all__ = ["attach_type_name", "map_type_name", "program_type_name"]


def program_type_name(t: ProgramType) -> str:
    """``libbpf_bpf_prog_type_str``: ``socket_filter``, ``sched_cls``, ..."""
    return ProgramType(t).name.lower()


def attach_type_name(t: AttachType) -> str:
    """``libbpf_bpf_attach_type_str``: ``cgroup_inet_ingress``, ``trace_fentry``, ..."""
    return AttachType(t).name.lower()


def map_type_name(t: MapType) -> str:
    """``libbpf_bpf_map_type_str``: ``hash``, ``percpu_array``, ``cgroup_storage``, ..."""
    # The enum lists the *_DEPRECATED aliases first; libbpf names the value.
    return MapType(t).name.lower().removesuffix("_deprecated")
