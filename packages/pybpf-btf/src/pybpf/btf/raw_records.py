"""bpftool's raw and JSON dumps read straight from a blob's type records, by type id.

Decoding every :class:`~pybpf.btf.types.Type` of vmlinux to print it costs
far more than printing it: here each line comes from the record's words
(``RawBTF.words`` at ``RawBTF.offsets[id]``), the way bpftool walks them. It
applies to a spec loaded from bytes whose types were never decoded, so that
nothing edited since could be missed; :func:`record_lines` and
:func:`record_fields` return None otherwise and the caller renders the
decoded types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pybpf.btf.errors import BTFError, TypeNotFoundError
from pybpf.btf.parse import RawBTF
from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind

__all__ = ["record_fields", "record_lines"]

_KIND_NAMES = {kind.value: kind.name for kind in Kind}
_ENCODINGS = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_LINKAGES = {0: "static", 1: "global", 2: "extern"}
_TYPE_ONLY = frozenset(
    {Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG}
)


def _signed32(word: int) -> int:
    return word - (1 << 32) if word >> 31 else word


def _untouched(spec: Spec) -> RawBTF | None:
    """The spec's blob, when it is all of the spec and no type was decoded (or edited)."""
    raw = spec._raw
    types = spec._types
    if raw is None or raw.count != len(types) or any(t is not None for t in types):
        return None
    return raw


def record_lines(spec: Spec) -> Iterator[str] | None:
    """The spec's raw dump from its records, or None when it must come from decoded types."""
    raw = _untouched(spec)
    return None if raw is None else _lines(spec, raw)


def _lines(spec: Spec, raw: RawBTF) -> Iterator[str]:
    words, offsets, first = raw.words, raw.offsets, raw.first_id
    name = _namer(spec, raw)
    var_label = _var_label(spec, raw, name)
    for index, at in enumerate(offsets):
        info = words[at + 1]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kind_flag = info >> 31
        size_type = words[at + 2]
        head = f"[{first + index}] {_KIND_NAMES.get(kind, 'UNKN')} '{name(words[at])}'"
        if kind in _TYPE_ONLY:
            yield f"{head} type_id={size_type}"
        elif kind == Kind.INT:
            w = words[at + 3]
            encoding = _ENCODINGS.get((w >> 24) & 0x0F, "UNKN")
            yield (
                f"{head} size={size_type} bits_offset={(w >> 16) & 0xFF} "
                f"nr_bits={w & 0xFF} encoding={encoding}"
            )
        elif kind in (Kind.STRUCT, Kind.UNION):
            yield f"{head} size={size_type} vlen={vlen}"
            for m in range(at + 3, at + 3 + 3 * vlen, 3):
                offset = words[m + 2]
                if kind_flag and offset >> 24:
                    yield (
                        f"\t'{name(words[m])}' type_id={words[m + 1]} "
                        f"bits_offset={offset & 0xFFFFFF} bitfield_size={offset >> 24}"
                    )
                else:
                    bits = offset & 0xFFFFFF if kind_flag else offset
                    yield f"\t'{name(words[m])}' type_id={words[m + 1]} bits_offset={bits}"
        elif kind == Kind.ARRAY:
            yield (
                f"{head} type_id={words[at + 3]} index_type_id={words[at + 4]} "
                f"nr_elems={words[at + 5]}"
            )
        elif kind == Kind.FUNC_PROTO:
            yield f"{head} ret_type_id={size_type} vlen={vlen}"
            for p in range(at + 3, at + 3 + 2 * vlen, 2):
                yield f"\t'{name(words[p])}' type_id={words[p + 1]}"
        elif kind == Kind.FUNC:
            yield f"{head} type_id={size_type} linkage={_LINKAGES[vlen]}"
        elif kind == Kind.ENUM:
            yield (
                f"{head} encoding={'SIGNED' if kind_flag else 'UNSIGNED'} "
                f"size={size_type} vlen={vlen}"
            )
            for v in range(at + 3, at + 3 + 2 * vlen, 2):
                value = _signed32(words[v + 1]) if kind_flag else words[v + 1]
                yield f"\t'{name(words[v])}' val={value}"
        elif kind == Kind.ENUM64:
            yield (
                f"{head} encoding={'SIGNED' if kind_flag else 'UNSIGNED'} "
                f"size={size_type} vlen={vlen}"
            )
            suffix = "LL" if kind_flag else "ULL"
            for v in range(at + 3, at + 3 + 3 * vlen, 3):
                value = (words[v + 2] << 32) | words[v + 1]
                if kind_flag and value >> 63:
                    value -= 1 << 64
                yield f"\t'{name(words[v])}' val={value}{suffix}"
        elif kind == Kind.FWD:
            yield f"{head} fwd_kind={'union' if kind_flag else 'struct'}"
        elif kind == Kind.VAR:
            yield f"{head} type_id={size_type}, linkage={_LINKAGES.get(words[at + 3], 'UNKN')}"
        elif kind == Kind.DATASEC:
            yield f"{head} size={size_type} vlen={vlen}"
            for s in range(at + 3, at + 3 + 3 * vlen, 3):
                var_id = words[s]
                yield (
                    f"\ttype_id={var_id} offset={words[s + 1]} size={words[s + 2]} "
                    f"({var_label(var_id)})"
                )
        elif kind == Kind.FLOAT:
            yield f"{head} size={size_type}"
        elif kind == Kind.DECL_TAG:
            yield f"{head} type_id={size_type} component_idx={_signed32(words[at + 3])}"
        else:
            yield head


