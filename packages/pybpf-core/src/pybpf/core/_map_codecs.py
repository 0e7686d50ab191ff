"""Which codecs a map's keys and values go through.

The BTF value codec of the key and value types where they describe the map's
bytes (from a spec, or from the BTF the kernel holds for an existing map),
else what the caller asked for, else raw bytes (and the ids that maps of maps
and program arrays return as u32 ints).
"""

from __future__ import annotations

from pybpf.btf import BTFError, Datasec, TypeNotFoundError
from pybpf.core import _kernel_btf
from pybpf.core.codec import BytesCodec, IntCodec, btf_codec
from pybpf.core.errors import BPFError
from pybpf.elf import MapType

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    from pybpf.btf import Type as BTFType
    from pybpf.core.codec import Codec
    from pybpf.core.info import MapInfo
    from pybpf.elf.spec import MapSpec

__all__ = ["ID_VALUED", "CodecArg", "codecs", "info_codecs", "spec_codecs"]

#: What ``key_codec``/``value_codec`` accept: a codec, or ``int``/``bytes`` for the stock ones.
CodecArg: TypeAlias = "Codec | type[int] | type[bytes] | None"

#: Types whose lookups return the id of the object stored (a u32).
ID_VALUED = frozenset({MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})


def codecs(
    map_type: int, key_size: int, value_size: int, key_codec: CodecArg, value_codec: CodecArg
) -> tuple[Codec, Codec]:
    """The key and value codecs of a map: those given, else the defaults of its type."""
    default_value: Codec = (
        IntCodec(value_size) if map_type in ID_VALUED and value_size == 4 else BytesCodec()
    )
    return (
        _as_codec(key_codec, key_size, BytesCodec()),
        _as_codec(value_codec, value_size, default_value),
    )


def _as_codec(codec: CodecArg, size: int, default: Codec) -> Codec:
    if codec is None:
        return default
    if codec is int:
        return IntCodec(size)
    if codec is bytes:
        return BytesCodec()
    if isinstance(codec, type):
        raise TypeError(f"codec must be int, bytes or a Codec instance, not {codec.__name__}")
    return codec


def _btf_codecs(
    map_type: int,
    key_type: BTFType | None,
    value_type: BTFType | None,
    key_size: int,
    value_size: int,
) -> tuple[Codec | None, Codec | None]:
    """The BTF codecs of a map's key and value, where they describe the map's bytes."""
    if map_type == MapType.STRUCT_OPS or isinstance(value_type, Datasec):
        # A data section is read through its Variables; a struct_ops value
        # has the kernel's layout, not the BTF type of the object's struct.
        return None, None
    key = btf_codec(key_type, key_size)
    value = None if map_type in ID_VALUED else btf_codec(value_type, value_size)
    return key, value


def spec_codecs(spec: MapSpec) -> tuple[Codec | None, Codec | None]:
    """The BTF codecs of a spec's key and value."""
    if spec.section is not None:
        return None, None
    return _btf_codecs(spec.type, spec.key_type, spec.value_type, spec.key_size, spec.value_size)


def info_codecs(info: MapInfo) -> tuple[Codec | None, Codec | None]:
    """The BTF codecs of an existing map's key and value, from the BTF the kernel holds for it.

    Raw (None) when the map has no BTF, or when its BTF cannot be read or parsed
    here (gone meanwhile, or not allowed: opening BTF by id needs CAP_SYS_ADMIN).
    """
    if not info.btf_id or info.btf_vmlinux_value_type_id:
        return None, None
    try:
        spec = _kernel_btf.btf_spec_by_id(info.btf_id)
        key_type = spec.type_by_id(info.btf_key_type_id) if info.btf_key_type_id else None
        value_type = spec.type_by_id(info.btf_value_type_id) if info.btf_value_type_id else None
    except (BPFError, BTFError, TypeNotFoundError):
        return None, None
    return _btf_codecs(info.type, key_type, value_type, info.key_size, info.value_size)
