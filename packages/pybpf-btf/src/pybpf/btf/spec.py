"""``Spec``: a set of BTF types with ids, loaded lazily from raw BTF or built by hand.

A spec loaded from bytes keeps the raw blob and decodes a type only when it is
asked for (by id, by name, or by iterating), so that finding ``task_struct`` in
the kernel's ~126k types decodes a handful of them. Types added by hand get the
next free ids, depth-first, like ebpf-go's ``Builder``.
"""

from __future__ import annotations

import itertools
import mmap
import os
import sys
from collections.abc import Iterable, Iterator, Sequence

from pybpf.btf import name_order
from pybpf.btf._index_cache import RecordIndex
from pybpf.btf.errors import BTFError, TypeNotFoundError
from pybpf.btf.parse import BytesLike, RawBTF, _compiled_scan_for
from pybpf.btf.parse_types import KIND_CLASSES, Decoder
from pybpf.btf.types import (
    Array,
    Composite,
    Datasec,
    DeclTag,
    Enum,
    EnumValue,
    Float,
    Func,
    FuncParam,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Member,
    Pointer,
    Qualifier,
    Type,
    Typedef,
    TypeTag,
    Var,
    VarSecinfo,
    Void,
)

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from pybpf.asm import ByteOrder

    _Part = TypeVar("_Part", Member, FuncParam, VarSecinfo)

__all__ = ["KindFilter", "PointerMember", "Spec", "load_spec", "read_file", "read_file_stat"]

KindFilter = type[Type] | Kind | None

#: One member of a struct of pointers (:meth:`Spec.pointer_members`):
#: ``(name_offset, bit_offset, count, pointee_id, target_id, target_kind,
#: target_count)``. ``count`` is -1 for a pointer, or the element count of an
#: array of pointers; ``pointee_id`` is the type the pointer points at,
#: ``target_id`` and ``target_kind`` that type through typedefs and
#: qualifiers, ``target_count`` its element count when it is an array, else -1.
PointerMember = tuple[int, int, int, int, int, int, int]
#: What :meth:`Spec.pointer_members` looks through: typedefs and qualifiers (type tags too).
_SEE_THROUGH = frozenset(
    int(k) for k in (Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
)
_PTR, _ARRAY, _STRUCT = int(Kind.PTR), int(Kind.ARRAY), int(Kind.STRUCT)
_MAX_U32 = 0xFFFF_FFFF
#: The kinds as the compiled ``pointer_members`` takes them: a bit per kind
#: looked through, then the kind numbers it looks for.
_POINTER_KINDS = (sum(1 << k for k in _SEE_THROUGH), _PTR, _ARRAY, _STRUCT)
#: Longer chains of typedefs and qualifiers are left to the typed reading.
_MAX_REFERENCE_CHAIN = 64

_VOID = Void()
# Pre-faulting the mapping costs less than faulting in its pages one by one.
_MAP_FLAGS = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)


