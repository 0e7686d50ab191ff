"""The kernel BTF id a tracing, LSM or iterator program attaches to.

The kernel names its hooks in BTF the way libbpf's ``find_attach_btf_id``
looks them up: ``tp_btf`` targets by the typedef ``btf_trace_<name>``, LSM
hooks by the function ``bpf_lsm_<name>``, iterators by ``bpf_iter_<name>``,
and fentry/fexit/fmod_ret by the function's own name.

As libbpf's ``find_kernel_btf_id`` (1.5+ for the ``module:`` form): vmlinux
first, then each module's BTF in module order, the first of that name and
kind winning. A target written ``module:name`` (``fentry/nf_conntrack:
nf_confirm``) is looked for in vmlinux only when ``module`` is a prefix of
"vmlinux" (an empty one included), and in the modules whose name begins with
``module``: libbpf compares the names with ``strncmp`` over the given length.
A module's target is its id in the module's (split) BTF, which the kernel
reads with the module BTF's fd (``attach_btf_obj_fd``, Linux 5.11+).
"""

from __future__ import annotations

import errno

from pybpf.btf import Func, Spec, Typedef, load_kernel_spec
from pybpf.core._kernel_btf import ModuleBTF, ModuleBTFs
from pybpf.core.errors import BPFError
from pybpf.elf import AttachType, ProgramType
from pybpf.elf.spec import ProgramSpec

__all__ = ["AttachBTF", "find_attach_btf", "needs_attach_btf_id", "split_target"]

_PREFIX: dict[int, tuple[str, type[Func] | type[Typedef]]] = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", Typedef),
    AttachType.LSM_MAC: ("bpf_lsm_", Func),
    AttachType.LSM_CGROUP: ("bpf_lsm_", Func),
    AttachType.TRACE_ITER: ("bpf_iter_", Func),
    AttachType.TRACE_FENTRY: ("", Func),
    AttachType.TRACE_FEXIT: ("", Func),
    AttachType.MODIFY_RETURN: ("", Func),
}


class AttachBTF:
    """Where a program's attach target is: its id in vmlinux's or a module's BTF."""

    # A plain class: this module is imported by every load, a dataclass costs
    # more to define than the loads that attach by BTF id use it.
    __slots__ = ("btf_id", "module")

    def __init__(self, btf_id: int, module: ModuleBTF | None = None) -> None:
        self.btf_id = btf_id
        #: The module whose BTF holds the target; None for vmlinux.
        self.module = module

    def __repr__(self) -> str:
        return f"AttachBTF(btf_id={self.btf_id}, module={self.module!r})"

    @property
    def obj_fd(self) -> int:
        """What ``attach_btf_obj_fd`` gets: the module BTF's fd, 0 for vmlinux."""
        return self.module.fd.number if self.module is not None else 0


def needs_attach_btf_id(spec: ProgramSpec) -> bool:
    """Whether the kernel wants ``attach_btf_id`` for this program."""
    return spec.type in (ProgramType.TRACING, ProgramType.LSM) and spec.attach_type in _PREFIX


def split_target(attach_to: str) -> tuple[str | None, str]:
    """``module:name`` as (module, name); a target without ``:`` has no module (None)."""
    module, colon, name = attach_to.partition(":")
    return (module, name) if colon else (None, attach_to)


def find_attach_btf(spec: ProgramSpec, modules: ModuleBTFs | None = None) -> AttachBTF:
    """Where the kernel's BTF (vmlinux's, else ``modules``') has what ``spec`` attaches to."""
    assert spec.attach_type is not None
    prefix, kind = _PREFIX[spec.attach_type]
    if not spec.attach_to:
        raise ValueError(
            f"program {spec.name!r}: section {spec.section!r} names nothing to attach to"
        )
    module_name, target = split_target(spec.attach_to)
    name = prefix + target
    if module_name is None or "vmlinux".startswith(module_name):
        btf_id = _first_id(load_kernel_spec(), name, kind)
        if btf_id is not None:
            return AttachBTF(btf_id)
    for module in modules if modules is not None else ():
        if module_name is not None and not module.name.startswith(module_name):
            continue
        btf_id = _first_id(module.spec, name, kind)
        if btf_id is not None:
            return AttachBTF(btf_id, module)
    where = "the kernel's BTF (vmlinux or a module's)"
    if module_name and "vmlinux".startswith(module_name):
        where = "vmlinux's BTF"
    elif module_name:
        where = f"the BTF of module {module_name!r}"
    raise BPFError(
        errno.ESRCH,
        f"program {spec.name!r}",
        reason=f"attach target {name!r} ({kind.__name__}) not found in {where}",
    )


def _first_id(spec: Spec, name: str, kind: type[Func] | type[Typedef]) -> int | None:
    """The lowest id of that name and kind, as ``btf__find_by_name_kind``.

    A module's spec holds vmlinux's types too, as libbpf's split BTF does.
    """
    found = spec.types_by_name(name, kind)
    return spec.type_id(found[0]) if found else None
