"""bpftool's raw and JSON dumps read straight from a blob's type records, by type id.

Decoding every :class:`~pybpf.btf.types.Type` of vmlinux to print it costs
far more than printing it: here each line comes from the record's words
(``RawBTF.words`` at ``RawBTF.offsets[id]``), the way bpftool walks them. It
applies to a spec loaded from bytes whose types were never decoded, so that
nothing edited since could be missed; the functions here return None
otherwise and the caller renders the decoded types.

The text is made in batches of records, each one string, so that a dump
costs one write per batch rather than one per line; the JSON is written as
text too (what ``json.dumps`` makes of :func:`record_fields`, without
building a dict per type first). Where pybpf-core's compiled scan is
installed (see :func:`pybpf.btf.parse._compiled_scan`), its ``dump`` makes
each batch's text from the same words in C; a batch it declines (a name that
is not ASCII or not in the blob's own table, a DATASEC entry naming a type of
the base or none) is made here, so the text is the same either way.
"""

from __future__ import annotations

import itertools
import json
from array import array
from collections.abc import Callable, Iterator
from json.encoder import encode_basestring_ascii
from typing import Any

from pybpf.btf.errors import BTFError, TypeNotFoundError
from pybpf.btf.parse import RawBTF, _compiled_scan
from pybpf.btf.spec import Spec
from pybpf.btf.types import Kind

__all__ = ["record_fields", "record_json", "record_lines", "record_text"]

_KIND_NAMES = {kind.value: kind.name for kind in Kind}
_ENCODINGS = {0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}
_LINKAGES = {0: "static", 1: "global", 2: "extern"}
_TYPE_ONLY = frozenset(
    {Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG}
)
# Kinds as plain ints for the per-record dispatch.
_INT, _ARRAY, _STRUCT, _UNION = int(Kind.INT), int(Kind.ARRAY), int(Kind.STRUCT), int(Kind.UNION)
_ENUM, _FWD, _FUNC, _FUNC_PROTO = (
    int(Kind.ENUM),
    int(Kind.FWD),
    int(Kind.FUNC),
    int(Kind.FUNC_PROTO),
)
_VAR, _DATASEC, _FLOAT = int(Kind.VAR), int(Kind.DATASEC), int(Kind.FLOAT)
_DECL_TAG, _TYPE_TAG, _ENUM64 = int(Kind.DECL_TAG), int(Kind.TYPE_TAG), int(Kind.ENUM64)

_PLUS_ONE = (1).__add__

#: Records per batch of text.
BATCH = 4096


def _signed32(word: int) -> int:
    return word - (1 << 32) if word >> 31 else word


def _untouched(spec: Spec) -> RawBTF | None:
    """The spec's blob, when it is all of the spec and no type was decoded (or edited)."""
    raw = spec._raw
    if raw is None or spec._types or spec._count != raw.count:
        return None
    return raw


#: A batch of records' text, made in C: (start, stop, json) -> text, or None to make it here.
_CompiledBatch = Callable[[int, int, bool], "str | None"]


def _compiled_batches(raw: RawBTF) -> _CompiledBatch | None:
    """The compiled scan's ``dump`` of ``raw``'s records, when it is installed and in use."""
    scan = _compiled_scan()
    if scan is None:
        return None
    # Native uint32 as the C code reads them: the Python walk's list is copied.
    offsets: Any = raw.native_offsets
    if offsets is None:
        offsets = array("I", raw.offsets)
    args = (raw.words, offsets, raw.strings, raw.base_strings_len, raw.first_id)

    def batch(start: int, stop: int, as_json: bool) -> str | None:
        text: bytes | None = scan.dump(*args, start, stop, as_json)
        # ASCII: the C code declines every name that is not.
        return None if text is None else text.decode("ascii")

    return batch


