"""What ``pybpf object show`` and ``pybpf prog disasm`` run (declared in :mod:`pybpf.cli.elf`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pybpf.cli.main import CommandError

if TYPE_CHECKING:
    from pybpf.elf.spec import CollectionSpec, VariableSpec

__all__ = ["disasm", "jsonable", "object_document", "read_object", "show"]


def read_object(path: Path) -> CollectionSpec:
    """The CollectionSpec of a BPF ELF object, or a :class:`CommandError` saying why not."""
    from pybpf.elf.reader import load_collection_spec  # noqa: PLC0415 (lazy: start-up time)

    if not path.is_file():
        raise CommandError(f"{path}: no such file", "give a BPF object (clang -target bpf -c)")
    return load_collection_spec(path)


def jsonable(value: Any) -> Any:
    """A decoded BTF value as JSON: records as objects, bytes as lists of numbers (as bpftool)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return list(bytes(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    names = getattr(value, "__btf_fields__", None)  # a btf codec Record
    if names is not None:
        return {n: jsonable(getattr(value, n)) for n in names}
    return str(value)


def _initial_value(var: VariableSpec) -> Any:
    try:
        return jsonable(var.get())
    except (ValueError, LookupError, TypeError):
        return None  # .bss, .kconfig, or a type the codec does not decode


def object_document(spec: CollectionSpec) -> dict[str, Any]:
    """What ``pybpf object show --json`` prints: ``python -m pybpf.elf``'s summary and more.

    Programs add their attach target and instruction count, maps their BTF
    key and value types, variables their type and initial value, and
    ``externs`` lists the extern symbols the loader resolves against the kernel.
    """
    from pybpf.cli.btf_text import type_text  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.elf.cli import summary  # noqa: PLC0415
    from pybpf.elf.spec import Extern  # noqa: PLC0415

    doc = summary(spec)
    for name, prog in spec.programs.items():
        doc["programs"][name]["attach_to"] = prog.attach_to or None
        doc["programs"][name]["instructions"] = len(prog.instructions)
    for name, m in spec.maps.items():
        doc["maps"][name]["key_type"] = type_text(m.key_type) if m.key_type else None
        doc["maps"][name]["value_type"] = type_text(m.value_type) if m.value_type else None
    for name, v in spec.variables.items():
        doc["variables"][name]["type"] = type_text(v.type) if v.type else None
        doc["variables"][name]["value"] = _initial_value(v)
    externs: dict[str, dict[str, Any]] = {}
    for prog in spec.programs.values():
        for insn in prog.instructions:
            ext = insn.get_metadata(Extern)
            if isinstance(ext, Extern) and ext.name not in externs:
                externs[ext.name] = {
                    "kind": ext.kind.value,
                    "type": type_text(ext.type) if ext.type is not None else None,
                    "weak": ext.weak,
                }
    for name, v in spec.variables.items():
        if v.section == ".kconfig" and name not in externs:
            externs[name] = {"kind": "kconfig", "type": doc["variables"][name]["type"]}
            externs[name]["weak"] = False
    doc["externs"] = dict(sorted(externs.items()))
    return doc


def show(args: argparse.Namespace) -> int:
    """Print the programs, maps, variables and externs of an object file."""
    from pybpf.cli.output import print_json  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.elf.cli import main as elf_main  # noqa: PLC0415

    spec = read_object(Path(args.file))
    doc = object_document(spec)
    if args.json:
        print_json(doc)
        return 0
    status = elf_main([str(args.file)])
    if doc["externs"]:
        print("\nexterns:")
        width = max(len(n) for n in doc["externs"]) + 2
        for name, ext in doc["externs"].items():
            weak = " weak" if ext["weak"] else ""
            print(f"  {name:<{width}}{ext['kind']:<9}{ext['type'] or '-'}{weak}")
    return status


def disasm(args: argparse.Namespace) -> int:
    """Print each program's instructions, with the C source lines from BTF line info."""
    from pybpf.btf.ext.records import LineInfo  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.cli.listing import SourceLine, listing_lines  # noqa: PLC0415

    spec = read_object(Path(args.file))
    programs = spec.programs
    if args.program is not None:
        if args.program not in programs:
            names = ", ".join(sorted(programs)) or "none"
            raise CommandError(
                f"{args.file}: no program {args.program!r}", f"the object has: {names}"
            )
        programs = {args.program: programs[args.program]}
    first = True
    for name, prog in programs.items():
        sources: dict[int, SourceLine] = {}
        if not args.no_source:
            for slot, insn in prog.instructions.offsets():
                rec = insn.get_metadata(LineInfo)
                if isinstance(rec, LineInfo) and rec.line.strip():
                    sources[slot] = (rec.file, rec.line_number, rec.line)
        if not first:
            print()
        first = False
        print(f"{name} ({prog.section}):")
        for line in listing_lines(prog.instructions, sources, {0: ""}):
            print(line)
    return 0
