"""Generate the kernel UAPI of every layer from a committed kernel BTF blob.

The kernel's own BTF is the authority: every number a layer needs (helper
ids, program/map/attach/link types, bpf(2) commands) and every struct the
syscall layer hands the kernel (the ``union bpf_attr`` variants, the
``bpf_*_info`` structs, ``perf_event_attr``) is written here, once, into a
generated file of the layer that owns it.

The input is ``testdata/uapi/vmlinux.btf.xz`` (its README says which kernel),
not the running kernel, so that every machine generates the same files;
``--check`` fails when a committed file differs from what the blob gives.
``--btf PATH`` reads another BTF (raw or .xz) instead, to update the blob.

The blob is read with pybpf's own BTF parser, from the checkout.
"""

from __future__ import annotations

import argparse
import difflib
import lzma
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "packages" / f"pybpf-{layer}" / "src") for layer in ("asm", "btf")]

from pybpf.btf import (  # noqa: E402 (the checkout's sources, made importable above)
    Array,
    Composite,
    Enum,
    Int,
    IntEncoding,
    Spec,
    Struct,
    Type,
    Union,
    load_spec,
    underlying,
)

BLOB = ROOT / "testdata" / "uapi" / "vmlinux.btf.xz"
BLOB_README = BLOB.parent / "README.md"


@dataclass(frozen=True)
class EnumTarget:
    """One Python enum class generated from one kernel enum.

    ``c_enum`` names the kernel enum; an empty name with ``member`` set finds
    the anonymous enum holding that member (most ``BPF_F_*`` families of
    bpf.h are anonymous enums); ``defines`` names a family of
    :data:`DEFINES` instead, for the ``#define``s that BTF does not carry.
    ``only`` keeps just those kernel names; ``first`` adds members (the
    empty flag set) before the kernel's; names ending in ``_MAX`` are
    counts, not values, and are left out.
    """

    cls: str
    c_enum: str
    prefix: str
    doc: str
    flag: bool = False
    member: str = ""
    defines: str = ""
    only: tuple[str, ...] = ()
    first: tuple[tuple[str, int], ...] = ()
    longer_prefix: str = ""  # stripped before ``prefix`` where a name has it
    #: The kernel spells the members in lower case (``BPF_FUNC_map_lookup_elem``):
    #: they are generated in upper case, as every other enum's, and the kernel's
    #: spelling stays as an alias.
    lower_case_aliases: bool = False


# The flag families that are ``#define``s in the kernel's UAPI headers, so
# absent from BTF: the one hand-kept table, each value as its header spells it.
DEFINES: dict[str, tuple[str, list[tuple[str, int]]]] = {
    # (header, [(kernel name, value)])
    "prog_flags": (
        "include/uapi/linux/bpf.h",
        [
            ("BPF_F_STRICT_ALIGNMENT", 1 << 0),
            ("BPF_F_ANY_ALIGNMENT", 1 << 1),
            ("BPF_F_TEST_RND_HI32", 1 << 2),
            ("BPF_F_TEST_STATE_FREQ", 1 << 3),
            ("BPF_F_SLEEPABLE", 1 << 4),
            ("BPF_F_XDP_HAS_FRAGS", 1 << 5),
            ("BPF_F_XDP_DEV_BOUND_ONLY", 1 << 6),
            ("BPF_F_TEST_REG_INVARIANTS", 1 << 7),
        ],
    ),
    "test_run_flags": (
        "include/uapi/linux/bpf.h",
        [
            ("BPF_F_TEST_RUN_ON_CPU", 1 << 0),
            ("BPF_F_TEST_XDP_LIVE_FRAMES", 1 << 1),
            ("BPF_F_TEST_SKB_CHECKSUM_COMPLETE", 1 << 2),
        ],
    ),
    "attach_flags": (
        "include/uapi/linux/bpf.h",
        [
            ("BPF_F_ALLOW_OVERRIDE", 1 << 0),
            ("BPF_F_ALLOW_MULTI", 1 << 1),
            ("BPF_F_REPLACE", 1 << 2),
            ("BPF_F_BEFORE", 1 << 3),
            ("BPF_F_AFTER", 1 << 4),
            ("BPF_F_ID", 1 << 5),
            ("BPF_F_LINK", 1 << 13),
        ],
    ),
    "query_flags": (
        "include/uapi/linux/bpf.h",
        [("BPF_F_QUERY_EFFECTIVE", 1 << 0)],
    ),
    "netfilter_flags": (
        "include/uapi/linux/bpf.h",
        [("BPF_F_NETFILTER_IP_DEFRAG", 1 << 0)],
    ),
    "xdp_flags": (
        "include/uapi/linux/if_link.h",
        [
            ("XDP_FLAGS_UPDATE_IF_NOEXIST", 1 << 0),
            ("XDP_FLAGS_SKB_MODE", 1 << 1),
            ("XDP_FLAGS_DRV_MODE", 1 << 2),
            ("XDP_FLAGS_HW_MODE", 1 << 3),
            ("XDP_FLAGS_REPLACE", 1 << 4),
        ],
    ),
    "perf_open_flags": (
        "include/uapi/linux/perf_event.h",
        [
            ("PERF_FLAG_FD_NO_GROUP", 1 << 0),
            ("PERF_FLAG_FD_OUTPUT", 1 << 1),
            ("PERF_FLAG_PID_CGROUP", 1 << 2),
            ("PERF_FLAG_FD_CLOEXEC", 1 << 3),
        ],
    ),
    "namespace_types": (
        "include/uapi/linux/sched.h",
        [
            ("CLONE_NEWTIME", 0x00000080),
            ("CLONE_NEWNS", 0x00020000),
            ("CLONE_NEWCGROUP", 0x02000000),
            ("CLONE_NEWUTS", 0x04000000),
            ("CLONE_NEWIPC", 0x08000000),
            ("CLONE_NEWUSER", 0x10000000),
            ("CLONE_NEWPID", 0x20000000),
            ("CLONE_NEWNET", 0x40000000),
        ],
    ),
}

