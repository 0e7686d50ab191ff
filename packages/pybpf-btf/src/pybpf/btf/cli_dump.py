"""Text renderings of a spec: bpftool's raw dump, line for line, and JSON.

``raw_lines`` prints what ``bpftool btf dump file F`` prints (bpftool's
``dump_btf_type``), so the two can be diffed. ``json_document`` follows
bpftool's ``-j`` field names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pybpf.btf.raw_records import record_fields, record_json, record_lines, record_text
from pybpf.btf.spec import Spec
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Linkage,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    TypeTag,
    Var,
)

__all__ = ["json_document", "json_text", "raw_lines", "raw_text", "type_fields"]

_ENCODINGS = {
    IntEncoding.NONE: "(none)",
    IntEncoding.SIGNED: "SIGNED",
    IntEncoding.CHAR: "CHAR",
    IntEncoding.BOOL: "BOOL",
}
_LINKAGES = {Linkage.STATIC: "static", Linkage.GLOBAL: "global", Linkage.EXTERN: "extern"}


def _name(name: str) -> str:
    return name or "(anon)"


def raw_lines(spec: Spec) -> Iterator[str]:
    """One line per type (plus one per member/value/parameter), as bpftool prints them."""
    from_records = record_lines(spec)
    if from_records is not None:
        yield from from_records
        return
    for type_id in range(spec.start_id, spec.next_id):
        yield from _raw(spec, type_id, spec.type_by_id(type_id))


def raw_text(spec: Spec) -> Iterator[tuple[int, str]]:
    """The raw dump in pieces: (how many types, their lines each ending in a newline)."""
    from_records = record_text(spec)
    if from_records is not None:
        return from_records
    return (
        (1, "".join(f"{line}\n" for line in _raw(spec, type_id, spec.type_by_id(type_id))))
        for type_id in range(spec.start_id, spec.next_id)
    )


def _raw(spec: Spec, type_id: int, t: Type) -> Iterator[str]:
    ref = spec.ref_id
    head = f"[{type_id}] {t.kind.name} '{_name(t.name)}'"
    if isinstance(t, Int):
        encoding = _ENCODINGS.get(t.encoding, "UNKN")
        yield f"{head} size={t.size} bits_offset={t.offset} nr_bits={t.bits} encoding={encoding}"
    elif isinstance(t, Pointer):
        yield f"{head} type_id={ref(t, '_target')}"
    elif isinstance(t, (Typedef, Qualifier)):
        yield f"{head} type_id={ref(t, '_type')}"
    elif isinstance(t, Array):
        yield (
            f"{head} type_id={ref(t, '_type')} index_type_id={ref(t, '_index')} nr_elems={t.nelems}"
        )
    elif isinstance(t, Composite):
        yield f"{head} size={t.size} vlen={len(t.members)}"
        for m in t.members:
            bits = f" bitfield_size={m.bitfield_size}" if m.bitfield_size else ""
            yield f"\t'{_name(m.name)}' type_id={ref(m, '_type')} bits_offset={m.offset}{bits}"
    elif isinstance(t, Enum):
        encoding = "SIGNED" if t.signed else "UNSIGNED"
        yield f"{head} encoding={encoding} size={t.size} vlen={len(t.values)}"
        suffix = ("LL" if t.signed else "ULL") if isinstance(t, Enum64) else ""
        for v in t.values:
            yield f"\t'{_name(v.name)}' val={v.value}{suffix}"
    elif isinstance(t, Fwd):
        yield f"{head} fwd_kind={'union' if t.fwd_kind == FwdKind.UNION else 'struct'}"
    elif isinstance(t, Func):
        yield f"{head} type_id={ref(t, '_type')} linkage={_LINKAGES[t.linkage]}"
    elif isinstance(t, FuncProto):
        yield f"{head} ret_type_id={ref(t, '_return_type')} vlen={len(t.params)}"
        for p in t.params:
            yield f"\t'{_name(p.name)}' type_id={ref(p, '_type')}"
    elif isinstance(t, Var):
        yield f"{head} type_id={ref(t, '_type')}, linkage={_LINKAGES[t.linkage]}"
    elif isinstance(t, Datasec):
        yield f"{head} size={t.size} vlen={len(t.vars)}"
        for secinfo in t.vars:
            var_id = ref(secinfo, "_type")
            var = spec.type_by_id(var_id)
            yield (
                f"\ttype_id={var_id} offset={secinfo.offset} size={secinfo.size} "
                f"({var.kind.name} '{_name(var.name)}')"
            )
    elif isinstance(t, Float):
        yield f"{head} size={t.size}"
    elif isinstance(t, DeclTag):
        yield f"{head} type_id={ref(t, '_type')} component_idx={t.component_idx}"
    else:
        yield head


def type_fields(spec: Spec, type_id: int, t: Type) -> dict[str, Any]:
    """One type as a JSON object (bpftool's field names, plus ``kind_flag`` for tags)."""
    ref = spec.ref_id
    out: dict[str, Any] = {"id": type_id, "kind": t.kind.name, "name": _name(t.name)}
    if isinstance(t, Int):
        out |= {
            "size": t.size,
            "bits_offset": t.offset,
            "nr_bits": t.bits,
            "encoding": _ENCODINGS.get(t.encoding, "UNKN"),
        }
    elif isinstance(t, Pointer):
        out["type_id"] = ref(t, "_target")
    elif isinstance(t, (Typedef, Qualifier)):
        out["type_id"] = ref(t, "_type")
        if isinstance(t, TypeTag):
            out["kind_flag"] = int(t.attribute)
    elif isinstance(t, Array):
        out |= {"type_id": ref(t, "_type"), "index_type_id": ref(t, "_index")}
        out["nr_elems"] = t.nelems
    elif isinstance(t, Composite):
        members = []
        for m in t.members:
            member = {"name": _name(m.name), "type_id": ref(m, "_type"), "bits_offset": m.offset}
            if m.bitfield_size:
                member["bitfield_size"] = m.bitfield_size
            members.append(member)
        out |= {"size": t.size, "vlen": len(members), "members": members}
    elif isinstance(t, Enum):
        values = [{"name": _name(v.name), "val": v.value} for v in t.values]
        out |= {"encoding": "SIGNED" if t.signed else "UNSIGNED", "size": t.size}
        out |= {"vlen": len(values), "values": values}
    elif isinstance(t, Fwd):
        out["fwd_kind"] = "union" if t.fwd_kind == FwdKind.UNION else "struct"
    elif isinstance(t, (Func, Var)):
        out |= {"type_id": ref(t, "_type"), "linkage": _LINKAGES[t.linkage]}
    elif isinstance(t, FuncProto):
        params = [{"name": _name(p.name), "type_id": ref(p, "_type")} for p in t.params]
        out |= {"ret_type_id": ref(t, "_return_type"), "vlen": len(params), "params": params}
    elif isinstance(t, Datasec):
        secinfos = [
            {"type_id": ref(v, "_type"), "offset": v.offset, "size": v.size} for v in t.vars
        ]
        out |= {"size": t.size, "vlen": len(secinfos), "vars": secinfos}
    elif isinstance(t, Float):
        out["size"] = t.size
    elif isinstance(t, DeclTag):
        out |= {"type_id": ref(t, "_type"), "component_idx": t.component_idx}
        out["kind_flag"] = int(t.attribute)
    return out


def json_document(spec: Spec) -> dict[str, Any]:
    """``{"types": [...]}`` for the spec's own types, in id order."""
    from_records = record_fields(spec)
    if from_records is not None:
        return {"types": list(from_records)}
    return {
        "types": [
            type_fields(spec, type_id, spec.type_by_id(type_id))
            for type_id in range(spec.start_id, spec.next_id)
        ]
    }


def json_text(spec: Spec) -> Iterator[str]:
    """``json_document`` as compact JSON text (``bpftool -j``'s), in pieces.

    The same text as ``json.dumps(json_document(spec), separators=(",", ":"))``.
    """
    from_records = record_json(spec)
    if from_records is not None:
        return from_records
    return iter((json.dumps(json_document(spec), separators=(",", ":")),))
