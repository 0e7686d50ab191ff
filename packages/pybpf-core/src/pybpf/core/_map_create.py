"""BPF_MAP_CREATE from a spec: name, inner map, BTF, and what EINVAL meant."""

from __future__ import annotations

import errno

from pybpf.asm.records import record
from pybpf.core import _args, _cmds, _probes
from pybpf.core._uapi import MapFlags
from pybpf.core.errors import BPFError, NotSupportedError
from pybpf.core.fd import FD
from pybpf.elf import MapType
from pybpf.elf.spec import MapSpec

_MAPS_OF_MAPS = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})


@record(frozen=True)
class MapBTF:
    """BTF for a map's key and value, as the loader hands it to ``Map``.

    Storage maps (sk/inode/task/cgrp) and struct_ops maps cannot be created
    without it. The btf layer produces the blob; the loader loads it and
    passes the fd and type ids here. ``inner`` is the BTF of a map of maps'
    inner map template, which libbpf creates with its key and value types:
    the verifier takes the inner maps' special fields (a ``bpf_spin_lock``, a
    ``bpf_list_head``) from the template.
    """

    fd: FD
    key_type_id: int = 0
    value_type_id: int = 0
    vmlinux_value_type_id: int = 0
    inner: MapBTF | None = None


def sanitize_name(name: str, *, allow_dot: bool = True) -> str:
    """A map name the kernel accepts: ``[A-Za-z0-9_.]``, at most 15 characters."""
    out = []
    for ch in name[:15]:
        ok = ch.isascii() and (ch.isalnum() or ch == "_" or (ch == "." and allow_dot))
        out.append(ch if ok else "_")
    return "".join(out)


def check_numbers(spec: MapSpec) -> None:
    """Raise TypeError/ValueError naming the field of ``spec`` that does not fit the kernel."""
    what = f"map {spec.name!r}"
    for name in ("type", "key_size", "value_size", "max_entries", "flags", "numa_node"):
        _args.unsigned(what, name, getattr(spec, name))
    _args.unsigned(what, "map_extra", spec.map_extra, maximum=_args.U64_MAX)
    if spec.inner_map is not None:
        check_numbers(spec.inner_map)


def create(spec: MapSpec, max_entries: int, btf: MapBTF | None) -> tuple[FD, str]:
    """BPF_MAP_CREATE from a spec; returns the fd and the name the kernel got."""
    check_numbers(spec)
    _args.unsigned(f"map {spec.name!r}", "max_entries", max_entries)
    attr = _cmds.new_attr("map_create")
    attr.map_type = spec.type
    attr.key_size = spec.key_size
    attr.value_size = spec.value_size
    attr.max_entries = max_entries
    attr.map_flags = spec.flags
    attr.numa_node = spec.numa_node
    attr.map_extra = spec.map_extra
    if spec.numa_node and not spec.flags & MapFlags.NUMA_NODE:
        attr.map_flags = spec.flags | MapFlags.NUMA_NODE
    name = ""
    if _probes.have_map_names():
        name = sanitize_name(spec.name, allow_dot=_probes.names_allow_dot())
        attr.map_name = name.encode()
    # A map of maps takes no key/value BTF (libbpf clears its type ids); its
    # inner template does.
    if btf is not None and spec.type not in _MAPS_OF_MAPS:
        attr.btf_fd = btf.fd.number
        attr.btf_key_type_id = btf.key_type_id
        attr.btf_value_type_id = btf.value_type_id
        attr.btf_vmlinux_value_type_id = btf.vmlinux_value_type_id
    what = f"create map {spec.name!r} ({_probes.type_name(spec.type)})"
    inner: FD | None = None
    if spec.type in _MAPS_OF_MAPS:
        if spec.inner_map is None:
            raise ValueError(f"map {spec.name!r}: a map of maps needs spec.inner_map")
        inner_btf = btf.inner if btf is not None else None
        inner, _ = create(spec.inner_map, spec.inner_map.max_entries, inner_btf)
        attr.inner_map_fd = inner.number
    try:
        return _cmds.map_create(attr, what), name or spec.name
    except BPFError as exc:
        raise _explain_create_error(exc, spec, btf) from None
    finally:
        if inner is not None:
            inner.close()


def _explain_create_error(exc: BPFError, spec: MapSpec, btf: MapBTF | None) -> BPFError:
    """Turn the kernel's terse EINVAL into what most likely went wrong."""
    if exc.errno != errno.EINVAL:
        return exc
    name = _probes.type_name(spec.type)
    supported = _probes.have_map_type(spec.type)
    if supported is False:
        return NotSupportedError(
            f"map type {name}",
            min_version=_probes.MAP_TYPE_SINCE.get(spec.type, ""),
            code=errno.EINVAL,
        )
    if spec.type in _probes.NEEDS_BTF and btf is None:
        return BPFError(
            errno.EINVAL,
            f"create map {spec.name!r} ({name})",
            reason="this map type needs BTF for its key and value (pass btf=MapBTF(...)) (EINVAL)",
        )
    return BPFError(
        errno.EINVAL,
        f"create map {spec.name!r} ({name}, key_size={spec.key_size}, "
        f"value_size={spec.value_size}, max_entries={spec.max_entries}, "
        f"flags={MapFlags(spec.flags)!r})",
        reason="the kernel rejected these attributes for this map type (EINVAL)",
    )