# The perf ioctls of include/uapi/linux/perf_event.h: (name, nr, direction,
# argument size), encoded as asm-generic/ioctl.h does (x86, arm64, riscv,
# loongarch, s390; not powerpc, mips or sparc, whose direction bits differ).
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
PERF_IOCTLS: list[tuple[str, int, int, int]] = [
    ("PERF_EVENT_IOC_ENABLE", 0, _IOC_NONE, 0),
    ("PERF_EVENT_IOC_DISABLE", 1, _IOC_NONE, 0),
    ("PERF_EVENT_IOC_REFRESH", 2, _IOC_NONE, 0),
    ("PERF_EVENT_IOC_RESET", 3, _IOC_NONE, 0),
    ("PERF_EVENT_IOC_PERIOD", 4, _IOC_WRITE, 8),
    ("PERF_EVENT_IOC_SET_OUTPUT", 5, _IOC_NONE, 0),
    ("PERF_EVENT_IOC_SET_FILTER", 6, _IOC_WRITE, 8),
    ("PERF_EVENT_IOC_ID", 7, _IOC_READ, 8),
    ("PERF_EVENT_IOC_SET_BPF", 8, _IOC_WRITE, 4),
    ("PERF_EVENT_IOC_PAUSE_OUTPUT", 9, _IOC_WRITE, 4),
    ("PERF_EVENT_IOC_QUERY_BPF", 10, _IOC_READ | _IOC_WRITE, 8),
    ("PERF_EVENT_IOC_MODIFY_ATTRIBUTES", 11, _IOC_WRITE, 8),
]


# The nsfs ioctls of include/uapi/linux/nsfs.h (type 0xb7), encoded the same way.
NSFS_IOCTLS: list[tuple[str, int, int, int]] = [
    ("NS_GET_NSTYPE", 3, _IOC_NONE, 0),
]
NSFS_IOCTL_TYPE = 0xB7


def ioctl_number(nr: int, direction: int, size: int, kind: int = ord("$")) -> int:
    """``_IOC(direction, kind, nr, size)`` as asm-generic/ioctl.h lays it out."""
    return direction << 30 | size << 16 | kind << 8 | nr


#: Core's module of the perf_event enums, which also holds ``PerfEventFlag``
#: (the bit fields of ``perf_event_attr``) and the ioctl numbers (perf's, nsfs's).
PERF_MODULE = "_uapi_perf.py"

