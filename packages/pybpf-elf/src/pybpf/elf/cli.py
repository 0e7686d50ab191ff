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


def _table(header: Sequence[str], rows: list[list[str]], numeric: frozenset[int]) -> list[str]:
    """Rows under a header line, each column as wide as its widest cell.

    Columns whose index is in ``numeric`` are right-aligned; an empty table
    says so under its header.
    """
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return ("  " + "  ".join(padded)).rstrip()

    return [line(header), *(line(row) for row in rows)] if rows else [line(header), "  (none)"]


def _text(doc: dict[str, Any]) -> str:
    programs = [
        [
            name,
            p["section"],
            p["type"],
            p["attach_type"] or "-",
            str(p["insn_slots"]),
            p["license"] or "-",
        ]
        for name, p in doc["programs"].items()
    ]
    maps = [
        [
            name,
            m["type"],
            str(m["key_size"]),
            str(m["value_size"]),
            str(m["max_entries"]),
            f"{m['flags']:#x}",
            m["pinning"],
            m["inner_map"] or "-",
        ]
        for name, m in doc["maps"].items()
    ]
    variables = [
        [name, v["section"], str(v["offset"]), str(v["size"])]
        for name, v in doc["variables"].items()
    ]
    return "\n".join(
        [
            f"byte order: {doc['byte_order']}",
            "",
            "programs:",
            *_table(
                ["NAME", "SECTION", "TYPE", "ATTACH TYPE", "SLOTS", "LICENSE"],
                programs,
                frozenset({4}),
            ),
            "",
            "maps:",
            *_table(
                ["NAME", "TYPE", "KEY", "VALUE", "MAX ENTRIES", "FLAGS", "PINNING", "INNER MAP"],
                maps,
                frozenset({2, 3, 4}),
            ),
            "",
            "variables:",
            *_table(["NAME", "SECTION", "OFFSET", "SIZE"], variables, frozenset({2, 3})),
        ]
    )


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
