"""``__arg_ctx`` for kernels that do not read it, as current libbpf does.

A global subprogram's argument tagged ``arg:ctx`` (a BTF decl tag) is the
program's context whatever its C type; the verifier reads the tag from 6.8.
Older kernels take an argument as the context only when it points to the
struct they name for the program's type (``struct __sk_buff`` for tc, …).
libbpf (``bpf_program_fixup_func_info``) therefore gives each program its own
copy of such a subprogram's FUNC and FUNC_PROTO, the tagged argument retyped
as a pointer to an empty struct of that name, points the program's func info
at the copy, and tags the copy's argument again. This module computes those
records; :mod:`pybpf.core._objbtf` appends them before sanitizing and loading.
Program types without a named context struct are left alone, as by libbpf.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pybpf.btf import ARG_CTX_TAG, Kind, Linkage
from pybpf.btf.marshal_record import Record
from pybpf.elf import ProgramType

__all__ = ["CTX_STRUCTS", "ProgramFuncs", "rewrite"]

#: The struct a program type's context argument must point to on kernels
#: without ``arg:ctx`` (libbpf's ``global_ctx_map``).
CTX_STRUCTS: dict[int, str] = {
    ProgramType.CGROUP_DEVICE: "bpf_cgroup_dev_ctx",
    ProgramType.CGROUP_SKB: "__sk_buff",
    ProgramType.CGROUP_SOCK: "bpf_sock",
    ProgramType.CGROUP_SOCK_ADDR: "bpf_sock_addr",
    ProgramType.CGROUP_SOCKOPT: "bpf_sockopt",
    ProgramType.CGROUP_SYSCTL: "bpf_sysctl",
    ProgramType.FLOW_DISSECTOR: "__sk_buff",
    ProgramType.KPROBE: "bpf_user_pt_regs_t",
    ProgramType.LWT_IN: "__sk_buff",
    ProgramType.LWT_OUT: "__sk_buff",
    ProgramType.LWT_SEG6LOCAL: "__sk_buff",
    ProgramType.LWT_XMIT: "__sk_buff",
    ProgramType.NETFILTER: "bpf_nf_ctx",
    ProgramType.PERF_EVENT: "bpf_perf_event_data",
    ProgramType.RAW_TRACEPOINT: "bpf_raw_tracepoint_args",
    ProgramType.RAW_TRACEPOINT_WRITABLE: "bpf_raw_tracepoint_args",
    ProgramType.SCHED_ACT: "__sk_buff",
    ProgramType.SCHED_CLS: "__sk_buff",
    ProgramType.SK_LOOKUP: "bpf_sk_lookup",
    ProgramType.SK_MSG: "sk_msg_md",
    ProgramType.SK_REUSEPORT: "sk_reuseport_md",
    ProgramType.SK_SKB: "__sk_buff",
    ProgramType.SOCK_OPS: "bpf_sock_ops",
    ProgramType.SOCKET_FILTER: "__sk_buff",
    ProgramType.XDP: "xdp_md",
}

_MODIFIERS = frozenset({Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})

#: One program: its name, its type, and the type ids of its func info records.
ProgramFuncs = tuple[str, int, Sequence[int]]


def rewrite(
    recs: list[Record], first_id: int, programs: Iterable[ProgramFuncs]
) -> dict[str, dict[int, int]]:
    """Append each program's retyped copies to ``recs``; per program, FUNC ids to use instead.

    Programs are taken in the given order and the records appended in
    libbpf's order: per tag (in id order) that names a global FUNC of the
    program's func info, the FUNC and FUNC_PROTO copies (once per FUNC),
    the context STRUCT and its PTR (once per program), then the copied tag.
    """
    tags = [r for r in recs if r.kind == Kind.DECL_TAG and r.name == ARG_CTX_TAG]
    replaced: dict[str, dict[int, int]] = {}
    for name, prog_type, func_ids in programs:
        ctx_name = CTX_STRUCTS.get(prog_type)
        if ctx_name is None:
            continue
        clones: dict[int, int] = {}
        ptr_id = 0
        for tag in tags:
            fn_id = tag.size_or_type
            fn = _at(recs, first_id, fn_id)
            if fn is None or fn.kind != Kind.FUNC or fn.vlen != Linkage.GLOBAL:
                continue
            proto = _at(recs, first_id, fn.size_or_type)
            if proto is None or proto.kind != Kind.FUNC_PROTO or fn_id not in func_ids:
                continue
            arg = tag.extra[0]
            assert isinstance(arg, int)
            if arg >= proto.vlen:  # -1 (the function itself) is 0xFFFFFFFF here
                continue
            param = proto.extra[2 * arg + 1]
            assert isinstance(param, int)
            if not _needs_rewrite(recs, first_id, param, prog_type, ctx_name):
                continue
            if fn_id not in clones:
                clones[fn_id] = first_id + len(recs)
                recs.append(Record(Kind.FUNC, fn.name, clones[fn_id] + 1, fn.vlen))
                recs.append(proto.copy())
            if not ptr_id:
                recs.append(Record(Kind.STRUCT, ctx_name))
                ptr_id = first_id + len(recs)
                recs.append(Record(Kind.PTR, "", ptr_id - 1))
            recs.append(Record(Kind.DECL_TAG, ARG_CTX_TAG, clones[fn_id], 0, tag.kind_flag, [arg]))
            clone_proto = recs[clones[fn_id] + 1 - first_id]
            clone_proto.extra[2 * arg + 1] = ptr_id
        if clones:
            replaced[name] = clones
    return replaced


def _at(recs: list[Record], first_id: int, type_id: int) -> Record | None:
    index = type_id - first_id
    return recs[index] if 0 <= index < len(recs) else None


def _skip(recs: list[Record], first_id: int, type_id: int, kinds: frozenset[Kind]) -> int:
    """``type_id`` past the records of ``kinds`` (ids outside ``recs`` are not followed)."""
    r = _at(recs, first_id, type_id)
    while r is not None and r.kind in kinds:
        type_id = r.size_or_type
        r = _at(recs, first_id, type_id)
    return type_id


def _needs_rewrite(
    recs: list[Record], first_id: int, param: int, prog_type: int, ctx_name: str
) -> bool:
    """Whether a tagged argument of type ``param`` must be retyped (libbpf's rules).

    ``void *`` is; a pointer to the context struct (or, for kprobe and
    perf_event programs, to ``bpf_user_pt_regs_t``) already is not; kprobe
    programs' ``struct pt_regs *`` and raw tracepoints' ``u64 *`` are.
    Anything else (a perf_event program's ``struct pt_regs *``, which its
    kernel takes as it is, included) is left for the kernel to judge, as
    libbpf leaves it.
    """
    ptr = _at(recs, first_id, _skip(recs, first_id, param, _MODIFIERS | {Kind.TYPEDEF}))
    if ptr is None or ptr.kind != Kind.PTR:
        return False
    target_id = _skip(recs, first_id, ptr.size_or_type, _MODIFIERS)
    target = _at(recs, first_id, target_id)
    if (
        target is not None
        and target.kind == Kind.TYPEDEF
        and target.name == "bpf_user_pt_regs_t"
        and prog_type in (ProgramType.KPROBE, ProgramType.PERF_EVENT)
    ):
        return False
    target_id = _skip(recs, first_id, target_id, _MODIFIERS | {Kind.TYPEDEF})
    if target_id == 0:
        return True
    target = _at(recs, first_id, target_id)
    if target is None:
        return False
    is_struct = target.kind == Kind.STRUCT
    if is_struct and target.name == ctx_name:
        return False
    if prog_type == ProgramType.KPROBE:
        return is_struct and target.name == "pt_regs"
    if prog_type in (ProgramType.RAW_TRACEPOINT, ProgramType.RAW_TRACEPOINT_WRITABLE):
        return target.kind == Kind.INT and target.size_or_type == 8
    return False