class Spec:
    """BTF types by id: ``spec.type_by_id(1)``, ``spec.type_by_name("task_struct")``.

    Ids start at 1 (0 is :class:`Void`). A *split* spec (a kernel module's BTF)
    continues the ids of its :attr:`base`; lookups, iteration and ``len`` cover
    the base's types too. Equality compares the types in id order, with
    references compared by id; the byte order the BTF was read in does not count.
    """

    __slots__ = (
        "_base",
        "_count",
        "_decoder",
        "_first",
        "_ids",
        "_ids_complete",
        "_raw",
        "_types",
        "byte_order",
        "pointer_size",
    )

    def __init__(
        self,
        types: Iterable[Type] = (),
        *,
        base: Spec | None = None,
        byte_order: ByteOrder | None = None,
        pointer_size: int = 8,
    ) -> None:
        self._base = base
        self._first = base.next_id if base is not None else 1
        self._raw: RawBTF | None = None
        self._decoder: Decoder | None = None
        # Own types made so far, by index (id - _first): a dict, not a list of
        # None placeholders, because the collector walks a list item by item
        # at every collection and the kernel's spec lives as long as the
        # process (its 126k-slot list was ~1 ms of every full collection).
        self._types: dict[int, Type] = {}
        # Own types in all: the blob's records, then those added by hand.
        self._count = 0
        self._ids: dict[Type, int] = {}
        # False while types decoded in bulk are not in _ids yet (see _index_ids).
        self._ids_complete = True
        order = byte_order or (base.byte_order if base is not None else sys.byteorder)
        self.byte_order: ByteOrder = "big" if order == "big" else "little"
        self.pointer_size = pointer_size
        for t in types:
            self.add(t)

    @classmethod
    def from_types(
        cls,
        types: Iterable[Type],
        *,
        base: Spec | None = None,
        byte_order: ByteOrder | None = None,
    ) -> Spec:
        """A spec holding ``types`` in order, then every type they reference, depth-first."""
        return cls(types, base=base, byte_order=byte_order)

    @classmethod
    def from_bytes(cls, data: BytesLike, *, base: Spec | None = None) -> Spec:
        """A spec over raw BTF bytes (the header and record framing are checked now)."""
        return cls.over_raw(data, base=base)

    @classmethod
    def over_raw(
        cls,
        data: BytesLike,
        *,
        base: Spec | None = None,
        index: RecordIndex | None = None,
        in_place: bool = False,
    ) -> Spec:
        """:meth:`from_bytes`, reusing a saved record index of the same bytes when it fits.

        ``in_place`` uses ``data`` without copying it: only for bytes that
        cannot change while the spec lives (a mapped kernel BTF file).
        """
        spec = cls(base=base)
        base_strings = 0
        base_string = None
        if base is not None:
            base_strings = base._strings_end()
            base_string = base._string_at
        raw = RawBTF(
            data,
            first_id=spec._first,
            base_strings_len=base_strings,
            index=index,
            in_place=in_place,
        )
        spec._raw = raw
        spec._decoder = Decoder(raw, spec, base_string)
        spec._count = raw.count
        spec.byte_order = raw.byte_order
        return spec

    # -- ids ---------------------------------------------------------------

    @property
    def base(self) -> Spec | None:
        """The spec this one is split from (the kernel's, for a module), or None."""
        return self._base

    @property
    def start_id(self) -> int:
        """The id of this spec's first own type: 1, or the base's next id."""
        return self._first

    @property
    def next_id(self) -> int:
        """The id the next added type will get."""
        return self._first + self._count

    def type_by_id(self, type_id: int) -> Type:
        """The type with id ``type_id`` (0 is :class:`Void`); TypeNotFoundError if none."""
        index = type_id - self._first
        if index >= 0:
            t = self._types.get(index)
            if t is not None:
                return t
            if index >= self._count:
                raise TypeNotFoundError(f"no type with id {type_id}")
            # Every own type not made yet is one of the blob's records.
            assert self._decoder is not None
            t = self._decoder.decode(type_id)
            self._types[index] = t
            self._ids[t] = type_id
            return t
        if type_id == 0:
            return _VOID
        if self._base is not None and type_id > 0:
            return self._base.type_by_id(type_id)
        raise TypeNotFoundError(f"no type with id {type_id}")

    def raw_record(self, type_id: int) -> Sequence[int] | None:
        """The words of ``type_id``'s record as loaded, when no Type was made of it yet.

        For readers that look through a few references and would decode
        objects only to drop them (an object's map definitions): ``struct
        btf_type``'s three words (name offset, info, size or type) then the
        kind's own, in the host's byte order. Ids and string offsets in them
        are not checked (:meth:`string` reads a name). None for a type that was
        decoded (its object may have been edited since), added by hand, of a
        base, or absent: read the :class:`Type` then.
        """
        raw = self._raw
        index = type_id - self._first
        # Past the blob's records: a type added by hand, or none.
        if raw is None or index < 0 or index >= raw.count or index in self._types:
            return None
        offsets = raw.offsets
        start = offsets[index]
        try:
            return raw.words[start : offsets[index + 1]]
        except IndexError:  # the last record
            return raw.words[start:]

    def pointer_members(self, type_id: int) -> list[PointerMember] | None:
        """The members of a struct of pointers, read from the undecoded records.

        For readers of definitions made of pointers only, such as a
        BTF-defined map's (``__uint``, ``__type``, ``__array``), that would
        decode objects only to drop them. ``type_id`` is looked through
        typedefs and qualifiers to a struct; each member, in order, is a
        :data:`PointerMember`. None when that is no struct, when a member is
        not (through typedefs and qualifiers) a pointer or an array of
        pointers, when a record on the way to a pointer was decoded already
        (read the :class:`Type` then, as for :meth:`raw_record`), or when an
        id is not this blob's: the typed reading then says what is wrong. A
        pointer's target is read only when its records are undecoded and this
        blob's (else its kind is -1). Names are not read (:meth:`string`
        reads them).

        The compiled scan reads them when it is in use (see
        :func:`pybpf.btf.parse._compiled_scan`); this code decides where it
        declines.
        """
        raw = self._raw
        if raw is None:
            return None
        scan = _compiled_scan_for(len(raw.words))
        offsets = raw.native_offsets
        if scan is not None and offsets is not None and 0 <= type_id <= _MAX_U32:
            found: list[PointerMember] | None = scan.pointer_members(
                raw.words, offsets, self._types, self._first, type_id, _POINTER_KINDS
            )
            if found is not None:
                return found
        return self._pointer_members(raw, type_id)

    def _pointer_members(self, raw: RawBTF, type_id: int) -> list[PointerMember] | None:
        """:meth:`pointer_members` in Python: the reference, and what decides."""
        types = self._types
        offsets = raw.offsets
        words = raw.words
        first = self._first
        count = len(offsets)

        def under(tid: int) -> tuple[int, int, int] | None:
            # The id, first word and kind through typedefs and qualifiers.
            for _ in range(_MAX_REFERENCE_CHAIN):
                index = tid - first
                if index < 0 or index >= count or index in types:
                    return None
                start = offsets[index]
                kind = (words[start + 1] >> 24) & 0x1F
                if kind not in _SEE_THROUGH:
                    return tid, start, kind
                tid = words[start + 2]
            return None

        found = under(type_id)
        if found is None or found[2] != _STRUCT:
            return None
        start = found[1]
        info = words[start + 1]
        # Member offsets hold a bitfield size in their top byte when kind_flag is set.
        mask = 0xFFFFFF if info >> 31 else 0xFFFFFFFF
        members = []
        for p in range(start + 3, start + 3 + 3 * (info & 0xFFFF), 3):
            member = under(words[p + 1])
            if member is None:
                return None
            nelems = -1
            _, at, kind = member
            if kind == _ARRAY:
                nelems = words[at + 5]
                member = under(words[at + 3])
                if member is None:
                    return None
                _, at, kind = member
            if kind != _PTR:
                return None
            pointee_id = words[at + 2]
            target = under(pointee_id)
            if target is None:
                target_id, kind, target_count = pointee_id, -1, -1
            else:
                target_id, at, kind = target
                target_count = words[at + 5] if kind == _ARRAY else -1
            members.append(
                (words[p], words[p + 2] & mask, nelems, pointee_id, target_id, kind, target_count)
            )
        return members

    def string(self, offset: int) -> str:
        """The string at ``offset`` of the BTF's string table (a base's too); BTFError if none."""
        return self._string_at(offset)

    def type_id(self, t: Type) -> int:
        """The id of ``t`` in this spec; TypeNotFoundError when it is not part of it."""
        type_id = self._ids.get(t)
        if type_id is not None:
            return type_id
        if not self._ids_complete:
            self._index_ids()
            return self.type_id(t)
        if isinstance(t, Void):
            return 0
        if self._base is not None:
            return self._base.type_id(t)
        raise TypeNotFoundError(f"{t!r} is not in this spec")

    def __contains__(self, t: object) -> bool:
        if not isinstance(t, Type):
            return False
        try:
            self.type_id(t)
        except TypeNotFoundError:
            return False
        return True

    def add(self, t: Type) -> int:
        """Add ``t`` and every type it references that is not here yet; return its id.

        Ids are assigned depth-first in reference order. Adding a type twice
        returns the same id.
        """
        if t in self:
            return self.type_id(t)
        stack = [t]
        while stack:
            current = stack.pop()
            if current in self:
                continue
            self._ids[current] = self._first + self._count
            self._types[self._count] = current
            self._count += 1
            children = list(current.references())
            stack.extend(reversed(children))
        return self._ids[t]

    def copy(self) -> Spec:
        """An independent copy: own types copied, references into the copy; the base is shared.

        Copy a shared spec (``load_kernel_spec()``'s) before editing its types.
        """
        new = Spec(base=self._base, byte_order=self.byte_order, pointer_size=self.pointer_size)
        if self._raw is not None and not self._ids and self._ids_complete:
            # Nothing decoded or added yet, so nothing edited: share the raw blob.
            new._raw = self._raw
            base_string = self._base._string_at if self._base is not None else None
            new._decoder = Decoder(self._raw, new, base_string)
            new._count = self._raw.count
            return new
        olds = list(self.own_types())
        clones = {id(t): t.copy() for t in olds}

        def remap(owner: object) -> None:
            # Lazy ids stay ids (same id space, now resolved by the copy).
            for slot in _REF_SLOTS:
                try:
                    value = object.__getattribute__(owner, slot)
                except AttributeError:
                    continue
                object.__setattr__(owner, slot, clones.get(id(value), value))
            object.__setattr__(owner, "_spec", new)

        for t in olds:
            clone = clones[id(t)]
            remap(clone)
            if isinstance(clone, Composite):
                clone.members = [_copy_part(m) for m in clone.members]
                for part in clone.members:
                    remap(part)
            elif isinstance(clone, FuncProto):
                clone.params = [_copy_part(p) for p in clone.params]
                for param in clone.params:
                    remap(param)
            elif isinstance(clone, Datasec):
                clone.vars = [_copy_part(v) for v in clone.vars]
                for secinfo in clone.vars:
                    remap(secinfo)
            elif isinstance(clone, Enum):
                clone.values = [EnumValue(v.name, v.value) for v in clone.values]
            new._ids[clone] = self._first + new._count
            new._types[new._count] = clone
            new._count += 1
        return new

    # -- names -------------------------------------------------------------

    def ids_of_kind(self, kind: Kind) -> list[int]:
        """The ids of this spec's own types (not its base's) of ``kind``, in order, undecoded."""
        raw = self._raw
        found = raw.ids_of_kind(int(kind)) if raw is not None else []
        extra_start = raw.count if raw is not None else 0
        for index in range(extra_start, self._count):
            t = self._types.get(index)
            if t is not None and _matches(t, kind):
                found.append(self._first + index)
        return found

    def types_by_name(self, name: str, kind: KindFilter = None) -> list[Type]:
        """Every type called ``name``, in id order; ``kind`` narrows by class or Kind.

        A class matches its subclasses too (``Enum`` matches ``Enum64``,
        ``Qualifier`` every qualifier).
        """
        found = self._base.types_by_name(name, kind) if self._base is not None else []
        raw = self._raw
        own: list[int] = []
        if raw is not None and name:
            if raw.by_name is not None and self._base is None:
                named = name_order.ids_named(raw, raw.by_name, name.encode())
            else:
                named = raw.ids_named(self._name_offsets(name))
            for type_id in named:
                if _kind_matches(raw.kind_of(type_id), kind):
                    own.append(type_id)
        extra_start = raw.count if raw is not None else 0
        for index in range(extra_start, self._count):
            t = self._types.get(index)
            if t is not None and t.name == name and _matches(t, kind):
                own.append(self._first + index)
        found.extend(self.type_by_id(type_id) for type_id in sorted(own))
        return found

    def type_by_name(self, name: str, kind: KindFilter = None) -> Type:
        """The one type called ``name`` (of ``kind``); TypeNotFoundError for none or several."""
        found = self.types_by_name(name, kind)
        if len(found) == 1:
            return found[0]
        what = f"{_kind_name(kind)} named {name!r}"
        if not found:
            raise TypeNotFoundError(f"no {what}")
        ids = ", ".join(str(self.type_id(t)) for t in found[:8])
        raise TypeNotFoundError(f"{len(found)} types match {what} (ids {ids}...); pass kind=")

    def _index_ids(self) -> None:
        """Put every decoded type in ``_ids``: one C-level pass instead of one store per type."""
        types = self._types
        self._ids.update(zip(types.values(), map(self._first.__add__, types), strict=True))
        self._ids_complete = True

    def _name_offsets(self, name: str) -> list[int]:
        assert self._raw is not None
        offsets = self._raw.name_offsets(name)
        if self._base is not None and self._base._raw is not None:
            offsets += self._base._name_offsets(name)
        return offsets

    def _strings_end(self) -> int:
        if self._raw is None:
            raise BTFError("a split spec's base must be loaded from BTF, not built by hand")
        return self._raw.base_strings_len + self._raw.strings_len

    def _string_at(self, offset: int) -> str:
        decoder = self._decoder
        if decoder is not None:
            # What decoding met already: an object's whole table, once a name was read.
            found = decoder.names.get(offset)
            if found is not None:
                return found
            # A small table is decoded whole at the first name decoding reads:
            # as well at the first string read, which then costs no slice.
            if decoder.decode_small_table():
                found = decoder.names.get(offset)
                if found is not None:
                    return found
        assert self._raw is not None
        s = self._raw.string(offset)
        if s is not None:
            return s
        if self._base is None:
            raise BTFError(f"string offset {offset} out of range")
        return self._base._string_at(offset)

    # -- whole spec ----------------------------------------------------------

    def __len__(self) -> int:
        return self._first - 1 + self._count

    def __iter__(self) -> Iterator[Type]:
        if self._base is not None:
            return itertools.chain(self._base, self.own_types())
        return self.own_types()

    def own_types(self) -> Iterator[Type]:
        """The types of this spec itself (not of its base), in id order."""
        types = self._types
        decoder = self._decoder
        if decoder is not None and len(types) < self._count:
            # Decoding all of vmlinux goes through here: no generator frame
            # between the caller and the types, decoded in batches.
            # Ids of the types decoded in bulk are indexed when first asked for.
            self._ids_complete = False
            return decoder.iter_decode(types, self._ids)
        return itertools.chain.from_iterable(self._made_batches())

    def _made_batches(self) -> Iterator[list[Type]]:
        """The own types, all made, in id order: one Python step per batch.

        The count is read again after each batch, so types added while
        iterating come out too.
        """
        types = self._types
        index = 0
        while index < self._count:
            stop = self._count
            yield list(map(types.__getitem__, range(index, stop)))
            index = stop

    def validate(self) -> None:
        """Decode every own type and check what loading leaves for later: BTFError if bad.

        Beyond the per-record checks of decoding, this rejects what the kernel's
        verifier rejects about the type graph: chains of typedefs, qualifiers,
        arrays and variables that loop back without a struct, union, pointer or
        function in between, and array sizes past 32 bits.
        """
        # Each type's largest element count down its chain, computed once:
        # checking every chain from its start would be quadratic in its length.
        counts: dict[int, int] = {}
        for t in self.own_types():
            if isinstance(t, (Typedef, Qualifier, Array, Var)):
                _check_chain(self, t, counts)

    def sizeof(self, t: Type) -> int:
        """``sizeof(t)`` with this spec's pointer size."""
        # The layout rules are imported by their first user: a load asks none.
        from pybpf.btf.layout import sizeof  # noqa: PLC0415 (not on a load's path)

        return sizeof(t, self.pointer_size)

    def alignof(self, t: Type) -> int:
        """The alignment of ``t`` with this spec's pointer size."""
        from pybpf.btf.layout import alignof  # noqa: PLC0415 (not on a load's path)

        return alignof(t, self.pointer_size)

    def ref_id(self, owner: object, slot: str) -> int:
        """The id of the type ``owner`` references through ``slot`` (e.g. ``"_type"``).

        Reads a still-lazy reference as its id without decoding it; a reference
        into another spec is resolved and looked up here.
        """
        value = object.__getattribute__(owner, slot)
        if value.__class__ is int:
            spec = getattr(owner, "_spec", None)
            if spec is self or self._owns_ids_of(spec):
                return value
            value = getattr(owner, slot[1:])
        type_id = self._ids.get(value)
        return type_id if type_id is not None else self.type_id(value)

    def _owns_ids_of(self, spec: object) -> bool:
        s: Spec | None = self
        while s is not None:
            if s is spec:
                return True
            s = s._base
        return False

    def shape(self, t: Type) -> tuple[Any, ...]:
        """``t``'s contents with references as ids: what spec equality compares."""
        ref = self.ref_id
        if isinstance(t, Int):
            return (Kind.INT, t.name, t.size, int(t.encoding), t.bits, t.offset)
        if isinstance(t, Pointer):
            return (Kind.PTR, t.name, ref(t, "_target"))
        if isinstance(t, Array):
            return (Kind.ARRAY, t.name, ref(t, "_type"), ref(t, "_index"), t.nelems)
        if isinstance(t, Composite):
            members = tuple((m.name, ref(m, "_type"), m.offset, m.bitfield_size) for m in t.members)
            return (t.kind, t.name, t.size, members)
        if isinstance(t, Enum):
            values = tuple((v.name, v.value) for v in t.values)
            return (t.kind, t.name, t.size, t.signed, values)
        if isinstance(t, Fwd):
            return (Kind.FWD, t.name, int(t.fwd_kind))
        if isinstance(t, TypeTag):
            return (Kind.TYPE_TAG, t.value, ref(t, "_type"), t.attribute)
        if isinstance(t, (Typedef, Qualifier)):
            return (t.kind, t.name, ref(t, "_type"))
        if isinstance(t, Func):
            return (Kind.FUNC, t.name, ref(t, "_type"), int(t.linkage))
        if isinstance(t, FuncProto):
            params = tuple((p.name, ref(p, "_type")) for p in t.params)
            return (Kind.FUNC_PROTO, t.name, ref(t, "_return_type"), params)
        if isinstance(t, Var):
            return (Kind.VAR, t.name, ref(t, "_type"), int(t.linkage))
        if isinstance(t, Datasec):
            secinfos = tuple((ref(v, "_type"), v.offset, v.size) for v in t.vars)
            return (Kind.DATASEC, t.name, t.size, secinfos)
        if isinstance(t, Float):
            return (Kind.FLOAT, t.name, t.size)
        if isinstance(t, DeclTag):
            return (Kind.DECL_TAG, t.value, ref(t, "_type"), t.component_idx, t.attribute)
        if isinstance(t, Void):
            return (Kind.UNKN,)
        raise BTFError(f"{t!r}: not a BTF type")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        if self is other:
            return True
        if len(self) != len(other) or self._first != other._first:
            return False
        if self._base is not other._base and self._base != other._base:
            return False
        for type_id in range(self._first, self.next_id):
            if self.shape(self.type_by_id(type_id)) != other.shape(other.type_by_id(type_id)):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        split = f", split from a spec of {len(self._base)}" if self._base is not None else ""
        return f"<Spec: {len(self)} types, {self.byte_order}-endian{split}>"


