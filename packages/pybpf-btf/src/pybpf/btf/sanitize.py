"""Rewriting BTF for kernels that lack some kinds, as libbpf's ``bpf_object__sanitize_btf``.

Each rewrite keeps every type id, so that instructions, maps and ext infos that
refer to ids stay valid; only an ENUM64 rewrite appends one placeholder INT.
The core layer fills :class:`SanitizeOptions` from feature probes.
"""

from __future__ import annotations

from pybpf.asm.records import fields, record
from pybpf.btf.marshal_record import Record
from pybpf.btf.types import Kind

__all__ = ["SanitizeOptions", "sanitize_records"]


@record(frozen=True, slots=True)
class SanitizeOptions:
    """What the target kernel's BTF supports; every field defaults to "supported".

    ``func``: FUNC and FUNC_PROTO (4.20). ``func_global``: global FUNC linkage
    (5.6). ``datasec``: VAR and DATASEC (5.2). ``qmark_datasec``: DATASEC names
    starting with ``?`` (6.8?). ``float``: FLOAT (5.13). ``decl_tag``: DECL_TAG
    (5.16). ``type_tag``: TYPE_TAG (5.17). ``enum64``: ENUM64 and signed ENUM
    (6.0). ``tag_attributes``: the attribute ``kind_flag`` on DECL_TAG/TYPE_TAG.
    """

    func: bool = True
    func_global: bool = True
    datasec: bool = True
    qmark_datasec: bool = True
    float: bool = True
    decl_tag: bool = True
    type_tag: bool = True
    enum64: bool = True
    tag_attributes: bool = True

    @classmethod
    def oldest(cls) -> SanitizeOptions:
        """A kernel with the fewest BTF kinds (4.18: INT..RESTRICT only)."""
        return cls(**{f.name: False for f in fields(cls)})

    @property
    def needed(self) -> bool:
        """True when some rewrite applies (a kernel missing a feature)."""
        return not all(getattr(self, f.name) for f in fields(self))


def _placeholder_int(name: str, recs: list[Record], first_id: int) -> int:
    recs.append(Record(Kind.INT, name, 1, extra=[8]))
    return first_id + len(recs) - 1


def sanitize_records(
    recs: list[Record], opts: SanitizeOptions, *, first_id: int = 1
) -> list[Record]:
    """Rewritten copies of ``recs`` (ids ``first_id``...) for a kernel with ``opts``."""
    out = [r.copy() for r in recs]
    enum64_placeholder = 0
    for r in out[: len(recs)]:
        kind = r.kind
        if (kind == Kind.VAR and not opts.datasec) or (
            kind == Kind.DECL_TAG and not _tag_ok(r, opts)
        ):
            # A one-byte INT: bigger could exceed the variable's own size.
            _become(r, Kind.INT, size_or_type=1, extra=[8])
        elif kind == Kind.DATASEC and not opts.datasec:
            members: list[int | str] = []
            for i in range(0, len(r.extra), 3):
                var_id, offset = r.extra[i], r.extra[i + 1]
                assert isinstance(var_id, int) and isinstance(offset, int)
                index = var_id - first_id
                var_name = recs[index].name if 0 <= index < len(recs) else ""
                members += [var_name, var_id, offset * 8]
            r.name = r.name.replace(".", "_").replace("?", "_")
            _become(r, Kind.STRUCT, size_or_type=r.size_or_type, vlen=r.vlen, extra=members)
        elif kind == Kind.DATASEC and not opts.qmark_datasec and r.name.startswith("?"):
            r.name = "_" + r.name[1:]
        elif kind == Kind.FUNC_PROTO and not opts.func:
            # Parameters read as enumerators: (name, type id) pairs fit ENUM's layout.
            _become(r, Kind.ENUM, size_or_type=4, vlen=r.vlen, extra=r.extra)
        elif kind == Kind.FUNC and not opts.func:
            _become(r, Kind.TYPEDEF, size_or_type=r.size_or_type)
        elif kind == Kind.FUNC and not opts.func_global:
            r.vlen = 0
        elif kind == Kind.FLOAT and not opts.float:
            # C compilers reject a struct called "float": make it anonymous.
            r.name = ""
            _become(r, Kind.STRUCT, size_or_type=r.size_or_type)
        elif kind == Kind.TYPE_TAG and not _tag_ok(r, opts):
            r.name = ""
            _become(r, Kind.CONST, size_or_type=r.size_or_type)
        elif kind == Kind.ENUM and not opts.enum64:
            r.kind_flag = False
        elif kind == Kind.ENUM64 and not opts.enum64:
            if not enum64_placeholder:
                enum64_placeholder = _placeholder_int("enum64_placeholder", out, first_id)
            members = []
            for i in range(0, len(r.extra), 3):
                members += [r.extra[i], enum64_placeholder, 0]
            _become(r, Kind.UNION, size_or_type=r.size_or_type, vlen=r.vlen, extra=members)
    return out


def _tag_ok(r: Record, opts: SanitizeOptions) -> bool:
    supported = opts.decl_tag if r.kind == Kind.DECL_TAG else opts.type_tag
    return supported and (opts.tag_attributes or not r.kind_flag)


def _become(
    r: Record,
    kind: Kind,
    *,
    size_or_type: int = 0,
    vlen: int = 0,
    extra: list[int | str] | None = None,
) -> None:
    r.kind = kind
    r.kind_flag = False
    r.size_or_type = size_or_type
    r.vlen = vlen
    r.extra = list(extra) if extra is not None else []
