"""struct_ops maps and their programs, laid out against the kernel's BTF.

As libbpf's ``bpf_map__init_kern_struct_ops``: the map's value is the
kernel's ``struct bpf_struct_ops_<name>`` wrapper (created with its vmlinux
BTF id), whose ``data`` member holds the kernel's ``struct <name>``. Each
program of a function pointer member loads with ``attach_btf_id`` = the
kernel struct and ``expected_attach_type`` = the member's index. The value
(local fields copied by name, function pointers as program fds) is written
when the map is attached (registered), which is pybpf.link's job.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Mapping

from pybpf.asm.records import record, replace
from pybpf.btf import Composite, Pointer, Spec, Struct, TypeNotFoundError, sizeof, underlying
from pybpf.core.errors import BPFError
from pybpf.elf.spec import MapSpec

__all__ = ["StructOps", "prepare"]

_WRAPPER_PREFIX = "bpf_struct_ops_"


@record(frozen=True)
class StructOps:
    """A struct_ops map placed against the kernel's types."""

    #: The spec to create the map from (the kernel wrapper's size, no contents).
    map_spec: MapSpec
    #: The id of ``struct bpf_struct_ops_<name>`` in vmlinux BTF.
    vmlinux_value_type_id: int
    #: The id of the kernel's ``struct <name>``: the programs' attach BTF id.
    struct_id: int
    #: Program name to the index of its member in the kernel struct.
    member_index: dict[str, int]
    #: The wrapper value with the local fields in place (function pointers 0).
    value: bytes
    #: Member name to the byte offset of its slot in ``value``.
    slots: dict[str, int]

    def value_with(self, program_fds: Mapping[str, int]) -> bytes:
        """The value to write at attach time, each function pointer set to its program's fd."""
        out = bytearray(self.value)
        for member, offset in self.slots.items():
            fd = program_fds.get(member)
            if fd is not None:
                out[offset : offset + 8] = fd.to_bytes(8, sys.byteorder)
        return bytes(out)


def _error(ms: MapSpec, reason: str, code: int = errno.ENOTSUP) -> BPFError:
    return BPFError(code, f"struct_ops map {ms.name!r}", reason=reason)


def prepare(ms: MapSpec, kernel: Spec) -> StructOps:
    """Lay ``ms`` out against ``kernel``'s struct of the same name."""
    local = ms.value_type
    if not isinstance(local, Struct):
        raise _error(ms, "its value type is not a struct")
    try:
        kstruct = kernel.type_by_name(local.name, Struct)
        wrapper = kernel.type_by_name(_WRAPPER_PREFIX + local.name, Struct)
    except TypeNotFoundError:
        # ESRCH as libbpf's lookup of the kernel's bpf_struct_ops_<name>.
        reason = f"the kernel has no struct_ops type {local.name!r}"
        raise _error(ms, reason, errno.ESRCH) from None
    assert isinstance(kstruct, Composite) and isinstance(wrapper, Composite)
    data = next((m for m in wrapper.members if m.name == "data"), None)
    if data is None:
        raise _error(ms, f"{_WRAPPER_PREFIX}{local.name} has no 'data' member")
    base = data.offset // 8
    value = bytearray(sizeof(wrapper))
    raw = ms.contents[0][1] if ms.contents else b""
    if not isinstance(raw, bytes):
        raise _error(ms, "its contents are not bytes")
    kmembers = {m.name: (i, m) for i, m in enumerate(kstruct.members)}
    slots: dict[str, int] = {}
    member_index: dict[str, int] = {}
    for lm in local.members:
        found = kmembers.get(lm.name)
        if found is None:
            raise _error(ms, f"member {lm.name!r} is not in the kernel's struct {local.name}")
        index, km = found
        koff = base + km.offset // 8
        if isinstance(underlying(km.type), Pointer):
            slots[lm.name] = koff
            prog = ms.struct_ops_programs.get(lm.name)
            if prog is not None:
                member_index[prog] = index
            continue
        size = sizeof(lm.type)
        if size != sizeof(km.type):
            raise _error(ms, f"member {lm.name!r} has another size in the kernel")
        loff = lm.offset // 8
        value[koff : koff + size] = raw[loff : loff + size]
    spec = replace(ms.copy(), key_size=4, value_size=len(value), max_entries=1, contents=[])
    return StructOps(
        map_spec=spec,
        vmlinux_value_type_id=kernel.type_id(wrapper),
        struct_id=kernel.type_id(kstruct),
        member_index=member_index,
        value=bytes(value),
        slots=slots,
    )