class _Names(dict[int, str]):
    """The name at each string offset (this blob's or the base's), "(anon)" when empty.

    Every string that starts after a NUL is decoded in one pass over the
    table; an offset into the middle of a string (legal, if rare) or into the
    base's table is looked up when first asked for. With ``quoted`` each name
    is a JSON string, as ``json.dumps`` writes it.
    """

    def __init__(self, spec: Spec, raw: RawBTF, *, quoted: bool = False) -> None:
        strings = raw.strings
        pieces = strings.split(b"\0")
        # UTF-8 decoding restarts at every NUL, so decoding the whole table
        # and splitting it gives each string's own decoding.
        texts = strings.decode("utf-8", "replace").split("\0")
        starts = itertools.accumulate(
            map(_PLUS_ONE, map(len, pieces)), initial=raw.base_strings_len
        )
        named = [t or "(anon)" for t in texts]
        super().__init__(
            zip(starts, map(encode_basestring_ascii, named) if quoted else named, strict=False)
        )
        self._quoted = quoted
        self._spec = spec
        self._raw = raw
        self[0] = self._written("(anon)")

    def _written(self, name: str) -> str:
        return encode_basestring_ascii(name) if self._quoted else name

    def __missing__(self, offset: int) -> str:
        own = self._raw.string(offset)
        if own is None:
            base = self._spec.base
            assert base is not None
            own = base._string_at(offset)
        found = self[offset] = self._written(own or "(anon)")
        return found


def _var_label(spec: Spec, raw: RawBTF, names: _Names, type_id: int) -> str:
    """``KIND 'name'`` of the type a DATASEC entry points at."""
    words, offsets = raw.words, raw.offsets
    index = type_id - raw.first_id
    if 0 <= index < len(offsets):
        at = offsets[index]
        kind = (words[at + 1] >> 24) & 0x1F
        return f"{_KIND_NAMES.get(kind, 'UNKN')} '{names[words[at]]}'"
    try:
        t = spec.type_by_id(type_id)  # in the base of a split spec
    except TypeNotFoundError:
        raise BTFError(f"a DATASEC entry refers to type id {type_id}, which is none") from None
    return f"{t.kind.name} '{t.name or '(anon)'}'"


def record_lines(spec: Spec) -> Iterator[str] | None:
    """The spec's raw dump from its records, or None when it must come from decoded types."""
    raw = _untouched(spec)
    if raw is None:
        return None
    names = _Names(spec, raw)
    return itertools.chain.from_iterable(
        _lines(spec, raw, names, start, min(start + BATCH, raw.count))
        for start in range(0, raw.count, BATCH)
    )


def record_text(spec: Spec) -> Iterator[tuple[int, str]] | None:
    """The raw dump as (records, text) batches, each line ending in a newline; None as above."""
    raw = _untouched(spec)
    return None if raw is None else _text_batches(spec, raw)


def _text_batches(spec: Spec, raw: RawBTF) -> Iterator[tuple[int, str]]:
    compiled = _compiled_batches(raw)
    names: _Names | None = None
    for start in range(0, raw.count, BATCH):
        stop = min(start + BATCH, raw.count)
        text = None if compiled is None else compiled(start, stop, False)
        if text is None:
            if names is None:
                names = _Names(spec, raw)
            text = "\n".join(_lines(spec, raw, names, start, stop)) + "\n"
        yield stop - start, text


