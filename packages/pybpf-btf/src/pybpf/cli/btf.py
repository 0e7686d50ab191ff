"""``pybpf btf dump`` and ``pybpf btf diff``: the commands pybpf-btf brings.

Declarations only: what they run is in :mod:`pybpf.cli.btf_commands`.
"""

from __future__ import annotations

from pybpf.cli.main import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


__all__ = ["COMMANDS"]


def _file_argument(parser: argparse.ArgumentParser, name: str, what: str) -> None:
    parser.add_argument(
        name, help=f"{what}: raw BTF, an ELF object, or 'vmlinux' (the running kernel's)"
    )


def _dump_arguments(parser: argparse.ArgumentParser) -> None:
    _file_argument(parser, "file", "what to dump")
    parser.add_argument("--format", choices=("raw", "c", "json"), default="raw")
    parser.add_argument("--type", metavar="NAME", help="only the types called NAME")
    parser.add_argument(
        "--pretty", action="store_true", help="indent the JSON (compact by default, as bpftool -j)"
    )
    parser.add_argument("--base", help="the base BTF of a split BTF file")


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    _file_argument(parser, "old", "the old BTF")
    _file_argument(parser, "new", "the new BTF")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


COMMANDS = [
    Command(
        "btf",
        "dump",
        "print the types of a BTF file, an ELF object or vmlinux (raw, C or JSON)",
        "pybpf.cli.btf_commands:dump",
        _dump_arguments,
    ),
    Command(
        "btf",
        "diff",
        "named types added, removed or changed between two BTF blobs (e.g. two kernels)",
        "pybpf.cli.btf_commands:diff",
        _diff_arguments,
    ),
]