_REF_SLOTS = ("_target", "_type", "_index", "_return_type")


def _copy_part(part: _Part) -> _Part:
    clone = object.__new__(type(part))
    for slot in type(part).__slots__:
        object.__setattr__(clone, slot, object.__getattribute__(part, slot))
    return clone


def _check_chain(spec: Spec, start: Type, counts: dict[int, int]) -> None:
    """Reject a chain from ``start`` that loops or nests arrays past 2^32 elements.

    ``counts`` maps the id() of each chain type already walked to the largest
    product of element counts over the prefixes of its chain (capped just past
    the limit), so that a type shared by many chains is walked once.
    """
    path: list[Type] = []
    on_path: set[int] = set()
    t = start
    while isinstance(t, (Typedef, Qualifier, Array, Var)) and id(t) not in counts:
        if id(t) in on_path:
            raise BTFError(f"type {spec.type_id(start)}: reference cycle through {t!r}")
        on_path.add(id(t))
        path.append(t)
        t = t.type
    below = counts.get(id(t), 1)
    for t in reversed(path):
        own = t.nelems if isinstance(t, Array) else 1
        below = min(own * max(below, 1), _TOO_MANY_ELEMENTS)
        counts[id(t)] = below
    if counts[id(start)] >= _TOO_MANY_ELEMENTS:
        raise BTFError(f"type {spec.type_id(start)}: array of more than 2^32 elements")


