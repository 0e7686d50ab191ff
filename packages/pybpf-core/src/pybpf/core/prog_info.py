"""What the kernel says about a program (``struct bpf_prog_info``), and run statistics."""

from __future__ import annotations

from dataclasses import dataclass

from pybpf.core import _cmds, _sys
from pybpf.core._uapi import Command
from pybpf.core.fd import FD
from pybpf.elf._uapi import ProgramType

__all__ = ["ProgramInfo", "enable_stats"]

#: ``BPF_STATS_RUN_TIME``.
_STATS_RUN_TIME = 0


@dataclass(frozen=True)
class ProgramInfo:
    """The kernel's view of a program: ``BPF_OBJ_GET_INFO_BY_FD``.

    ``run_count`` and ``run_time_ns`` only grow while statistics are enabled
    (see :func:`enable_stats`).
    """

    #: The program type; a plain int for types this library does not know.
    type: ProgramType | int
    #: The kernel-wide id (see ``Program.from_id``).
    id: int
    #: The program tag (hex), as ``Instructions.tag()`` computes it.
    tag: str
    #: The name as the kernel stored it (at most 15 characters).
    name: str
    xlated_size: int
    jited_size: int
    #: The ids of the maps the program uses.
    map_ids: tuple[int, ...]
    #: The id of the program's BTF in the kernel, 0 without.
    btf_id: int
    run_count: int
    run_time_ns: int
    verified_insns: int
    load_time_ns: int
    created_by_uid: int
    gpl_compatible: bool

    @classmethod
    def from_fd(cls, fd: FD) -> ProgramInfo:
        """Ask the kernel about the program behind ``fd``."""
        ffi = _sys.ffi
        raw = ffi.new("struct pybpf_prog_info *")
        what = f"program fd {fd.number}"
        _cmds.obj_info(fd, raw, what)
        count = int(raw.nr_map_ids)
        map_ids: tuple[int, ...] = ()
        if count:
            # A second call fills the id array the first one sized.
            ids = ffi.new("uint32_t[]", count)
            raw2 = ffi.new("struct pybpf_prog_info *")
            raw2.nr_map_ids = count
            raw2.map_ids = _sys.addr(ids)
            _cmds.obj_info(fd, raw2, what)
            map_ids = tuple(int(ids[i]) for i in range(min(count, int(raw2.nr_map_ids))))
        try:
            prog_type: ProgramType | int = ProgramType(raw.type)
        except ValueError:
            prog_type = int(raw.type)
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
            verified_insns=int(raw.verified_insns),
            load_time_ns=int(raw.load_time),
            created_by_uid=int(raw.created_by_uid),
            gpl_compatible=bool(raw.gpl_compatible & 1),
        )


def enable_stats() -> FD:
    """Turn on run-time statistics for every program while the returned fd is open.

    ``BPF_ENABLE_STATS`` (Linux 5.8); close the fd (or use ``with``) to stop.
    """
    ffi = _sys.ffi
    attr = ffi.new("struct pybpf_enable_stats_attr *")
    attr.type = _STATS_RUN_TIME
    rc = _sys.bpf(Command.ENABLE_STATS, attr, ffi.sizeof(attr[0]))
    if rc < 0:
        raise _cmds.error(-rc, "enable BPF run-time statistics")
    return FD(rc)
