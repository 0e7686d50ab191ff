"""``python -m pybpf.elf FILE [--json]``: what an object file holds."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from pybpf.elf.errors import ELFError
from pybpf.elf.names import attach_type_name, map_type_name, program_type_name
from pybpf.elf.reader import load_collection_spec
from pybpf.elf.spec import CollectionSpec

__all__ = ["main", "summary"]


def summary(spec: CollectionSpec) -> dict[str, Any]:
    """The spec as the JSON document ``--json`` prints."""
    return {
        "byte_order": spec.byte_order,
        "programs": {
            name: {
                "section": p.section,
                "type": program_type_name(p.type),
                "attach_type": (
                    attach_type_name(p.attach_type) if p.attach_type is not None else None
                ),
                "insn_slots": p.own_slots,
                "license": p.license,
            }
            for name, p in spec.programs.items()
        },
        "maps": {
            name: {
                "type": map_type_name(m.type),
                "key_size": m.key_size,
                "value_size": m.value_size,
                "max_entries": m.max_entries,
                "flags": m.flags,
                "pinning": m.pinning.name.lower(),
                "inner_map": m.inner_map.name if m.inner_map is not None else None,
            }
            for name, m in spec.maps.items()
        },
        "variables": {
            name: {"section": v.section, "offset": v.offset, "size": v.size}
            for name, v in spec.variables.items()
        },
    }


def _text(doc: dict[str, Any]) -> str:
    lines = [f"byte order: {doc['byte_order']}", "", "programs:"]
    progs = doc["programs"]
    name_w = max((len(n) for n in [*progs, *doc["maps"], *doc["variables"]]), default=0) + 2
    sec_w = max((len(p["section"]) for p in progs.values()), default=0) + 2
    for name, p in progs.items():
        attach = p["attach_type"] or "-"
        lines.append(
            f"  {name:<{name_w}}{p['section']:<{sec_w}}{p['type']:<18} {attach:<31}"
            f"{p['insn_slots']:>6} slots  {p['license']}"
        )
    lines += ["", "maps:"]
    for name, m in doc["maps"].items():
        inner = f" inner={m['inner_map']}" if m["inner_map"] else ""
        pin = f" pinning={m['pinning']}" if m["pinning"] != "none" else ""
        lines.append(
            f"  {name:<{name_w}}{m['type']:<22} key={m['key_size']:<4} value={m['value_size']:<6} "
            f"max_entries={m['max_entries']:<8} flags={m['flags']:#x}{pin}{inner}"
        )
    lines += ["", "variables:"]
    for name, v in doc["variables"].items():
        lines.append(
            f"  {name:<{name_w}}{v['section']:<16} offset={v['offset']:<6} size={v['size']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the CollectionSpec of FILE; exit status 1 for a file pybpf cannot read."""
    parser = argparse.ArgumentParser(
        prog="python -m pybpf.elf",
        description="Show the programs, maps and variables of a BPF object.",
    )
    parser.add_argument("file", help="a BPF ELF object (clang -target bpf)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    try:
        spec = load_collection_spec(args.file)
    except (ELFError, OSError) as e:
        print(f"{args.file}: {e}", file=sys.stderr)
        return 1
    doc = summary(spec)
    try:
        print(json.dumps(doc, indent=2) if args.json else _text(doc), flush=True)
    except BrokenPipeError:
        # Piped into head: not an error. Keep the interpreter from complaining
        # again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
