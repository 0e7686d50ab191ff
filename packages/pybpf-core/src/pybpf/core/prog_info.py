"""What the kernel says about a program (``struct bpf_prog_info``), and run statistics."""

from __future__ import annotations

import errno
from dataclasses import dataclass

from pybpf.btf import Type
from pybpf.core import _cmds, _sys
from pybpf.core._kernel_btf import btf_spec_by_id
from pybpf.core._uapi_run import StatsType
from pybpf.core.errors import BPFError, NotSupportedError
from pybpf.core.fd import FD
from pybpf.elf import ProgramType

__all__ = ["ProgramInfo", "enable_stats"]


#: Where each field of ``struct bpf_prog_info`` ends: a kernel that filled
#: fewer bytes (older, smaller struct) did not report the field.
_END = _cmds.field_ends("struct pybpf_prog_info")

#: attach_btf_obj_id and attach_btf_id (both Linux 6.0).
_ATTACH_SINCE = "6.0"


@dataclass(frozen=True)
class ProgramInfo:
    """The kernel's view of a program: ``BPF_OBJ_GET_INFO_BY_FD``.

    ``run_count`` and ``run_time_ns`` only grow while statistics are enabled
    (see :func:`enable_stats`). Fields that came after Linux 5.10 are
    ``None`` when the running kernel does not report them (it says how much
    of the struct it filled); ``0`` is then a value the kernel gave.
    """

    #: The program type; a plain int for types this library does not know.
    type: ProgramType | int
    #: The kernel-wide id (see ``Program.from_id``).
    id: int
    #: The program tag (hex), as ``Instructions.tag()`` computes it.
    tag: str
    #: The name as the kernel stored it (at most 15 characters).
    name: str
    #: The size in bytes of the instructions after verification and rewriting.
    xlated_size: int
    #: The size in bytes of the JIT-compiled code (0 without the JIT).
    jited_size: int
    #: The ids of the maps the program uses.
    map_ids: tuple[int, ...]
    #: The id of the program's BTF in the kernel, 0 without.
    btf_id: int
    #: How often the program ran while statistics were enabled.
    run_count: int
    #: The time it spent running while statistics were enabled, in ns.
    run_time_ns: int
    #: The instructions the verifier processed (Linux 5.16+; None before).
    verified_insns: int | None
    #: When the program was loaded, in ns since boot (``CLOCK_BOOTTIME``).
    load_time_ns: int
    #: The uid of the process that loaded the program.
    created_by_uid: int
    #: Whether the program's license is GPL-compatible.
    gpl_compatible: bool
    #: The network device a program offloaded to a NIC runs on, 0 otherwise.
    ifindex: int = 0
    #: How often the program did not run because another instance of it was
    #: already running on that CPU (tracing programs; Linux 5.12+; None before).
    recursion_misses: int | None = None
    #: The id of the BTF object holding the program's attach target: vmlinux's
    #: or a module's for tracing, LSM and struct_ops programs, the target
    #: program's BTF for freplace; 0 without one (Linux 6.0+; None before).
    attach_btf_obj_id: int | None = None
    #: The type id of the attach target in that BTF object (``btf_trace_<tp>``
    #: for tp_btf, the function for fentry/fexit, ``bpf_lsm_<hook>``,
    #: ``bpf_iter_<name>``, the ops struct for struct_ops); 0 without one
    #: (Linux 6.0+; None before).
    attach_btf_id: int | None = None

    @classmethod
    def from_fd(cls, fd: FD) -> ProgramInfo:
        """Ask the kernel about the program behind ``fd``."""
        ffi = _sys.ffi
        raw = _cmds.new_info("prog")
        what = f"program fd {fd.number}"
        filled = _cmds.obj_info(fd, raw, what)
        count = int(raw.nr_map_ids)
        map_ids: tuple[int, ...] = ()
        if count:
            # A second call fills the id array the first one sized.
            ids = ffi.new("uint32_t[]", count)
            raw2 = _cmds.new_info("prog")
            raw2.nr_map_ids = count
            raw2.map_ids = _sys.addr(ids)
            _cmds.obj_info(fd, raw2, what)
            map_ids = tuple(int(ids[i]) for i in range(min(count, int(raw2.nr_map_ids))))
        try:
            prog_type: ProgramType | int = ProgramType(raw.type)
        except ValueError:
            prog_type = int(raw.type)

        def since(field: str, value: int) -> int | None:
            return int(value) if _END[field] <= filled else None

        # Both attach fields are judged by attach_btf_id: on 5.16-5.19 the
        # struct's tail padding covers attach_btf_obj_id's offset, so those
        # kernels copy back a zero there that is no value.
        has_attach = _END["attach_btf_id"] <= filled
        return cls(
            type=prog_type,
            id=int(raw.id),
            tag=bytes(ffi.buffer(raw.tag)).hex(),
            name=ffi.string(raw.name).decode("utf-8", "replace"),
            xlated_size=int(raw.xlated_prog_len),
            jited_size=int(raw.jited_prog_len),
            map_ids=map_ids,
            btf_id=int(raw.btf_id),
            run_count=int(raw.run_cnt),
            run_time_ns=int(raw.run_time_ns),
            verified_insns=since("verified_insns", raw.verified_insns),
            load_time_ns=int(raw.load_time),
            created_by_uid=int(raw.created_by_uid),
            gpl_compatible=bool(raw.gpl_compatible & 1),
            ifindex=int(raw.ifindex),
            recursion_misses=since("recursion_misses", raw.recursion_misses),
            attach_btf_obj_id=int(raw.attach_btf_obj_id) if has_attach else None,
            attach_btf_id=int(raw.attach_btf_id) if has_attach else None,
        )

    def attach_btf_type(self) -> Type | None:
        """The BTF type the program was loaded against, read from the kernel's BTF.

        The type behind :attr:`attach_btf_id` in the BTF object
        :attr:`attach_btf_obj_id`: vmlinux's (the spec of
        :func:`pybpf.btf.load_kernel_spec`), a module's (split on top of
        vmlinux's) or, for freplace, the target program's. ``None`` for a
        program loaded without an attach target (socket filters, XDP, ...).

        Raises :class:`~pybpf.core.NotSupportedError` on kernels before 6.0,
        which do not report the target, and :class:`~pybpf.core.BPFError`
        (``ENOENT``) when the kernel reports a type id but no longer the BTF
        object (an freplace program once attached: the kernel forgets the
        target program then), or when that BTF object is gone. Opening a BTF
        object by id needs ``CAP_SYS_ADMIN``.
        """
        if self.attach_btf_id is None or self.attach_btf_obj_id is None:
            raise NotSupportedError("the attach target in program info", min_version=_ATTACH_SINCE)
        if not self.attach_btf_id:
            return None
        if not self.attach_btf_obj_id:
            raise BPFError(
                errno.ENOENT,
                f"program {self.name!r} (id {self.id}): attach target",
                reason=f"the kernel reports type id {self.attach_btf_id} but no BTF object",
            )
        return btf_spec_by_id(self.attach_btf_obj_id).type_by_id(self.attach_btf_id)


def enable_stats() -> FD:
    """Turn on run-time statistics for every program while the returned fd is open.

    ``BPF_ENABLE_STATS`` (Linux 5.8); close the fd (or use ``with``) to stop.
    """
    return _cmds.enable_stats(StatsType.RUN_TIME, "enable BPF run-time statistics")