# (layer, module, enums): the enum modules, in the layer that first needs them.
ENUM_MODULES: list[tuple[str, str, list[EnumTarget]]] = [
    (
        "asm",
        "_uapi.py",
        [
            EnumTarget(
                "Helper",
                "bpf_func_id",
                "BPF_FUNC_",
                "Helper function ids (``enum bpf_func_id``): the immediate of a helper call.",
                lower_case_aliases=True,
            ),
        ],
    ),
    (
        "elf",
        "_uapi.py",
        [
            EnumTarget(
                "ProgramType",
                "bpf_prog_type",
                "BPF_PROG_TYPE_",
                "Program types (``enum bpf_prog_type``).",
            ),
            EnumTarget(
                "MapType", "bpf_map_type", "BPF_MAP_TYPE_", "Map types (``enum bpf_map_type``)."
            ),
            EnumTarget(
                "AttachType", "bpf_attach_type", "BPF_", "Attach types (``enum bpf_attach_type``)."
            ),
            EnumTarget(
                "ProgramFlags",
                "",
                "BPF_F_",
                "``BPF_PROG_LOAD`` flags (``prog_flags``; #defines of bpf.h).",
                flag=True,
                defines="prog_flags",
                first=(("NONE", 0),),
            ),
        ],
    ),
    # Core's enums in five modules, by the calls that need them, so that a
    # process that only loads objects builds none of the link or perf enums
    # (building an enum costs tens of microseconds per member).
    (
        "core",
        "_uapi.py",
        [
            EnumTarget("Command", "bpf_cmd", "BPF_", "bpf(2) commands (``enum bpf_cmd``)."),
            EnumTarget(
                "MapFlags",
                "",
                "BPF_F_",
                "``BPF_MAP_CREATE`` flags (``map_flags``).",
                flag=True,
                member="BPF_F_NO_PREALLOC",
                first=(("NONE", 0),),
            ),
        ],
    ),
    # How elements are written and existing objects opened: a load does neither.
    (
        "core",
        "_uapi_access.py",
        [
            EnumTarget(
                "UpdateFlags",
                "",
                "BPF_",
                "How ``Map.update`` treats an existing key (``BPF_ANY`` ... ``BPF_F_LOCK``).",
                flag=True,
                member="BPF_ANY",
                longer_prefix="BPF_F_",
            ),
            EnumTarget(
                "FileFlags",
                "",
                "BPF_F_",
                "``file_flags`` of ``BPF_OBJ_GET`` and ``open_flags`` of ``*_GET_FD_BY_ID``.",
                flag=True,
                member="BPF_F_NO_PREALLOC",
                only=("BPF_F_RDONLY", "BPF_F_WRONLY"),
                first=(("RDWR", 0),),
            ),
        ],
    ),
    # A program's test runs and run-time statistics: a load uses neither.
    (
        "core",
        "_uapi_run.py",
        [
            EnumTarget(
                "RunFlags",
                "",
                "BPF_F_TEST_",
                "``BPF_PROG_TEST_RUN`` flags (``Program.run(flags=...)``; #defines of bpf.h).",
                flag=True,
                defines="test_run_flags",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "StatsType",
                "bpf_stats_type",
                "BPF_STATS_",
                "``BPF_ENABLE_STATS`` types (``enum bpf_stats_type``).",
            ),
        ],
    ),
    (
        "core",
        "_uapi_link.py",
        [
            EnumTarget(
                "LinkType",
                "bpf_link_type",
                "BPF_LINK_TYPE_",
                "Link types (``enum bpf_link_type``).",
            ),
            EnumTarget(
                "AttachFlags",
                "",
                "BPF_F_",
                "``BPF_PROG_ATTACH``/``BPF_LINK_CREATE`` flags (#defines of bpf.h).",
                flag=True,
                defines="attach_flags",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "QueryFlags",
                "",
                "BPF_F_QUERY_",
                "``BPF_PROG_QUERY`` flags (#defines of bpf.h).",
                flag=True,
                defines="query_flags",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "KprobeMultiFlags",
                "",
                "BPF_F_KPROBE_MULTI_",
                "``link_create.kprobe_multi.flags``.",
                flag=True,
                member="BPF_F_KPROBE_MULTI_RETURN",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "UprobeMultiFlags",
                "",
                "BPF_F_UPROBE_MULTI_",
                "``link_create.uprobe_multi.flags``.",
                flag=True,
                member="BPF_F_UPROBE_MULTI_RETURN",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "NetfilterFlags",
                "",
                "BPF_F_NETFILTER_",
                "``link_create.netfilter.flags`` (#defines of bpf.h).",
                flag=True,
                defines="netfilter_flags",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "XDPFlags",
                "",
                "XDP_FLAGS_",
                "XDP attach flags (XDP links' ``flags``; #defines of if_link.h).",
                flag=True,
                defines="xdp_flags",
                first=(("NONE", 0),),
            ),
            EnumTarget(
                "PerfEventType",
                "bpf_perf_event_type",
                "BPF_PERF_EVENT_",
                "What a perf-event link attaches (``enum bpf_perf_event_type``).",
            ),
            EnumTarget(
                "CgroupIterOrder",
                "bpf_cgroup_iter_order",
                "BPF_CGROUP_ITER_",
                "The walk of a cgroup iterator (``enum bpf_cgroup_iter_order``).",
            ),
            EnumTarget(
                "TaskFdType",
                "bpf_task_fd_type",
                "BPF_FD_TYPE_",
                "What ``BPF_TASK_FD_QUERY`` found behind an fd (``enum bpf_task_fd_type``).",
            ),
            EnumTarget(
                "NamespaceType",
                "",
                "CLONE_NEW",
                "Namespace types: what nsfs's ``NS_GET_NSTYPE`` answers (#defines of sched.h).",
                defines="namespace_types",
            ),
        ],
    ),
    (
        "core",
        "_uapi_perf.py",
        [
            EnumTarget(
                "PerfType",
                "perf_type_id",
                "PERF_TYPE_",
                "``enum perf_type_id``: what kind of event ``config`` names.",
            ),
            EnumTarget(
                "HardwareEvent",
                "perf_hw_id",
                "PERF_COUNT_HW_",
                "``enum perf_hw_id``: the ``config`` of a HARDWARE event.",
            ),
            EnumTarget(
                "SoftwareEvent",
                "perf_sw_ids",
                "PERF_COUNT_SW_",
                "``enum perf_sw_ids``: the ``config`` of a SOFTWARE event.",
            ),
            EnumTarget(
                "SampleType",
                "perf_event_sample_format",
                "PERF_SAMPLE_",
                "``enum perf_event_sample_format``: what each sample record carries.",
                flag=True,
            ),
            EnumTarget(
                "PerfOpenFlags",
                "",
                "PERF_FLAG_",
                "perf_event_open(2) ``flags`` (#defines of perf_event.h).",
                flag=True,
                defines="perf_open_flags",
            ),
        ],
    ),
]

