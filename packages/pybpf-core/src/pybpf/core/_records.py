"""What a reader's ``record=`` names, turned into the functions that decode records.

A record type is given as a BTF type name (``"struct event"``, ``"union u"``,
``"enum e"`` or a plain name such as a typedef's), looked up in the BTF the
caller passes (``btf=``, e.g. ``collection.spec.types``) or else in the BTF
the kernel holds for the map; as a :class:`pybpf.btf.Type`; or as a codec:
the btf value codec (what maps use) or any :class:`~pybpf.core.codec.Codec`.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pybpf.btf import BTFError, Enum, Struct, Type, TypeNotFoundError, Union, codec_for
from pybpf.btf.codec import Codec as BTFCodec
from pybpf.core import _kernel_btf
from pybpf.core._elements import scalar_spec as _scalar_spec
from pybpf.core.codec import Codec, int_format
from pybpf.core.errors import BPFError

if TYPE_CHECKING:
    from pybpf.btf import Spec
    from pybpf.core.map import Map

__all__ = ["RecordArg", "RecordDecoder", "record_decoder"]

#: What a reader's ``record=`` accepts.
RecordArg = str | Type | Codec | BTFCodec | None

_KINDS: dict[str, type[Type]] = {"struct": Struct, "union": Union, "enum": Enum}


@dataclass(frozen=True)
class RecordDecoder:
    """How one reader decodes its records."""

    #: ``decode(bytes)``: the value of a record copied out of the ring.
    decode: Callable[[bytes], Any]
    #: ``get(buffer, offset)``: the value read in place (btf codecs only).
    get: Callable[[Any, int], Any] | None
    #: Bytes that ``get`` reads: shorter records are refused.
    size: int
    #: ``encode(value)``: a record's bytes (for user ring buffers).
    encode: Callable[[Any], bytes]
    #: For the compiled loops, a record type of host-order ints only: its
    #: class and each member's (name, offset, scalar spec, slot offset);
    #: None otherwise.
    layout: tuple[type, tuple[tuple[str, int, int, int], ...]] | None = None


def record_decoder(record: RecordArg, *, btf: Spec | None, owner: Map) -> RecordDecoder | None:
    """The decoder of ``record`` for the reader of ``owner``; None for raw bytes."""
    if record is None:
        return None
    if isinstance(record, str):
        record = _type_named(record, btf, owner)
    if isinstance(record, Type):
        record = codec_for(record)
    if isinstance(record, BTFCodec):
        # decode_from checks the span and ignores what follows: perf samples
        # carry padding after the record.
        get = getattr(record, "get_fn", record.get)
        return RecordDecoder(
            record.decode_from, get, record.size, record.encode, _int_layout(record)
        )
    if isinstance(record, Codec):
        return RecordDecoder(record.decode, None, record.size, record.encode)
    raise TypeError(
        f"record= takes a BTF type name, a pybpf.btf.Type or a codec, not {type(record).__name__}"
    )


def _type_named(name: str, btf: Spec | None, owner: Map) -> Type:
    keyword, _, rest = name.strip().partition(" ")
    kind = _KINDS.get(keyword) if rest else None
    bare = rest.strip() if kind is not None else name.strip()
    spec = btf if btf is not None else owner.types or _map_btf(owner)
    if spec is None:
        raise ValueError(
            f"record={name!r}: map {owner.name!r} was not loaded from an object and has no "
            "BTF of its own; pass btf= (the object's BTF: CollectionSpec.types) or a "
            "pybpf.btf.Type"
        )
    try:
        return spec.type_by_name(bare, kind)
    except TypeNotFoundError as exc:
        raise ValueError(f"record={name!r}: {exc}") from None


def _map_btf(owner: Map) -> Spec | None:
    try:
        btf_id = owner.info().btf_id
        return _kernel_btf.btf_spec_by_id(btf_id) if btf_id else None
    except (BPFError, BTFError):
        return None


def _int_layout(
    codec: BTFCodec,
) -> tuple[type, tuple[tuple[str, int, int, int], ...]] | None:
    """The class and (name, offset, spec, slot) members of a struct made of host-order ints only.

    Such a record's decoding is the same as the codec's, done in C: a fresh
    record of its class with each member stored in its slot. Anything else
    (enums, arrays, nested records, bitfields, unions, promoted members)
    keeps the codec.
    """
    fields = getattr(codec, "fields", None)
    record = getattr(codec, "record", None)
    if fields is None or record is None or getattr(codec, "union", True):
        return None
    if getattr(record, "__btf_promoted__", ()):
        return None
    members = []
    for f in fields:
        fmt = int_format(f.codec, f.codec.size) if not f.bits and f.offset % 8 == 0 else None
        if fmt is None or f.anonymous:
            return None
        # Interned, as attribute names are: the type's lookup cache takes no other.
        members.append((sys.intern(f.name), f.offset // 8, _scalar_spec(fmt)))
    if tuple(m[0] for m in members) != record.__btf_fields__:
        return None
    slots = _slot_offsets(record, [m[0] for m in members])
    return record, tuple((*m, slot) for m, slot in zip(members, slots, strict=True))


def _slot_offsets(cls: type, names: list[str]) -> list[int]:
    """Where each named ``__slots__`` member of ``cls`` sits in an instance; -1 when not found.

    Found by storing a distinct object in each slot of one instance and
    looking for its address among the instance's words: what CPython's member
    descriptors read and write, without relying on how it orders slots.
    """
    size = cls.__basicsize__
    word = ctypes.sizeof(ctypes.c_void_p)
    probe: Any = object.__new__(cls)
    markers = [object() for _ in names]
    for name, marker in zip(names, markers, strict=True):
        setattr(probe, name, marker)
    words = (ctypes.c_size_t * (size // word)).from_address(id(probe))
    where = {value: i * word for i, value in enumerate(words)}
    offsets = []
    for marker in markers:
        offset = where.get(id(marker), -1)
        offsets.append(offset if offset >= 2 * word else -1)  # never the object header
    del words
    return offsets
