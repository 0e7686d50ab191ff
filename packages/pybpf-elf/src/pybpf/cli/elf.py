"""``pybpf object show``, ``pybpf prog disasm`` and ``pybpf gen``: pybpf-elf's commands (offline).

Declarations only: what they run is in :mod:`pybpf.cli.elf_commands` and
:mod:`pybpf.cli.elf_gen`.
"""

from __future__ import annotations

import sys

from pybpf.cli.main import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


__all__ = ["COMMANDS"]


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a BPF ELF object (clang -target bpf -c)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _disasm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a BPF ELF object (clang -target bpf -c)")
    parser.add_argument("program", nargs="?", help="the program's name (default: every program)")
    parser.add_argument("--no-source", action="store_true", help="leave out the source lines")


def _gen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the module's name: writes NAME.py, class <Name>Objects")
    parser.add_argument("source", nargs="?", help="the BPF C source (or give --object)")
    parser.add_argument(
        "--output-dir", default=".", metavar="DIR", help="where to write (default: here)"
    )
    parser.add_argument("--clang", metavar="PATH", help="the clang to use (default: clang)")
    parser.add_argument(
        "--object",
        action="append",
        default=[],
        metavar="OBJ",
        help="a compiled object instead of the source (once per byte order)",
    )
    parser.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="NAME",
        help="also declare this C type (a ring buffer's record: event, struct event)",
    )
    parser.add_argument(
        "--object-file",
        action="store_true",
        help="write the objects beside the module (NAME-el.o, NAME-eb.o) instead of in it",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the files on disk differ from what would be written",
    )
    parser.usage = "pybpf gen NAME [SOURCE.c] [options] [-- CFLAGS ...]"
    _cflags_after_dashes(parser)


def _cflags_after_dashes(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` set aside what follows ``--`` as ``cflags`` (clang's flags).

    A positional ``nargs="*"`` would not do: argparse gives it its (empty)
    share as soon as it meets the source, so ``SOURCE --type T -- -DX``
    leaves ``-DX`` unrecognised.
    """
    parse = parser.parse_known_args

    def parse_known_args(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        cflags: list[str] = []
        if "--" in words:
            at = words.index("--")
            words, cflags = words[:at], words[at + 1 :]
        parsed, extra = parse(words, namespace)
        parsed.cflags = cflags
        return parsed, extra

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign,assignment]


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
    Command(
        "",
        "gen",
        "generate a typed Python module for a BPF C source (as bpf2go does for Go)",
        "pybpf.cli.elf_gen:gen",
        _gen_arguments,
        description=(
            "Compile SOURCE with clang for both byte orders (or take --object files) and "
            "write DIR/NAME.py: a class NAME-in-CamelCase + 'Objects' that loads the "
            "object and has its programs, maps and variables as attributes, and a Python "
            "class for each C type they hold. Run it again with --check in CI."
        ),
    ),
]
