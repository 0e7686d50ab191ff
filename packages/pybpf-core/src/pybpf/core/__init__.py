"""pybpf.core: kernel objects: maps, programs, collections.

See ``docs/core.md``. Everything public is re-exported here, with the spec
side of ``pybpf.elf`` so that a loading user imports from one place.
"""

from pybpf.core._arena import Arena, ArenaError
from pybpf.core._bpffs import PinPathError
from pybpf.core._cpus import possible_cpus
from pybpf.core._owner import ObjectKindError
from pybpf.core._pinning import IncompatibleMapError
from pybpf.core._uapi import FileFlags, MapFlags, RunFlags, UpdateFlags
from pybpf.core.assign import load_into
from pybpf.core.codec import BytesCodec, Codec, IntCodec
from pybpf.core.collection import Collection, CollectionOptions, load_collection
from pybpf.core.errors import (
    BPFError,
    BPFPermissionError,
    ClosedError,
    KeyExistsError,
    KeyNotFoundError,
    LimitError,
    NotSupportedError,
    VerifierError,
)
from pybpf.core.fd import FD
from pybpf.core.histogram import log2_histogram
from pybpf.core.info import MapInfo
from pybpf.core.inventory import map_ids, maps, program_ids, programs
from pybpf.core.map import BatchCursor, Map, MapBTF
from pybpf.core.perf import (
    HardwareEvent,
    PerfBuffer,
    PerfEventAttr,
    PerfEventFlag,
    PerfRecord,
    PerfType,
    SampleType,
    SoftwareEvent,
    perf_event_open,
)
from pybpf.core.prog_info import ProgramInfo, enable_stats
from pybpf.core.program import Program, RunResult
from pybpf.core.ringbuf import Reservation, RingBuffer, RingBuffers, UserRingBuffer
from pybpf.core.variable import Variable

# Re-exported: Map.type and MapInfo.type hold one, and specs need one.
from pybpf.elf import (
    AttachType,
    CollectionSpec,
    MapSpec,
    MapType,
    Pinning,
    ProgramSpec,
    ProgramType,
    VariableSpec,
    load_collection_spec,
)

__all__ = [
    "FD",
    "Arena",
    "ArenaError",
    "AttachType",
    "BPFError",
    "BPFPermissionError",
    "BatchCursor",
    "BytesCodec",
    "ClosedError",
    "Codec",
    "Collection",
    "CollectionOptions",
    "CollectionSpec",
    "FileFlags",
    "HardwareEvent",
    "IncompatibleMapError",
    "IntCodec",
    "KeyExistsError",
    "KeyNotFoundError",
    "LimitError",
    "Map",
    "MapBTF",
    "MapFlags",
    "MapInfo",
    "MapSpec",
    "MapType",
    "NotSupportedError",
    "ObjectKindError",
    "PerfBuffer",
    "PerfEventAttr",
    "PerfEventFlag",
    "PerfRecord",
    "PerfType",
    "PinPathError",
    "Pinning",
    "Program",
    "ProgramInfo",
    "ProgramSpec",
    "ProgramType",
    "Reservation",
    "RingBuffer",
    "RingBuffers",
    "RunFlags",
    "RunResult",
    "SampleType",
    "SoftwareEvent",
    "UpdateFlags",
    "UserRingBuffer",
    "Variable",
    "VariableSpec",
    "VerifierError",
    "enable_stats",
    "load_collection",
    "load_collection_spec",
    "load_into",
    "log2_histogram",
    "map_ids",
    "maps",
    "perf_event_open",
    "possible_cpus",
    "program_ids",
    "programs",
]