# The C declarations the syscall layer compiles (API mode) or declares (ABI
# mode): each ``union bpf_attr`` variant as its own struct, found by the name
# of the member that holds it or, for the anonymous ones, by its first field.
HEADER = ROOT / "packages" / "pybpf-core" / "src" / "pybpf" / "core" / "_uapi_types.h"
ATTR_BY_FIRST_FIELD = {
    "map_type": "map_create",
    "map_fd": "map_elem",
    "prog_type": "prog_load",
    "pathname": "obj",
    "target_fd": "prog_attach",
    "start_id": "get_id",
    "btf": "btf_load",
}
ATTR_BY_MEMBER = {
    "batch": "map_batch",
    "test": "test_run",
    "info": "info",
    "query": "query",
    "raw_tracepoint": "raw_tracepoint",
    "task_fd_query": "task_fd_query",
    "link_create": "link_create",
    "link_update": "link_update",
    "link_detach": "link_detach",
    "enable_stats": "enable_stats",
    "iter_create": "iter_create",
    "prog_bind_map": "prog_bind_map",
    "token_create": "token_create",
    "prog_stream_read": "prog_stream_read",
}
# Kernel structs (and unions) declared whole, under pybpf_ names so that the compiled
# module never clashes with a system <linux/bpf.h>.
STRUCTS = [
    "bpf_prog_info",
    "bpf_map_info",
    "bpf_btf_info",
    "bpf_link_info",
    "bpf_iter_link_info",
    "perf_event_attr",
    "bpf_test_run_opts",
]
OPTIONAL_STRUCTS = {"bpf_test_run_opts"}  # libbpf's, not the kernel's: absent from vmlinux


