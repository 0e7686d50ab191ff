"""``pybpf link list|show``: the kernel's links, with bpftool's names and fields."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import socket
from typing import Any

from pybpf.cli.output import print_documents
from pybpf.elf import AttachType
from pybpf.elf.names import attach_type_name
from pybpf.link import Link, LinkInfo, LinkType, links

__all__ = ["link_document", "list_", "show"]

# bpftool's JSON names of the LinkInfo fields that differ from ours.
_BPFTOOL_NAMES = {
    "program_id": "prog_id",
    "tracepoint": "tp_name",
    "target_object_id": "target_obj_id",
    "netns_inode": "netns_ino",
    "family": "pf",
    "priority": "prio",
    "function": "func",
    "address": "addr",
    "path": "path",
    "target": "target_name",
}


def _value(value: Any) -> Any:
    if isinstance(value, AttachType):
        return attach_type_name(value)
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def link_document(info: LinkInfo) -> dict[str, Any]:
    """One link with bpftool's ``-j link show`` field names; fields not reported are left out."""
    doc: dict[str, Any] = {"id": info.id}
    for f in dataclasses.fields(info):
        value = getattr(info, f.name)
        if value is None or f.name == "id":
            continue
        if f.name == "type":
            value = value.name.lower() if isinstance(value, LinkType) else str(value)
        doc[_BPFTOOL_NAMES.get(f.name, f.name)] = _value(value)
    ifindex = doc.get("ifindex")
    if isinstance(ifindex, int) and ifindex:
        with contextlib.suppress(OSError):  # the interface went away
            doc["devname"] = socket.if_indextoname(ifindex)
    return doc


def _text(doc: dict[str, Any]) -> list[str]:
    head = f"{doc['id']}: {doc['type']}  prog {doc['prog_id']}"
    rest = [
        f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in doc.items()
        if k not in ("id", "type", "prog_id") and v not in ((), [])
    ]
    return [head] + (["\t" + "  ".join(rest)] if rest else [])


def list_(args: argparse.Namespace) -> int:
    """Every link, as ``bpftool link list`` shows them."""
    print_documents([link_document(info) for info in links()], _text, as_json=args.json)
    return 0


def show(args: argparse.Namespace) -> int:
    """One link, as ``bpftool link show id N`` shows it."""
    with Link.from_id(args.id) as link:
        doc = link_document(link.info())
    print_documents(doc, _text, as_json=args.json)
    return 0
