"""What a reader's ``record=`` names, turned into the functions that decode records.

A record type is given as a BTF type name (``"struct event"``, ``"union u"``,
``"enum e"`` or a plain name such as a typedef's), looked up in the BTF the
caller passes (``btf=``, e.g. ``collection.spec.types``) or else in the BTF
the kernel holds for the map; as a :class:`pybpf.btf.Type`; or as a codec:
the btf value codec (what maps use) or any :class:`~pybpf.core.codec.Codec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pybpf.btf import BTFError, Enum, Struct, Type, TypeNotFoundError, Union, codec_for
from pybpf.btf.codec import Codec as BTFCodec
from pybpf.core import _kernel_btf
from pybpf.core.codec import Codec
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
        return RecordDecoder(record.decode_from, get, record.size, record.encode)
    if isinstance(record, Codec):
        return RecordDecoder(record.decode, None, record.size, record.encode)
    raise TypeError(
        f"record= takes a BTF type name, a pybpf.btf.Type or a codec, not {type(record).__name__}"
    )


def _type_named(name: str, btf: Spec | None, owner: Map) -> Type:
    keyword, _, rest = name.strip().partition(" ")
    kind = _KINDS.get(keyword) if rest else None
    bare = rest.strip() if kind is not None else name.strip()
    spec = btf if btf is not None else _map_btf(owner)
    if spec is None:
        raise ValueError(
            f"record={name!r}: map {owner.name!r} has no BTF of its own; pass btf= "
            "(the object's BTF, e.g. collection.spec.types) or a pybpf.btf.Type"
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
