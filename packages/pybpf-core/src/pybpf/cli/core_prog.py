"""``pybpf prog list|show|dump`` and ``pybpf btf list``: loaded programs and BTF objects."""

from __future__ import annotations

import argparse
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

from pybpf.cli.output import print_documents, print_json
from pybpf.core.inventory import btf_objects, program_code, programs
from pybpf.core.prog_info import ProgramInfo
from pybpf.core.program import Program
from pybpf.elf.names import program_type_name

__all__ = ["btf_list", "dump", "list_", "program_document", "show", "type_name"]


def type_name(t: object) -> str:
    """A program type as bpftool names it; a number for types this library does not know."""
    try:
        return program_type_name(t)  # type: ignore[arg-type]
    except ValueError:
        return str(t)


def _boot_time() -> float:
    # CLOCK_REALTIME - CLOCK_BOOTTIME: load times are ns since boot.
    return time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_BOOTTIME)


def program_document(info: ProgramInfo) -> dict[str, Any]:
    """One program with bpftool's ``-j prog show`` field names."""
    doc: dict[str, Any] = {
        "id": info.id,
        "type": type_name(info.type),
        "name": info.name,
        "tag": info.tag,
        "gpl_compatible": info.gpl_compatible,
        "loaded_at": int(_boot_time() + info.load_time_ns / 1e9),
        "uid": info.created_by_uid,
        "bytes_xlated": info.xlated_size,
        "jited": bool(info.jited_size),
        "bytes_jited": info.jited_size,
        "map_ids": list(info.map_ids),
    }
    if info.btf_id:
        doc["btf_id"] = info.btf_id
    if info.run_time_ns or info.run_count:
        doc["run_time_ns"] = info.run_time_ns
        doc["run_cnt"] = info.run_count
    if info.recursion_misses:
        doc["recursion_misses"] = info.recursion_misses
    if info.verified_insns is not None:
        doc["verified_insns"] = info.verified_insns
    return doc


def _text(doc: dict[str, Any]) -> list[str]:
    head = f"{doc['id']}: {doc['type']}  name {doc['name'] or '-'}  tag {doc['tag']}"
    if doc["gpl_compatible"]:
        head += "  gpl"
    if "run_cnt" in doc:
        head += f"  run_time_ns {doc['run_time_ns']} run_cnt {doc['run_cnt']}"
    loaded = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(doc["loaded_at"]))
    second = f"\tloaded_at {loaded}  uid {doc['uid']}"
    third = f"\txlated {doc['bytes_xlated']}B"
    third += f"  jited {doc['bytes_jited']}B" if doc["jited"] else "  not jited"
    if doc["map_ids"]:
        third += f"  map_ids {','.join(map(str, doc['map_ids']))}"
    if "btf_id" in doc:
        third += f"  btf_id {doc['btf_id']}"
    return [head, second, third]


def list_(args: argparse.Namespace) -> int:
    """Every loaded program, as ``bpftool prog list`` shows them."""
    docs = [program_document(info) for info in programs()]
    print_documents(docs, _text, as_json=args.json)
    return 0


def show(args: argparse.Namespace) -> int:
    """One program, as ``bpftool prog show id N`` shows it."""
    with Program.from_id(args.id) as prog:
        doc = program_document(prog.info())
    print_documents(doc, _text, as_json=args.json)
    return 0


@cache
def _kernel_symbols() -> dict[int, str]:
    """Function addresses to names from /proc/kallsyms (empty when hidden)."""
    table: dict[int, str] = {}
    try:
        text = Path("/proc/kallsyms").read_text()
    except OSError:
        return table
    for line in text.splitlines():
        addr, kind, name = line.split()[:3]
        if kind in "tTwW" and int(addr, 16):
            table.setdefault(int(addr, 16), name)
    return table


def _name_calls(insns: Any) -> None:
    """Name helper calls: in translated code their immediate is an offset from __bpf_call_base."""
    symbols = _kernel_symbols()
    base = next((a for a, n in symbols.items() if n == "__bpf_call_base"), None)
    if base is None:
        return
    for insn in insns:
        if insn.opcode == 0x85 and insn.src == 0:
            name = symbols.get(base + insn.constant)
            if name is not None:
                insn.reference = name


def _name_maps(insns: Any, prog_id: int) -> None:
    """Name map loads: in translated code an LD_IMM64's low half holds the map's id."""
    from pybpf.asm.opcodes import PseudoSource  # noqa: PLC0415 (only this command needs it)
    from pybpf.core.map import Map  # noqa: PLC0415

    with Program.from_id(prog_id) as prog:
        ids = prog.info().map_ids
    names: dict[int, str] = {}
    for map_id in ids:
        try:
            with Map.from_id(map_id) as m:
                names[map_id] = m.info().name
        except OSError:
            continue  # gone, or not ours to open: the id stays
    for insn in insns:
        if insn.is_ld_imm64 and insn.src in (PseudoSource.MAP_FD, PseudoSource.MAP_VALUE):
            name = names.get(insn.constant & 0xFFFFFFFF)
            if name:
                insn.reference = name


def dump(args: argparse.Namespace) -> int:
    """A program's translated instructions (with source lines) or JIT code."""
    from pybpf.asm.instructions import decode  # noqa: PLC0415 (only this command needs it)
    from pybpf.cli.listing import listing_lines  # noqa: PLC0415

    code = program_code(args.id)
    if args.jited:
        if args.json:
            print_json({"id": args.id, "jited": code.jited.hex()})
            return 0
        for off in range(0, len(code.jited), 16):
            chunk = code.jited[off : off + 16]
            print(f"{off:>6x}: {' '.join(f'{b:02x}' for b in chunk)}")
        return 0
    insns = decode(code.xlated, sys.byteorder, strict=False)
    _name_calls(insns)
    _name_maps(insns, args.id)
    if args.json:
        from pybpf.asm.disasm import format_instruction  # noqa: PLC0415

        out = []
        for slot, insn in insns.offsets():
            entry: dict[str, Any] = {}
            if slot in code.lines:  # bpftool's field names
                file, number, column, text = code.lines[slot]
                entry = {"src": text.strip(), "file": file, "line_num": number}
                if column:
                    entry["line_col"] = column
            entry["disasm"] = format_instruction(insn)
            out.append(entry)
        print_json(out)
        return 0
    sources = {slot: (f, line, text) for slot, (f, line, _col, text) in code.lines.items()}
    for line in listing_lines(insns, sources):
        print(line)
    return 0


def btf_list(args: argparse.Namespace) -> int:
    """Every BTF object in the kernel, as ``bpftool btf list`` shows them (without users)."""
    docs = [
        {"id": b.id, "size": b.size, "kernel": b.kernel_btf, "name": b.name} for b in btf_objects()
    ]
    if args.json:
        print_json(docs)
    else:
        for doc in docs:
            name = f"  name {doc['name']}" if doc["name"] else ""
            print(f"{doc['id']}: size {doc['size']}B{name}{'  kernel' if doc['kernel'] else ''}")
    return 0
