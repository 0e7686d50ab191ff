"""The kernel BTF id a tracing, LSM or iterator program attaches to.

The kernel names its hooks in vmlinux BTF the way libbpf's
``find_attach_btf_id`` looks them up: ``tp_btf`` targets by the typedef
``btf_trace_<name>``, LSM hooks by the function ``bpf_lsm_<name>``, iterators
by ``bpf_iter_<name>``, and fentry/fexit/fmod_ret by the function's own name.
"""

from __future__ import annotations

import errno

from pybpf.btf import Func, Spec, Typedef, TypeNotFoundError, load_kernel_spec
from pybpf.core.errors import BPFError
from pybpf.elf._uapi import AttachType, ProgramType
from pybpf.elf.spec import ProgramSpec

_PREFIX: dict[int, tuple[str, type[Func] | type[Typedef]]] = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", Typedef),
    AttachType.LSM_MAC: ("bpf_lsm_", Func),
    AttachType.LSM_CGROUP: ("bpf_lsm_", Func),
    AttachType.TRACE_ITER: ("bpf_iter_", Func),
    AttachType.TRACE_FENTRY: ("", Func),
    AttachType.TRACE_FEXIT: ("", Func),
    AttachType.MODIFY_RETURN: ("", Func),
}


def needs_attach_btf_id(spec: ProgramSpec) -> bool:
    """Whether the kernel wants ``attach_btf_id`` for this program."""
    return spec.type in (ProgramType.TRACING, ProgramType.LSM) and spec.attach_type in _PREFIX


def attach_btf_id(spec: ProgramSpec, target: Spec | None = None) -> int:
    """The id in vmlinux BTF (or ``target``) of what ``spec`` attaches to."""
    assert spec.attach_type is not None
    prefix, kind = _PREFIX[spec.attach_type]
    if not spec.attach_to:
        raise ValueError(
            f"program {spec.name!r}: section {spec.section!r} names nothing to attach to"
        )
    kernel = target if target is not None else load_kernel_spec()
    name = prefix + spec.attach_to
    try:
        return kernel.type_id(kernel.type_by_name(name, kind))
    except TypeNotFoundError:
        raise BPFError(
            errno.ESRCH,
            f"program {spec.name!r}",
            reason=f"attach target {name!r} ({kind.__name__}) not found in the kernel's BTF",
        ) from None
