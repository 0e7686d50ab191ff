"""The live commands pybpf-link brings: ``pybpf link list|show``, like ``bpftool link``.

They need bpf(2) and CAP_SYS_ADMIN (opening links by id).
"""

from __future__ import annotations

from pybpf.cli.main import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

__all__ = ["COMMANDS"]


def _list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (bpftool's field names)")


def _show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int, help="the link's id (see 'pybpf link list')")
    _list(parser)


COMMANDS = [
    Command("link", "list", "the links in the kernel", "pybpf.cli.link_commands:list_", _list),
    Command("link", "show", "one link in detail", "pybpf.cli.link_commands:show", _show),
]