def _namer(spec: Spec, raw: RawBTF) -> Callable[[int], str]:
    """The name at a string offset (this blob's or the base's), "(anon)" when empty."""
    base = spec.base
    # Every string that starts after a NUL, in one pass over the table; an
    # offset into the middle of a string (legal, if rare) is looked up alone.
    names: dict[int, str] = {}
    at = raw.base_strings_len
    for piece in raw.strings.split(b"\0"):
        names[at] = piece.decode("utf-8", "replace") or "(anon)"
        at += len(piece) + 1
    names[0] = "(anon)"

    def name(offset: int) -> str:
        found = names.get(offset)
        if found is None:
            own = raw.string(offset)
            if own is None:
                assert base is not None
                own = base._string_at(offset) or ""
            found = names[offset] = own or "(anon)"
        return found

    return name


def _var_label(spec: Spec, raw: RawBTF, name: Callable[[int], str]) -> Callable[[int], str]:
    """``KIND 'name'`` of the type a DATASEC entry points at."""
    words, offsets, first = raw.words, raw.offsets, raw.first_id

    def label(type_id: int) -> str:
        index = type_id - first
        if 0 <= index < len(offsets):
            at = offsets[index]
            kind = (words[at + 1] >> 24) & 0x1F
            return f"{_KIND_NAMES.get(kind, 'UNKN')} '{name(words[at])}'"
        try:
            t = spec.type_by_id(type_id)  # in the base of a split spec
        except TypeNotFoundError:
            raise BTFError(f"a DATASEC entry refers to type id {type_id}, which is none") from None
        return f"{t.kind.name} '{t.name or '(anon)'}'"

    return label


def record_fields(spec: Spec) -> Iterator[dict[str, Any]] | None:
    """``cli_dump.type_fields`` of every type, from the records; None as for record_lines."""
    raw = _untouched(spec)
    return None if raw is None else _fields(spec, raw)


def _fields(spec: Spec, raw: RawBTF) -> Iterator[dict[str, Any]]:
    words, offsets, first = raw.words, raw.offsets, raw.first_id
    name = _namer(spec, raw)
    for index, at in enumerate(offsets):
        info = words[at + 1]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kind_flag = info >> 31
        size_type = words[at + 2]
        out: dict[str, Any] = {
            "id": first + index,
            "kind": _KIND_NAMES.get(kind, "UNKN"),
            "name": name(words[at]),
        }
        if kind in _TYPE_ONLY:
            out["type_id"] = size_type
            if kind == Kind.TYPE_TAG:
                out["kind_flag"] = kind_flag
        elif kind == Kind.INT:
            w = words[at + 3]
            out["size"] = size_type
            out["bits_offset"] = (w >> 16) & 0xFF
            out["nr_bits"] = w & 0xFF
            out["encoding"] = _ENCODINGS.get((w >> 24) & 0x0F, "UNKN")
        elif kind in (Kind.STRUCT, Kind.UNION):
            members = []
            for m in range(at + 3, at + 3 + 3 * vlen, 3):
                offset = words[m + 2]
                member = {"name": name(words[m]), "type_id": words[m + 1]}
                if kind_flag:
                    member["bits_offset"] = offset & 0xFFFFFF
                    if offset >> 24:
                        member["bitfield_size"] = offset >> 24
                else:
                    member["bits_offset"] = offset
                members.append(member)
            out["size"] = size_type
            out["vlen"] = vlen
            out["members"] = members
        elif kind == Kind.ARRAY:
            out["type_id"] = words[at + 3]
            out["index_type_id"] = words[at + 4]
            out["nr_elems"] = words[at + 5]
        elif kind == Kind.FUNC_PROTO:
            params = [
                {"name": name(words[p]), "type_id": words[p + 1]}
                for p in range(at + 3, at + 3 + 2 * vlen, 2)
            ]
            out["ret_type_id"] = size_type
            out["vlen"] = vlen
            out["params"] = params
        elif kind in (Kind.FUNC, Kind.VAR):
            out["type_id"] = size_type
            linkage = vlen if kind == Kind.FUNC else words[at + 3]
            out["linkage"] = _LINKAGES.get(linkage, "UNKN")
        elif kind in (Kind.ENUM, Kind.ENUM64):
            values = []
            if kind == Kind.ENUM:
                for v in range(at + 3, at + 3 + 2 * vlen, 2):
                    value = _signed32(words[v + 1]) if kind_flag else words[v + 1]
                    values.append({"name": name(words[v]), "val": value})
            else:
                for v in range(at + 3, at + 3 + 3 * vlen, 3):
                    value = (words[v + 2] << 32) | words[v + 1]
                    if kind_flag and value >> 63:
                        value -= 1 << 64
                    values.append({"name": name(words[v]), "val": value})
            out["encoding"] = "SIGNED" if kind_flag else "UNSIGNED"
            out["size"] = size_type
            out["vlen"] = vlen
            out["values"] = values
        elif kind == Kind.FWD:
            out["fwd_kind"] = "union" if kind_flag else "struct"
        elif kind == Kind.DATASEC:
            out["size"] = size_type
            out["vlen"] = vlen
            out["vars"] = [
                {"type_id": words[s], "offset": words[s + 1], "size": words[s + 2]}
                for s in range(at + 3, at + 3 + 3 * vlen, 3)
            ]
        elif kind == Kind.FLOAT:
            out["size"] = size_type
        elif kind == Kind.DECL_TAG:
            out["type_id"] = size_type
            out["component_idx"] = _signed32(words[at + 3])
            out["kind_flag"] = kind_flag
        yield out
