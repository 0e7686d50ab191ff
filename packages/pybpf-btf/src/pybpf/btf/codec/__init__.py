r"""The value codec: Python values to the bytes of a BTF type, and back.

>>> from pybpf.btf import Int, IntEncoding, codec_for
>>> u32 = Int("unsigned int", 4)
>>> codec_for(u32, "little").encode(7)
b'\x07\x00\x00\x00'
"""

from pybpf.btf.codec._base import Codec
from pybpf.btf.codec._compile import cache_clear, codec_for, resolve
from pybpf.btf.codec._record import Record, asdict, fields
from pybpf.btf.codec.errors import CodecError, CodecTypeError

__all__ = [
    "Codec",
    "CodecError",
    "CodecTypeError",
    "Record",
    "asdict",
    "cache_clear",
    "codec_for",
    "fields",
    "resolve",
]
