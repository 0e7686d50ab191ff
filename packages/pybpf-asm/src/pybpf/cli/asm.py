"""``pybpf asm ...``: the commands pybpf-asm brings (raw instructions, no ELF)."""

from __future__ import annotations

import sys

from pybpf.cli.main import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


__all__ = ["COMMANDS", "disasm"]


def _disasm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="raw instructions, 8 bytes each ('-' reads stdin)")
    parser.add_argument("--byteorder", choices=("little", "big"), default=sys.byteorder)
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="show instructions the UAPI does not define (the kernel's internal ones) as they are",
    )


def disasm(args: argparse.Namespace) -> int:
    """Print the instructions of a raw instruction stream."""
    from pybpf.asm.instructions import decode  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.cli.listing import listing_lines  # noqa: PLC0415

    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.file, "rb") as f:
            data = f.read()
    for line in listing_lines(decode(data, args.byteorder, strict=not args.lenient)):
        print(line)
    return 0


COMMANDS = [
    Command(
        "asm",
        "disasm",
        "disassemble raw eBPF instructions (e.g. bpftool prog dump xlated ... file F)",
        "pybpf.cli.asm:disasm",
        _disasm_arguments,
    ),
]
