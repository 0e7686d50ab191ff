"""Decoding one type record of a :class:`~pybpf.btf.parse.RawBTF` into a Type object.

Objects are built with ``object.__new__`` and their slots set directly: decoding
every type of vmlinux runs this code a quarter million times. References stay
type ids (checked to be in range) that the types' ``_Ref`` descriptors resolve
through the spec when first read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

from pybpf.btf._gc import gc_paused
from pybpf.btf.errors import BTFError
from pybpf.btf.parse import _compiled_scan_for
from pybpf.btf.types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    IntEncoding,
    Kind,
    Linkage,
    Member,
    Pointer,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Volatile,
)

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.btf.parse import RawBTF
    from pybpf.btf.types import _Resolver

__all__ = ["KIND_CLASSES", "Decoder"]

KIND_CLASSES: dict[int, type[Type]] = {
    Kind.INT: Int,
    Kind.PTR: Pointer,
    Kind.ARRAY: Array,
    Kind.STRUCT: Struct,
    Kind.UNION: Union,
    Kind.ENUM: Enum,
    Kind.FWD: Fwd,
    Kind.TYPEDEF: Typedef,
    Kind.VOLATILE: Volatile,
    Kind.CONST: Const,
    Kind.RESTRICT: Restrict,
    Kind.FUNC: Func,
    Kind.FUNC_PROTO: FuncProto,
    Kind.VAR: Var,
    Kind.DATASEC: Datasec,
    Kind.FLOAT: Float,
    Kind.DECL_TAG: DeclTag,
    Kind.TYPE_TAG: TypeTag,
    Kind.ENUM64: Enum64,
}

_ENCODINGS = {e: IntEncoding(e) for e in (0, 1, 2, 4)}
_LINKAGES = (Linkage.STATIC, Linkage.GLOBAL, Linkage.EXTERN)
_INT_SIZES = frozenset({1, 2, 4, 8, 16})
# Decode the string table in bulk once this many names were looked up one by one.
_BULK_AFTER = 2048
# A table this small (an object file's) is decoded whole at the first name:
# one split costs less than the few dozen names an object's reading looks up.
# Not a blob with a saved name order (kernel BTF): it finds names without a
# copy of its table.
_SMALL_TABLE = 16384
# Types decoded at a time when iterating.
_BATCH = 16384
_new = object.__new__


class Decoder:
    """Decodes the records of one blob for one spec.

    ``base_string`` resolves string offsets below the blob's own (split BTF).
    """

    __slots__ = ("_bulk", "_misses", "base_string", "limit", "names", "raw", "spec")

    def __init__(
        self, raw: RawBTF, spec: _Resolver, base_string: Callable[[int], str] | None = None
    ) -> None:
        self.raw = raw
        self.spec = spec
        self.base_string = base_string
        self.limit = raw.first_id + raw.count
        # Decoded strings by offset; the decoders read it inline and call name()
        # only on a miss.
        self.names: dict[int, str] = {0: ""}
        self._misses = 0
        self._bulk = False

    def name(self, offset: int, type_id: int) -> str:
        """The string at ``offset``; ``type_id`` names the culprit when it is bad."""
        name = self.names.get(offset)
        if name is not None:
            return name
        self._misses += 1
        raw = self.raw
        if self._misses == _BULK_AFTER or self._small_table():
            self._decode_all_strings()
            name = self.names.get(offset)
            if name is not None:
                return name
        rel = offset - raw.base_strings_len
        if rel < 0:
            if self.base_string is None:
                raise BTFError(f"type {type_id}: string offset {offset} out of range")
            name = self.base_string(offset)
        else:
            if rel >= raw.strings_len:
                raise BTFError(f"type {type_id}: string offset {offset} out of range")
            name = raw.cstring(rel).decode("utf-8", "replace")
        self.names[offset] = name
        return name

    def decode_small_table(self) -> bool:
        """Decode the whole string table now if :meth:`name` would at its first miss.

        True when it did (the table is small and was not decoded yet): a
        reader of single strings then finds them in ``names`` too.
        """
        if self._bulk or not self._small_table():
            return False
        self._decode_all_strings()
        return True

    def _small_table(self) -> bool:
        """Whether the string table is small enough to decode whole at the first miss."""
        return self.raw.strings_len <= _SMALL_TABLE and self.raw.by_name is None

    def _decode_all_strings(self) -> None:
        """Decode the whole string table at once: a few ms, versus a slice per name."""
        if self._bulk:
            return
        self._bulk = True
        strings = self.raw.strings
        offset = self.raw.base_strings_len
        scan = _compiled_scan_for(len(self.raw.words))
        bulk: dict[int, str] = {}
        if scan is not None:
            bulk = scan.strings(strings, offset)
        elif strings.isascii():
            # A plain loop over the parts: cheaper here than accumulating their
            # offsets through map() and zip(), for an object's table and vmlinux's.
            parts = strings.decode("ascii").split("\0")
            # What follows the last NUL is no string.
            parts.pop()
            for part in parts:
                bulk[offset] = part
                offset += len(part) + 1
        else:
            # Offsets count bytes, not characters.
            encoded = strings.split(b"\0")
            encoded.pop()
            for raw_part in encoded:
                bulk[offset] = raw_part.decode("utf-8", "replace")
                offset += len(raw_part) + 1
        bulk.update(self.names)
        self.names = bulk

    def ref(self, target: int, type_id: int) -> int:
        """A referenced type id, checked to exist."""
        if target >= self.limit:
            raise BTFError(f"type {type_id}: reference to type {target} out of range")
        return target

    def iter_decode(self, types: dict[int, Type], ids: dict[Type, int]) -> Iterator[Type]:
        """Every own type of the spec in id order, decoding (into ``types``) the new ones.

        ``types`` holds the spec's types by index (id minus the first id); the
        spec may have types added by hand past the blob's, and more may be
        added while iterating. Decoding happens in batches, ahead of the
        caller. Whole batches are not entered in ``ids``: the caller indexes
        them later.
        """
        # Python code runs once per batch; the items go out through C iterators.
        return itertools.chain.from_iterable(self._batches(types, ids))

    def _batches(self, types: dict[int, Type], ids: dict[Type, int]) -> Iterator[list[Type]]:
        # Every name will be needed.
        self._decode_all_strings()
        count, first = self.raw.count, self.raw.first_id
        spec = self.spec
        index = 0
        while index < (end := spec.next_id - first):
            stop = min(index + _BATCH, count) if index < count else end
            if index < count:
                yield self._decode_batch(types, ids, index, stop)
            else:
                yield list(map(types.__getitem__, range(index, stop)))
            index = stop

    def _decode_batch(
        self, types: dict[int, Type], ids: dict[Type, int], start: int, stop: int
    ) -> list[Type]:
        """The types of indices ``start`` to ``stop``, decoding those not made yet."""
        raw = self.raw
        words, first = raw.words, raw.first_id
        # The indices made already: a C-level walk of the smaller of the two.
        made = types.keys() & range(start, stop)
        if len(made) == stop - start:
            return list(map(types.__getitem__, range(start, stop)))
        offsets = raw.offsets[start:stop]
        decoders = _DECODERS
        with gc_paused():
            if not made:
                ids_range = range(first + start, first + stop)
                infos = raw.infos
                batch = [
                    decoders[(info >> 24) & 0x1F](self, tid, words, o, info)
                    for tid, o in zip(ids_range, offsets, strict=True)
                    if (info := infos[o]) >= 0
                ]
                # The spec indexes their ids when it first needs them.
                types.update(zip(range(start, stop), batch, strict=True))
                return batch
            for index, o in enumerate(offsets, start):
                if index not in made:
                    info = words[o + 1]
                    t = decoders[(info >> 24) & 0x1F](self, first + index, words, o, info)
                    types[index] = t
                    ids[t] = first + index
        return list(map(types.__getitem__, range(start, stop)))

    def decode(self, type_id: int) -> Type:
        """A new Type object for the record of ``type_id``."""
        raw = self.raw
        words = raw.words
        o = raw.offsets[type_id - raw.first_id]
        info = words[o + 1]
        return _DECODERS[(info >> 24) & 0x1F](self, type_id, words, o, info)


def _int(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    size = words[o + 2]
    data = words[o + 3]
    enc = (data >> 24) & 0x0F
    offset = (data >> 16) & 0xFF
    bits = data & 0xFF
    if size not in _INT_SIZES:
        raise BTFError(f"type {tid}: INT of bad size {size}")
    if enc not in _ENCODINGS or data & 0xF000_FF00:
        raise BTFError(f"type {tid}: INT with bad encoding word {data:#x}")
    if bits == 0 or bits > 128 or offset + bits > size * 8:
        raise BTFError(f"type {tid}: INT bits {offset}+{bits} do not fit {size} bytes")
    t = _new(Int)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = None
    t.size = size
    t.encoding = _ENCODINGS[enc]
    t.bits = bits
    t.offset = offset
    return t


def _ptr(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Pointer)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = d.spec
    target = words[o + 2]
    if target >= d.limit:
        raise BTFError(f"type {tid}: reference to type {target} out of range")
    t._target = target  # type: ignore[assignment]
    return t


def _array(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Array)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = d.spec
    t._type = d.ref(words[o + 3], tid)  # type: ignore[assignment]
    t._index = d.ref(words[o + 4], tid)  # type: ignore[assignment]
    t.nelems = words[o + 5]
    return t


def _composite(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Struct if (info >> 24) & 0x1F == Kind.STRUCT else Union)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    spec = t._spec = d.spec
    t.size = words[o + 2]
    members: list[Member] = []
    t.members = members
    end = o + 3 + 3 * (info & 0xFFFF)
    limit = d.limit
    names = d.names
    append = members.append
    # Plain indexing: most structs have a few members, and slicing the words
    # costs more per struct than it saves per member. With kind_flag the
    # offset word holds a bitfield size in its top byte; without, shifting
    # all 32 bits out gives 0.
    mask, shift = (0xFFFFFF, 24) if info >> 31 else (0xFFFFFFFF, 32)
    for p in range(o + 3, end, 3):
        target = words[p + 1]
        if target >= limit:
            _raise_bad_part(d, tid, words[o + 3 : end : 3], words[o + 4 : end : 3], "member")
        m = _new(Member)
        try:
            m.name = names[words[p]]
        except KeyError:
            m.name = d.name(words[p], tid)
        m._type = target  # type: ignore[assignment]
        m._spec = spec
        off = words[p + 2]
        m.offset = off & mask
        m.bitfield_size = off >> shift
        append(m)
    return t


def _raise_bad_part(
    d: Decoder, tid: int, name_offs: Sequence[int], targets: Sequence[int], what: str
) -> None:
    """Raise the error of the first bad member or parameter, in the order decoding meets it."""
    for name_off, target in zip(name_offs, targets, strict=True):
        if name_off not in d.names:
            d.name(name_off, tid)
        if target >= d.limit:
            raise BTFError(f"type {tid}: {what} reference to type {target} out of range")
    raise AssertionError("no bad part")


def _enum(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Enum)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = None
    size = words[o + 2]
    # Size 0 only for a forward declaration (clang's ``enum foo;``), as libbpf reads it.
    if size not in (1, 2, 4, 8) and (size or info & 0xFFFF):
        raise BTFError(f"type {tid}: ENUM of bad size {size}")
    t.size = size
    signed = bool(info >> 31)
    t.signed = signed
    values = []
    name = d.name
    cached = d.names.get
    for p in range(o + 3, o + 3 + 2 * (info & 0xFFFF), 2):
        v = _new(EnumValue)
        n = cached(words[p])
        v.name = name(words[p], tid) if n is None else n
        value = words[p + 1]
        if signed and value & 0x8000_0000:
            value -= 1 << 32
        v.value = value
        values.append(v)
    t.values = values
    return t


def _enum64(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Enum64)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = None
    size = words[o + 2]
    # Size 0 only for a forward declaration (clang's ``enum foo;``), as libbpf reads it.
    if size not in (1, 2, 4, 8) and (size or info & 0xFFFF):
        raise BTFError(f"type {tid}: ENUM64 of bad size {size}")
    t.size = size
    signed = bool(info >> 31)
    t.signed = signed
    values = []
    name = d.name
    cached = d.names.get
    for p in range(o + 3, o + 3 + 3 * (info & 0xFFFF), 3):
        v = _new(EnumValue)
        n = cached(words[p])
        v.name = name(words[p], tid) if n is None else n
        value = words[p + 1] | words[p + 2] << 32
        if signed and value >> 63:
            value -= 1 << 64
        v.value = value
        values.append(v)
    t.values = values
    return t


def _fwd(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Fwd)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = None
    t.fwd_kind = FwdKind.UNION if info >> 31 else FwdKind.STRUCT
    return t


def _typedef(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Typedef)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = d.spec
    target = words[o + 2]
    if target >= d.limit:
        raise BTFError(f"type {tid}: reference to type {target} out of range")
    t._type = target  # type: ignore[assignment]
    return t


def _qualifier(cls: type[Volatile | Const | Restrict]) -> Callable[..., Type]:
    def decode(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
        t = _new(cls)
        try:
            t.name = d.names[words[o]]
        except KeyError:
            t.name = d.name(words[o], tid)
        t._spec = d.spec
        target = words[o + 2]
        if target >= d.limit:
            raise BTFError(f"type {tid}: reference to type {target} out of range")
        t._type = target  # type: ignore[assignment]
        return t

    return decode


def _type_tag(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(TypeTag)
    n = d.names.get(words[o])
    t.name = t.value = d.name(words[o], tid) if n is None else n
    t._spec = d.spec
    t._type = d.ref(words[o + 2], tid)  # type: ignore[assignment]
    t.attribute = bool(info >> 31)
    return t


def _func(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Func)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = d.spec
    target = words[o + 2]
    if target >= d.limit:
        raise BTFError(f"type {tid}: reference to type {target} out of range")
    t._type = target  # type: ignore[assignment]
    t.linkage = _LINKAGES[info & 0xFFFF]
    return t


def _func_proto(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(FuncProto)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    spec = t._spec = d.spec
    target = words[o + 2]
    limit = d.limit
    if target >= limit:
        raise BTFError(f"type {tid}: reference to type {target} out of range")
    t._return_type = target  # type: ignore[assignment]
    params: list[FuncParam] = []
    t.params = params
    end = o + 3 + 2 * (info & 0xFFFF)
    names = d.names
    append = params.append
    # Plain indexing, as for members: three parameters on average.
    for p in range(o + 3, end, 2):
        target = words[p + 1]
        if target >= limit:
            _raise_bad_part(d, tid, words[o + 3 : end : 2], words[o + 4 : end : 2], "parameter")
        param = _new(FuncParam)
        try:
            param.name = names[words[p]]
        except KeyError:
            param.name = d.name(words[p], tid)
        param._type = target  # type: ignore[assignment]
        param._spec = spec
        append(param)
    return t


def _var(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Var)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = d.spec
    target = words[o + 2]
    if target >= d.limit:
        raise BTFError(f"type {tid}: reference to type {target} out of range")
    t._type = target  # type: ignore[assignment]
    linkage = words[o + 3]
    if linkage > 2:
        raise BTFError(f"type {tid}: VAR with bad linkage {linkage}")
    t.linkage = _LINKAGES[linkage]
    return t


def _datasec(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(Datasec)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    spec = t._spec = d.spec
    t.size = words[o + 2]
    limit = d.limit
    secinfos = []
    for p in range(o + 3, o + 3 + 3 * (info & 0xFFFF), 3):
        v = _new(VarSecinfo)
        target = words[p]
        if target >= limit:
            raise BTFError(f"type {tid}: variable reference to type {target} out of range")
        v._type = target  # type: ignore[assignment]
        v._spec = spec
        v.offset = words[p + 1]
        v.size = words[p + 2]
        secinfos.append(v)
    t.vars = secinfos
    return t


def _float(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    size = words[o + 2]
    if size not in (2, 4, 8, 12, 16):
        raise BTFError(f"type {tid}: FLOAT of bad size {size}")
    t = _new(Float)
    try:
        t.name = d.names[words[o]]
    except KeyError:
        t.name = d.name(words[o], tid)
    t._spec = None
    t.size = size
    return t


def _decl_tag(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    t = _new(DeclTag)
    n = d.names.get(words[o])
    t.name = t.value = d.name(words[o], tid) if n is None else n
    t._spec = d.spec
    t._type = d.ref(words[o + 2], tid)  # type: ignore[assignment]
    idx = words[o + 3]
    t.component_idx = idx - (1 << 32) if idx & 0x8000_0000 else idx
    t.attribute = bool(info >> 31)
    return t


def _unknown(d: Decoder, tid: int, words: Sequence[int], o: int, info: int) -> Type:
    # The index already rejects unknown kinds; this keeps the table total.
    raise BTFError(f"type {tid}: unknown kind {(info >> 24) & 0x1F}")


_DECODERS: list[Callable[[Decoder, int, Sequence[int], int, int], Type]] = [_unknown] * 32
_DECODERS[Kind.INT] = _int
_DECODERS[Kind.PTR] = _ptr
_DECODERS[Kind.ARRAY] = _array
_DECODERS[Kind.STRUCT] = _composite
_DECODERS[Kind.UNION] = _composite
_DECODERS[Kind.ENUM] = _enum
_DECODERS[Kind.FWD] = _fwd
_DECODERS[Kind.TYPEDEF] = _typedef
_DECODERS[Kind.VOLATILE] = _qualifier(Volatile)
_DECODERS[Kind.CONST] = _qualifier(Const)
_DECODERS[Kind.RESTRICT] = _qualifier(Restrict)
_DECODERS[Kind.FUNC] = _func
_DECODERS[Kind.FUNC_PROTO] = _func_proto
_DECODERS[Kind.VAR] = _var
_DECODERS[Kind.DATASEC] = _datasec
_DECODERS[Kind.FLOAT] = _float
_DECODERS[Kind.DECL_TAG] = _decl_tag
_DECODERS[Kind.TYPE_TAG] = _type_tag
_DECODERS[Kind.ENUM64] = _enum64
