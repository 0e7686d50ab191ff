"""The live commands pybpf-core brings: programs, maps, BTF and features of the running kernel.

Every one needs bpf(2), so root (or CAP_BPF with CAP_SYS_ADMIN/CAP_PERFMON).
"""

from __future__ import annotations

from pybpf.cli.main import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable


__all__ = ["COMMANDS"]


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (bpftool's field names)")


def _id(what: str) -> Callable[[argparse.ArgumentParser], None]:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("id", type=int, help=f"the {what}'s id (see 'pybpf {what} list')")
        _json(parser)

    return add


def _prog_dump(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int, help="the program's id (see 'pybpf prog list')")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--xlated", action="store_true", help="the kernel's translated instructions (default)"
    )
    which.add_argument("--jited", action="store_true", help="the JIT's machine code, as hex")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _top(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    parser.add_argument("--once", action="store_true", help="print one snapshot and exit")
    parser.add_argument("--json", action="store_true", help="with --once: the snapshot as JSON")
    parser.add_argument(
        "--sort",
        choices=("cpu", "runs", "avg", "time", "id", "name"),
        default="cpu",
        help="sort by this column (default: CPU share)",
    )


def _probe(parser: argparse.ArgumentParser) -> None:
    _json(parser)
    parser.add_argument(
        "--only",
        choices=("program_types", "map_types", "attach_types", "helpers", "misc"),
        action="append",
        help="probe only these sections (repeatable)",
    )


COMMANDS = [
    Command(
        "prog", "list", "the programs loaded in the kernel", "pybpf.cli.core_prog:list_", _json
    ),
    Command(
        "prog", "show", "one loaded program in detail", "pybpf.cli.core_prog:show", _id("prog")
    ),
    Command(
        "prog",
        "dump",
        "a loaded program's translated instructions with source lines, or its JIT code",
        "pybpf.cli.core_prog:dump",
        _prog_dump,
    ),
    Command("map", "list", "the maps in the kernel", "pybpf.cli.core_map:list_", _json),
    Command("map", "show", "one map in detail", "pybpf.cli.core_map:show", _id("map")),
    Command(
        "map",
        "dump",
        "a map's keys and values, decoded through its BTF",
        "pybpf.cli.core_map:dump",
        _id("map"),
    ),
    Command("btf", "list", "the BTF objects in the kernel", "pybpf.cli.core_prog:btf_list", _json),
    Command(
        "feature",
        "probe",
        "what this kernel offers: program, map, attach and helper types, links",
        "pybpf.cli.core_feature:probe",
        _probe,
    ),
    Command(
        "",
        "top",
        "a live view of the BPF programs running: runs, time, CPU share (BPF_ENABLE_STATS)",
        "pybpf.cli.core_top:top",
        _top,
    ),
]