class GenerateError(Exception):
    """The blob lacks something the generator needs, or holds what it cannot spell in C."""


def read_blob(path: Path) -> Spec:
    data = path.read_bytes()
    if path.suffix == ".xz":
        data = lzma.decompress(data)
    return load_spec(data)


def blob_kernel() -> str:
    """The kernel release the committed blob came from, from its README."""
    for line in BLOB_README.read_text().splitlines():
        if line.startswith("Kernel: "):
            return line.removeprefix("Kernel: ").strip("` ")
    raise GenerateError(f"{BLOB_README.relative_to(ROOT)} names no 'Kernel: ' line")


# --- enums ---


def kernel_enum(spec: Spec, target: EnumTarget) -> list[tuple[str, int]]:
    """The (kernel name, value) members ``target`` is generated from."""
    if target.defines:
        return list(DEFINES[target.defines][1])
    if target.c_enum:
        t = spec.type_by_name(target.c_enum, Enum)
        assert isinstance(t, Enum)
    else:
        t = anonymous_enum(spec, target.member)
    members = [(v.name, v.value) for v in t.values]
    if target.only:
        members = [m for m in members if m[0] in target.only]
    return members


def anonymous_enum(spec: Spec, member: str) -> Enum:
    """The anonymous enum of the blob that holds ``member``."""
    for t in spec:
        if isinstance(t, Enum) and not t.name and any(v.name == member for v in t.values):
            return t
    raise GenerateError(f"no anonymous enum holds {member!r}")


def canonical_first(members: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Aliases after the name the kernel means: ``CGROUP_STORAGE`` before its
    ``_DEPRECATED`` twin, so that ``MapType(19).name`` is the current name."""
    deprecated = [m for m in members if m[0].endswith("_DEPRECATED")]
    kept = [m for m in members if not m[0].endswith("_DEPRECATED")]
    out = list(kept)
    for name, value in deprecated:
        # Keep the deprecated name as an alias, after the canonical one.
        at = next((i + 1 for i, (_, v) in enumerate(out) if v == value), len(out))
        out.insert(at, (name, value))
    return out


def perf_event_flags(spec: Spec) -> list[tuple[str, int]]:
    """The one-bit fields of ``struct perf_event_attr``, as bits of their 64-bit word."""
    attr = spec.type_by_name("perf_event_attr", Struct)
    assert isinstance(attr, Struct)
    bits = [m for m in attr.members if m.bitfield_size]
    base = bits[0].offset
    return [
        (m.name.upper(), 1 << (m.offset - base))
        for m in bits
        if m.bitfield_size == 1 and not m.name.startswith("__")
    ]


def render_members(target: EnumTarget, spec: Spec) -> list[str]:
    out = [f"    {name} = {value}" for name, value in target.first]
    aliases: list[str] = []
    for name, value in canonical_first(kernel_enum(spec, target)):
        if name.startswith("__") or not name.startswith(target.prefix) or name.endswith("_MAX"):
            continue
        prefix = (
            target.longer_prefix
            if target.longer_prefix and name.startswith(target.longer_prefix)
            else target.prefix
        )
        short = name[len(prefix) :]
        if short[0].isdigit():
            short = "_" + short
        out.append(f"    {short.upper()} = {value}")
        if target.lower_case_aliases and short != short.upper():
            aliases.append(f"    {short} = {value}")
    if aliases:
        out += ["", "    # The kernel's spelling, as aliases of the names above.", *aliases]
    return out


def _base(target: EnumTarget) -> str:
    """The enum class a generated enum derives from."""
    return "IntFlag" if target.flag else "IntEnum"


def render_enums(targets: list[EnumTarget], spec: Spec, kernel: str, perf: bool) -> str:
    out = [
        f'"""Kernel UAPI numbers, generated by tools/gen_uapi.py from the BTF of Linux {kernel}.',
        "",
        "Do not edit: run ``nox -s generate`` instead.",
        '"""',
        "",
    ]
    bases = {_base(target) for target in targets}
    if perf:
        bases.add("IntFlag")  # PerfEventFlag's
    names = ", ".join(sorted(bases))
    # The enums are built by enum's fast path (pybpf.asm.runtime_typing), a
    # load builds ~200 members of them; type checkers read enum's classes.
    out += [
        "TYPE_CHECKING = False",
        "if TYPE_CHECKING:",
        f"    from enum import {names}",
        "else:",
        f"    from pybpf.asm.runtime_typing import {names}",
        "",
    ]
    for target in targets:
        out += ["", f"class {target.cls}({_base(target)}):", f'    """{target.doc}"""', ""]
        out += render_members(target, spec)
        out.append("")
    if perf:
        out += [
            "",
            "class PerfEventFlag(IntFlag):",
            '    """The one-bit fields of ``struct perf_event_attr``: its u64 at offset 40."""',
            "",
        ]
        out += [f"    {name} = {value}" for name, value in perf_event_flags(spec)]
        out += ["", "", "# perf_event ioctls (asm-generic encoding; see tools/gen_uapi.py)."]
        out += [
            f"{name} = 0x{ioctl_number(nr, direction, size):X}"
            for name, nr, direction, size in PERF_IOCTLS
        ]
        out += ["", "# nsfs ioctls (asm-generic encoding; see tools/gen_uapi.py)."]
        out += [
            f"{name} = 0x{ioctl_number(nr, direction, size, NSFS_IOCTL_TYPE):X}"
            for name, nr, direction, size in NSFS_IOCTLS
        ]
    return "\n".join(out).rstrip() + "\n"