def _lines(spec: Spec, raw: RawBTF, names: _Names, start: int, stop: int) -> list[str]:
    """The lines of records ``start`` to ``stop`` (indices), as bpftool prints them."""
    words, offsets, first = raw.words, raw.offsets, raw.first_id
    kind_names = _KIND_NAMES
    out: list[str] = []
    line = out.append
    for index in range(start, stop):
        at = offsets[index]
        info = words[at + 1]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        size_type = words[at + 2]
        if kind == _FUNC:  # nearly half of vmlinux: one format, not two
            line(
                f"[{first + index}] FUNC '{names[words[at]]}' "
                f"type_id={size_type} linkage={_LINKAGES[vlen]}"
            )
            continue
        head = f"[{first + index}] {kind_names.get(kind, 'UNKN')} '{names[words[at]]}'"
        if kind == _FUNC_PROTO:
            line(f"{head} ret_type_id={size_type} vlen={vlen}")
            params = iter(words[at + 3 : at + 3 + 2 * vlen])
            out += [f"\t'{names[n]}' type_id={t}" for n, t in zip(params, params, strict=False)]
        elif kind in _TYPE_ONLY:
            line(f"{head} type_id={size_type}")
        elif kind in (_STRUCT, _UNION):
            line(f"{head} size={size_type} vlen={vlen}")
            members = iter(words[at + 3 : at + 3 + 3 * vlen])
            if info >> 31:  # kind_flag: bitfield sizes in the offsets' top byte
                out += [
                    f"\t'{names[n]}' type_id={t} bits_offset={o & 0xFFFFFF} bitfield_size={o >> 24}"
                    if o >> 24
                    else f"\t'{names[n]}' type_id={t} bits_offset={o}"
                    for n, t, o in zip(members, members, members, strict=False)
                ]
            else:
                out += [
                    f"\t'{names[n]}' type_id={t} bits_offset={o}"
                    for n, t, o in zip(members, members, members, strict=False)
                ]
        elif kind == _INT:
            w = words[at + 3]
            encoding = _ENCODINGS.get((w >> 24) & 0x0F, "UNKN")
            line(
                f"{head} size={size_type} bits_offset={(w >> 16) & 0xFF} "
                f"nr_bits={w & 0xFF} encoding={encoding}"
            )
        elif kind == _ARRAY:
            line(
                f"{head} type_id={words[at + 3]} index_type_id={words[at + 4]} "
                f"nr_elems={words[at + 5]}"
            )
        elif kind == _ENUM:
            signed = info >> 31
            encoding = "SIGNED" if signed else "UNSIGNED"
            line(f"{head} encoding={encoding} size={size_type} vlen={vlen}")
            values = iter(words[at + 3 : at + 3 + 2 * vlen])
            out += [
                f"\t'{names[n]}' val={_signed32(v) if signed else v}"
                for n, v in zip(values, values, strict=False)
            ]
        elif kind == _ENUM64:
            signed = info >> 31
            encoding = "SIGNED" if signed else "UNSIGNED"
            line(f"{head} encoding={encoding} size={size_type} vlen={vlen}")
            suffix = "LL" if signed else "ULL"
            for v in range(at + 3, at + 3 + 3 * vlen, 3):
                line(f"\t'{names[words[v]]}' val={_value64(words, v, signed)}{suffix}")
        elif kind == _FWD:
            line(f"{head} fwd_kind={'union' if info >> 31 else 'struct'}")
        elif kind == _VAR:
            line(f"{head} type_id={size_type}, linkage={_LINKAGES.get(words[at + 3], 'UNKN')}")
        elif kind == _DATASEC:
            line(f"{head} size={size_type} vlen={vlen}")
            for s in range(at + 3, at + 3 + 3 * vlen, 3):
                var_id = words[s]
                label = _var_label(spec, raw, names, var_id)
                line(f"\ttype_id={var_id} offset={words[s + 1]} size={words[s + 2]} ({label})")
        elif kind == _FLOAT:
            line(f"{head} size={size_type}")
        elif kind == _DECL_TAG:
            line(f"{head} type_id={size_type} component_idx={_signed32(words[at + 3])}")
        else:
            line(head)
    return out


def _value64(words: Any, at: int, signed: int) -> int:
    """An ENUM64 value from its two words at ``at + 1`` (low) and ``at + 2`` (high)."""
    value: int = (words[at + 2] << 32) | words[at + 1]
    if signed and value >> 63:
        value -= 1 << 64
    return value


def record_fields(spec: Spec) -> Iterator[dict[str, Any]] | None:
    """``cli_dump.type_fields`` of every type, from the records; None as for record_lines."""
    text = record_json(spec)
    if text is None:
        return None
    types: list[dict[str, Any]] = json.loads("".join(text))["types"]
    return iter(types)


def record_json(spec: Spec) -> Iterator[str] | None:
    """``json.dumps({"types": [...]}, separators=(",", ":"))`` of the records, in pieces.

    None as for :func:`record_lines`.
    """
    raw = _untouched(spec)
    return None if raw is None else _json_pieces(spec, raw)


def _json_pieces(spec: Spec, raw: RawBTF) -> Iterator[str]:
    compiled = _compiled_batches(raw)
    quoted: _Names | None = None
    yield '{"types":['
    for start in range(0, raw.count, BATCH):
        stop = min(start + BATCH, raw.count)
        text = None if compiled is None else compiled(start, stop, True)
        if text is None:
            if quoted is None:
                quoted = _Names(spec, raw, quoted=True)
            text = _json_objects(raw, quoted, start, stop)
        yield text if start == 0 else f",{text}"
    yield "]}"


