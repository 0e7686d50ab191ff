"""pybpf.core: kernel objects, starting with maps.

See ``docs/core.md``. Everything public is re-exported here.
"""

from pybpf.core._cpus import possible_cpus
from pybpf.core._uapi_flags import FileFlags, MapFlags, UpdateFlags
from pybpf.core.codec import BytesCodec, Codec, IntCodec
from pybpf.core.errors import (
    BPFError,
    BPFPermissionError,
    ClosedError,
    KeyExistsError,
    KeyNotFoundError,
    LimitError,
    NotSupportedError,
)
from pybpf.core.fd import FD
from pybpf.core.info import MapInfo
from pybpf.core.map import BatchCursor, Map, MapBTF

# Re-exported: Map.type and MapInfo.type hold one, and specs need one.
from pybpf.elf._uapi import MapType

__all__ = [
    "FD",
    "BPFError",
    "BPFPermissionError",
    "BatchCursor",
    "BytesCodec",
    "ClosedError",
    "Codec",
    "FileFlags",
    "IntCodec",
    "KeyExistsError",
    "KeyNotFoundError",
    "LimitError",
    "Map",
    "MapBTF",
    "MapFlags",
    "MapInfo",
    "MapType",
    "NotSupportedError",
    "UpdateFlags",
    "possible_cpus",
]