# One past the most elements a chain of arrays may hold (the kernel's u32).
_TOO_MANY_ELEMENTS = 0x1_0000_0000


def _kind_matches(kind: int, wanted: KindFilter) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, Kind):
        return kind == wanted
    cls = KIND_CLASSES.get(kind)
    return cls is not None and issubclass(cls, wanted)


def _matches(t: Type, wanted: KindFilter) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, Kind):
        return t.kind == wanted
    return isinstance(t, wanted)


def _kind_name(kind: KindFilter) -> str:
    if kind is None:
        return "type"
    if isinstance(kind, Kind):
        return kind.name
    return kind.__name__


def load_spec(source: str | os.PathLike[str] | BytesLike, base: Spec | None = None) -> Spec:
    """A spec from raw BTF or from the ``.BTF`` section of an ELF object.

    ``source`` is a path or the bytes themselves. ``base`` makes it split BTF
    (a kernel module's): its ids and string offsets continue the base's.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data: BytesLike = source
    else:
        data = read_file(source)
    # Loads read an object's BTF from pybpf.elf's sections, not through here.
    from pybpf.btf import elfsections  # noqa: PLC0415 (not on a load's path)

    if bytes(memoryview(data)[:4]) == elfsections.ELF_MAGIC:
        data = elfsections.section_data(data, ".BTF")
    return Spec.from_bytes(data, base=base)


def read_file(path: str | os.PathLike[str]) -> bytes:
    """A whole file's bytes."""
    return read_file_stat(path)[0]


def read_file_stat(path: str | os.PathLike[str]) -> tuple[bytes, os.stat_result]:
    """A whole file's bytes, and the file's stat.

    sysfs hands out at most a page per read(2), so kernel BTF files are mapped
    instead when the kernel allows it (a private read-only mapping, copied once:
    CPython's mapping would hold a descriptor open for as long as it lives).
    """
    with open(path, "rb", buffering=0) as f:
        st = os.fstat(f.fileno())
        if st.st_size:
            try:
                with mmap.mmap(f.fileno(), st.st_size, flags=_MAP_FLAGS, prot=mmap.PROT_READ) as m:
                    return bytes(m), st
            except (OSError, ValueError):
                pass
        chunks = []
        while chunk := f.read(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks), st
