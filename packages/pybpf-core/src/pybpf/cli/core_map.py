"""``pybpf map list|show|dump``: the maps in the kernel, their contents decoded through BTF."""

from __future__ import annotations

import argparse
from typing import Any

from pybpf.cli.elf_commands import jsonable
from pybpf.cli.main import CommandError
from pybpf.cli.output import print_documents, print_json
from pybpf.core.info import MapInfo
from pybpf.core.inventory import maps
from pybpf.core.map import Map
from pybpf.elf.names import map_type_name

__all__ = ["dump", "list_", "map_document", "map_type_text", "show"]


def map_type_text(t: object) -> str:
    """A map type as bpftool names it; a number for types this library does not know."""
    try:
        return map_type_name(t)  # type: ignore[arg-type]
    except ValueError:
        return str(t)


def map_document(info: MapInfo) -> dict[str, Any]:
    """One map with bpftool's ``-j map show`` field names."""
    doc: dict[str, Any] = {
        "id": info.id,
        "type": map_type_text(info.type),
        "name": info.name,
        "flags": int(info.flags),
        "bytes_key": info.key_size,
        "bytes_value": info.value_size,
        "max_entries": info.max_entries,
    }
    if info.btf_id:
        doc["btf_id"] = info.btf_id
    return doc


def _text(doc: dict[str, Any]) -> list[str]:
    head = f"{doc['id']}: {doc['type']}  name {doc['name'] or '-'}  flags {doc['flags']:#x}"
    body = (
        f"\tkey {doc['bytes_key']}B  value {doc['bytes_value']}B  max_entries {doc['max_entries']}"
    )
    if "btf_id" in doc:
        body += f"  btf_id {doc['btf_id']}"
    return [head, body]


def list_(args: argparse.Namespace) -> int:
    """Every map, as ``bpftool map list`` shows them."""
    docs = [map_document(info) for info in maps()]
    print_documents(docs, _text, as_json=args.json)
    return 0


def show(args: argparse.Namespace) -> int:
    """One map, as ``bpftool map show id N`` shows it."""
    with Map.from_id(args.id) as m:
        doc = map_document(m.info())
    print_documents(doc, _text, as_json=args.json)
    return 0


def _hex(data: bytes) -> list[str]:
    return [f"{b:#04x}" for b in data]


def _entry(m: Map, key: bytes, value: Any, formatted: bool) -> dict[str, Any]:
    """One entry as ``bpftool -j map dump`` prints it: raw bytes, then decoded through BTF."""
    entry: dict[str, Any] = {"key": _hex(key)}
    if m.per_cpu:
        entry["values"] = [{"cpu": cpu, "value": _hex(v)} for cpu, v in enumerate(value)]
    else:
        entry["value"] = _hex(value)
    if formatted:
        decode_value = m.value_codec.decode
        shown: dict[str, Any] = {"key": jsonable(m.key_codec.decode(key))}
        if m.per_cpu:
            shown["values"] = [
                {"cpu": cpu, "value": jsonable(decode_value(v))} for cpu, v in enumerate(value)
            ]
        else:
            shown["value"] = jsonable(decode_value(value))
        entry["formatted"] = shown
    return entry


def dump(args: argparse.Namespace) -> int:
    """Every entry of a map: keys and values decoded through the map's BTF, per CPU if so."""
    with Map.from_id(args.id) as m:
        info = m.info()
        formatted = bool(info.btf_id and (info.btf_key_type_id or info.btf_value_type_id))
        try:
            entries = [_entry(m, k, v, formatted) for k, v in m.raw.items()]
        except (NotImplementedError, TypeError) as e:
            raise CommandError(
                f"map {args.id} ({map_type_text(m.type)}): cannot dump: {e}",
                "maps without keys (ring buffers, queues) are read by their own readers",
            ) from e
    if args.json:
        print_json(entries)
        return 0
    for entry in entries:
        shown = entry.get("formatted", entry)
        if "values" in shown:
            print(f"key: {shown['key']}")
            for v in shown["values"]:
                print(f"  cpu {v['cpu']}: {v['value']}")
        else:
            print(f"key: {shown['key']}  value: {shown['value']}")
    print(f"Found {len(entries)} element{'s' if len(entries) != 1 else ''}")
    return 0
