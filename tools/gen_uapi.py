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
    """One Python enum class generated from one kernel enum."""

    cls: str
    c_enum: str
    prefix: str
    doc: str


# (layer, module, enums): the enum modules, one per layer that first needs them.
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
        ],
    ),
    (
        "core",
        "_uapi.py",
        [
            EnumTarget("Command", "bpf_cmd", "BPF_", "bpf(2) commands (``enum bpf_cmd``)."),
            EnumTarget(
                "LinkType",
                "bpf_link_type",
                "BPF_LINK_TYPE_",
                "Link types (``enum bpf_link_type``).",
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
# Kernel structs declared whole, under pybpf_ names so that the compiled
# module never clashes with a system <linux/bpf.h>.
STRUCTS = [
    "bpf_prog_info",
    "bpf_map_info",
    "bpf_btf_info",
    "bpf_link_info",
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


def kernel_enum(spec: Spec, name: str) -> list[tuple[str, int]]:
    t = spec.type_by_name(name, Enum)
    assert isinstance(t, Enum)
    return [(v.name, v.value) for v in t.values]


def canonical_first(members: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Aliases after the name the kernel means: ``CGROUP_STORAGE`` before its
    ``_DEPRECATED`` twin, so that ``MapType(19).name`` is the current name."""
    deprecated = [m for m in members if m[0].endswith("_DEPRECATED")]
    seen_values = {v for n, v in members if not n.endswith("_DEPRECATED")}
    kept = [m for m in members if not m[0].endswith("_DEPRECATED")]
    out = list(kept)
    for name, value in deprecated:
        # Keep the deprecated name as an alias, after the canonical one.
        at = next((i + 1 for i, (_, v) in enumerate(out) if v == value), len(out))
        out.insert(at, (name, value))
        seen_values.add(value)
    return out


def render_enums(targets: list[EnumTarget], spec: Spec, kernel: str) -> str:
    out = [
        f'"""Kernel UAPI numbers, generated by tools/gen_uapi.py from the BTF of Linux {kernel}.',
        "",
        "Do not edit: run ``nox -s generate`` instead.",
        '"""',
        "",
        "import enum",
        "",
    ]
    for target in targets:
        out += ["", f"class {target.cls}(enum.IntEnum):", f'    """{target.doc}"""', ""]
        for name, value in canonical_first(kernel_enum(spec, target.c_enum)):
            if name.startswith("__") or not name.startswith(target.prefix):
                continue
            short = name[len(target.prefix) :]
            if short[0].isdigit():
                short = "_" + short
            out.append(f"    {short} = {value}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- structs ---


def c_int(t: Int | Enum) -> str:
    signed = t.signed if isinstance(t, Enum) else bool(t.encoding & IntEncoding.SIGNED)
    if isinstance(t, Int) and (t.encoding & IntEncoding.CHAR or t.name == "char"):
        return "char"
    if t.size not in (1, 2, 4, 8):
        raise GenerateError(f"no fixed-width C type of {t.size} bytes for {t.name!r}")
    return f"{'' if signed else 'u'}int{t.size * 8}_t"


def declare(name: str, t: Type, bits: int, indent: str) -> Iterator[str]:
    """The C lines declaring a field ``name`` of type ``t``."""
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
        yield f"{indent}{keyword} {{"
        for member in u.members:
            yield from declare(member.name, member.type, member.bitfield_size, indent + "    ")
        yield f"{indent}}}{' ' + name if name else ''};"
    else:
        raise GenerateError(f"field {name!r}: cannot spell {u!r} in a cffi declaration")


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
        " * variant is a struct of its own, `struct pybpf_attr_<command>`.",
        " */",
        "",
    ]
    for name, body in attr_variants(spec):
        lines = list(declare("", body, 0, ""))
        out.append(f"struct pybpf_attr_{name} {lines[0].removeprefix('struct ').lstrip()}")
        out += lines[1:-1]
        out += ["};", ""]
    for struct in STRUCTS:
        try:
            t = spec.type_by_name(struct, Struct)
        except LookupError:
            if struct in OPTIONAL_STRUCTS:
                continue
            raise
        assert isinstance(t, Struct)
        lines = list(declare("", t, 0, ""))
        out.append(f"struct pybpf_{struct.removeprefix('bpf_')} {{")
        out += lines[1:-1]
        out += ["};", ""]
    return "\n".join(out).rstrip() + "\n"


# --- main ---


def outputs(spec: Spec, kernel: str) -> dict[Path, str]:
    files = {}
    for layer, module, targets in ENUM_MODULES:
        path = ROOT / "packages" / f"pybpf-{layer}" / "src" / "pybpf" / layer / module
        files[path] = render_enums(targets, spec, kernel)
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