def _json_objects(raw: RawBTF, quoted: _Names, start: int, stop: int) -> str:
    """Records ``start`` to ``stop`` (indices) as compact JSON objects, joined by commas."""
    words, offsets, first = raw.words, raw.offsets, raw.first_id
    kind_names = _KIND_NAMES
    out: list[str] = []
    put = out.append
    for index in range(start, stop):
        at = offsets[index]
        info = words[at + 1]
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        size_type = words[at + 2]
        if kind == _FUNC:  # nearly half of vmlinux: one format, not two
            put(
                f'{{"id":{first + index},"kind":"FUNC","name":{quoted[words[at]]},'
                f'"type_id":{size_type},"linkage":"{_LINKAGES.get(vlen, "UNKN")}"}}'
            )
            continue
        head = (
            f'{{"id":{first + index},"kind":"{kind_names.get(kind, "UNKN")}",'
            f'"name":{quoted[words[at]]}'
        )
        if kind == _FUNC_PROTO:
            params = iter(words[at + 3 : at + 3 + 2 * vlen])
            listed = ",".join(
                [
                    f'{{"name":{quoted[n]},"type_id":{t}}}'
                    for n, t in zip(params, params, strict=False)
                ]
            )
            put(f'{head},"ret_type_id":{size_type},"vlen":{vlen},"params":[{listed}]}}')
        elif kind in _TYPE_ONLY:
            if kind == _TYPE_TAG:
                put(f'{head},"type_id":{size_type},"kind_flag":{info >> 31}}}')
            else:
                put(f'{head},"type_id":{size_type}}}')
        elif kind in (_STRUCT, _UNION):
            members = iter(words[at + 3 : at + 3 + 3 * vlen])
            if info >> 31:
                listed = ",".join(
                    [
                        f'{{"name":{quoted[n]},"type_id":{t},"bits_offset":{o & 0xFFFFFF},'
                        f'"bitfield_size":{o >> 24}}}'
                        if o >> 24
                        else f'{{"name":{quoted[n]},"type_id":{t},"bits_offset":{o}}}'
                        for n, t, o in zip(members, members, members, strict=False)
                    ]
                )
            else:
                listed = ",".join(
                    [
                        f'{{"name":{quoted[n]},"type_id":{t},"bits_offset":{o}}}'
                        for n, t, o in zip(members, members, members, strict=False)
                    ]
                )
            put(f'{head},"size":{size_type},"vlen":{vlen},"members":[{listed}]}}')
        elif kind == _INT:
            w = words[at + 3]
            encoding = _ENCODINGS.get((w >> 24) & 0x0F, "UNKN")
            put(
                f'{head},"size":{size_type},"bits_offset":{(w >> 16) & 0xFF},'
                f'"nr_bits":{w & 0xFF},"encoding":"{encoding}"}}'
            )
        elif kind == _ARRAY:
            put(
                f'{head},"type_id":{words[at + 3]},"index_type_id":{words[at + 4]},'
                f'"nr_elems":{words[at + 5]}}}'
            )
        elif kind in (_ENUM, _ENUM64):
            signed = info >> 31
            if kind == _ENUM:
                values = iter(words[at + 3 : at + 3 + 2 * vlen])
                listed = ",".join(
                    [
                        f'{{"name":{quoted[n]},"val":{_signed32(v) if signed else v}}}'
                        for n, v in zip(values, values, strict=False)
                    ]
                )
            else:
                listed = ",".join(
                    [
                        f'{{"name":{quoted[words[v]]},"val":{_value64(words, v, signed)}}}'
                        for v in range(at + 3, at + 3 + 3 * vlen, 3)
                    ]
                )
            encoding = "SIGNED" if signed else "UNSIGNED"
            put(
                f'{head},"encoding":"{encoding}","size":{size_type},"vlen":{vlen},'
                f'"values":[{listed}]}}'
            )
        elif kind == _FWD:
            put(f'{head},"fwd_kind":"{"union" if info >> 31 else "struct"}"}}')
        elif kind == _VAR:
            linkage = _LINKAGES.get(words[at + 3], "UNKN")
            put(f'{head},"type_id":{size_type},"linkage":"{linkage}"}}')
        elif kind == _DATASEC:
            listed = ",".join(
                [
                    f'{{"type_id":{words[s]},"offset":{words[s + 1]},"size":{words[s + 2]}}}'
                    for s in range(at + 3, at + 3 + 3 * vlen, 3)
                ]
            )
            put(f'{head},"size":{size_type},"vlen":{vlen},"vars":[{listed}]}}')
        elif kind == _FLOAT:
            put(f'{head},"size":{size_type}}}')
        elif kind == _DECL_TAG:
            put(
                f'{head},"type_id":{size_type},"component_idx":{_signed32(words[at + 3])},'
                f'"kind_flag":{info >> 31}}}'
            )
        else:
            put(f"{head}}}")
    return ",".join(out)