# --- structs ---


def c_int(t: Int | Enum) -> str:
    signed = t.signed if isinstance(t, Enum) else bool(t.encoding & IntEncoding.SIGNED)
    if isinstance(t, Int) and (t.encoding & IntEncoding.CHAR or t.name == "char"):
        return "char"
    if t.size not in (1, 2, 4, 8):
        raise GenerateError(f"no fixed-width C type of {t.size} bytes for {t.name!r}")
    return f"{'' if signed else 'u'}int{t.size * 8}_t"


def declare(
    name: str, t: Type, bits: int, indent: str, *, scope: str = "", hoisted: list[str] | None = None
) -> Iterator[str]:
    """The C lines declaring a field ``name`` of type ``t``.

    A named field whose struct or union holds anonymous ones is declared as a
    type of its own, ``pybpf_nested_<scope>_<name>``, appended to ``hoisted``:
    cffi's API mode lays such an inline type out differently from the C
    compiler (``bpf_link_info``'s ``iter``), a top-level one the same.
    """
    u = underlying(t)
    if isinstance(u, (Int, Enum)):
        suffix = f" : {bits}" if bits else ""
        yield f"{indent}{c_int(u)} {name}{suffix};"
    elif isinstance(u, Array):
        dims = ""
        elem: Type = u
        while isinstance(elem, Array):
            dims += f"[{elem.nelems}]"
            elem = underlying(elem.type)
        if not isinstance(elem, (Int, Enum)):
            raise GenerateError(f"array {name!r} of {elem!r}: only arrays of integers are spelled")
        yield f"{indent}{c_int(elem)} {name}{dims};"
    elif isinstance(u, Composite):
        keyword = "union" if isinstance(u, Union) else "struct"
        inner = f"{scope}_{name}" if name else scope
        if name and hoisted is not None and has_anonymous_composite(u):
            type_name = f"pybpf_nested_{inner}"
            body = [f"{keyword} {type_name} {{"]
            for member in u.members:
                body += declare(
                    member.name,
                    member.type,
                    member.bitfield_size,
                    "    ",
                    scope=inner,
                    hoisted=hoisted,
                )
            hoisted += [*body, "};", ""]
            yield f"{indent}{keyword} {type_name} {name};"
            return
        yield f"{indent}{keyword} {{"
        for member in u.members:
            yield from declare(
                member.name,
                member.type,
                member.bitfield_size,
                indent + "    ",
                scope=inner,
                hoisted=hoisted,
            )
        yield f"{indent}}}{' ' + name if name else ''};"
    else:
        raise GenerateError(f"field {name!r}: cannot spell {u!r} in a cffi declaration")


def has_anonymous_composite(t: Composite) -> bool:
    return any(not m.name and isinstance(underlying(m.type), Composite) for m in t.members)


