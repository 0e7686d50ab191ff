"""``pybpf object show`` and ``pybpf prog disasm``: the commands pybpf-elf brings (offline).

Declarations only: what they run is in :mod:`pybpf.cli.elf_commands`.
"""

from __future__ import annotations

from pybpf.cli.main import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


__all__ = ["COMMANDS"]


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a BPF ELF object (clang -target bpf -c)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _disasm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a BPF ELF object (clang -target bpf -c)")
    parser.add_argument("program", nargs="?", help="the program's name (default: every program)")
    parser.add_argument("--no-source", action="store_true", help="leave out the source lines")


COMMANDS = [
    Command(
        "object",
        "show",
        "the programs, maps, variables and externs of a BPF object file",
        "pybpf.cli.elf_commands:show",
        _show_arguments,
    ),
    Command(
        "prog",
        "disasm",
        "disassemble an object file's programs, C source lines interleaved",
        "pybpf.cli.elf_commands:disasm",
        _disasm_arguments,
    ),
]