def attr_variants(spec: Spec) -> list[tuple[str, Composite]]:
    """Each ``union bpf_attr`` member, named as the syscall layer calls it."""
    attr = spec.type_by_name("bpf_attr", Union)
    assert isinstance(attr, Union)
    out: list[tuple[str, Composite]] = []
    for member in attr.members:
        body = underlying(member.type)
        if not isinstance(body, Composite):
            continue
        if member.name:
            name = ATTR_BY_MEMBER.get(member.name)
        else:
            name = ATTR_BY_FIRST_FIELD.get(first_field(body))
        if name is None:
            raise GenerateError(
                f"union bpf_attr member {member.name or first_field(body)!r} has no name here: "
                "add it to ATTR_BY_MEMBER or ATTR_BY_FIRST_FIELD"
            )
        out.append((name, body))
    return out


def first_field(t: Composite) -> str:
    member = t.members[0]
    inner = underlying(member.type)
    if not member.name and isinstance(inner, Composite):
        return first_field(inner)
    return member.name


def render_header(spec: Spec, kernel: str) -> str:
    out = [
        f"/* Kernel UAPI structs, generated by tools/gen_uapi.py from the BTF of Linux {kernel}.",
        " *",
        " * Do not edit: run `nox -s generate` instead. Valid both as C and as a cffi",
        " * cdef: fixed-width types only, no preprocessor. Each `union bpf_attr`",
        " * variant is a struct of its own, `struct pybpf_attr_<command>`; the",
        " * commands are `enum pybpf_bpf_cmd`.",
        " */",
        "",
    ]
    # The commands, for the C helpers that issue one (the map hot paths).
    out.append("enum pybpf_bpf_cmd {")
    for name, value in kernel_enum(spec, EnumTarget("", "bpf_cmd", "BPF_", "")):
        if not name.startswith("__"):
            out.append(f"    PYBPF_{name} = {value},")
    out += ["};", ""]
    for name, body in attr_variants(spec):
        hoisted: list[str] = []
        lines = list(declare("", body, 0, "", scope=f"attr_{name}", hoisted=hoisted))
        out += hoisted
        out.append(f"struct pybpf_attr_{name} {lines[0].removeprefix('struct ').lstrip()}")
        out += lines[1:-1]
        out += ["};", ""]
    for struct in STRUCTS:
        try:
            t = spec.type_by_name(struct, Composite)
        except LookupError:
            if struct in OPTIONAL_STRUCTS:
                continue
            raise
        assert isinstance(t, Composite)
        keyword = "union" if isinstance(t, Union) else "struct"
        hoisted = []
        lines = list(declare("", t, 0, "", scope=struct.removeprefix("bpf_"), hoisted=hoisted))
        out += hoisted
        out.append(f"{keyword} pybpf_{struct.removeprefix('bpf_')} {{")
        out += lines[1:-1]
        out += ["};", ""]
    return "\n".join(out).rstrip() + "\n"


# --- main ---


def outputs(spec: Spec, kernel: str) -> dict[Path, str]:
    files = {}
    for layer, module, targets in ENUM_MODULES:
        path = ROOT / "packages" / f"pybpf-{layer}" / "src" / "pybpf" / layer / module
        files[path] = render_enums(targets, spec, kernel, perf=module == PERF_MODULE)
    files[HEADER] = render_header(spec, kernel)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--btf", type=Path, default=BLOB, help="BTF to read (raw or .xz)")
    parser.add_argument("--kernel", help="the release --btf came from (default: the blob's)")
    parser.add_argument(
        "--check", action="store_true", help="fail if a committed file differs from the blob's"
    )
    args = parser.parse_args()
    try:
        kernel = args.kernel or blob_kernel()
        files = outputs(read_blob(args.btf), kernel)
    except (GenerateError, LookupError, OSError) as exc:
        print(f"gen_uapi: {exc}", file=sys.stderr)
        return 1
    stale = 0
    for path, text in files.items():
        rel = path.relative_to(ROOT)
        if args.check:
            old = path.read_text() if path.exists() else ""
            if old != text:
                stale += 1
                diff = difflib.unified_diff(
                    old.splitlines(), text.splitlines(), str(rel), "generated", lineterm="", n=1
                )
                print("\n".join(list(diff)[:40]))
            continue
        path.write_text(text)
        print(f"wrote {rel}")
    if stale:
        print(f"gen_uapi: {stale} file(s) stale: run `nox -s generate`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
