"""pybpf.core: kernel objects (maps, programs, collections), event readers, feature probes.

See ``docs/core.md``. Everything public is re-exported here, with the spec
side of ``pybpf.elf`` so that a loading user imports from one place; lazily,
so that ``import pybpf.core`` costs only what its caller uses.
"""

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from pybpf.core._arena import (
        Arena,
    )
    from pybpf.core._cpus import (
        possible_cpus,
    )
    from pybpf.core._perf_event import (
        PerfEventAttr,
        perf_event_open,
    )
    from pybpf.core._uapi import (
        MapFlags,
    )
    from pybpf.core._uapi_access import (
        FileFlags,
        UpdateFlags,
    )
    from pybpf.core._uapi_perf import (
        HardwareEvent,
        PerfEventFlag,
        PerfType,
        SampleType,
        SoftwareEvent,
    )
    from pybpf.core._uapi_run import (
        RunFlags,
    )
    from pybpf.core.assign import (
        load_into,
    )
    from pybpf.core.codec import (
        BytesCodec,
        Codec,
        IntCodec,
    )
    from pybpf.core.collection import (
        Collection,
        CollectionOptions,
        load_collection,
    )
    from pybpf.core.errors import (
        ArenaError,
        BPFError,
        BPFPermissionError,
        ClosedError,
        IncompatibleMapError,
        KeyExistsError,
        KeyNotFoundError,
        LimitError,
        NotSupportedError,
        ObjectKindError,
        PinPathError,
        VerifierError,
    )
    from pybpf.core.fd import (
        FD,
    )
    from pybpf.core.generated import (
        GeneratedObjects,
    )
    from pybpf.core.histogram import (
        log2_histogram,
    )
    from pybpf.core.info import (
        MapInfo,
    )
    from pybpf.core.inventory import (
        map_ids,
        maps,
        program_ids,
        programs,
    )
    from pybpf.core.map import (
        BatchCursor,
        Map,
        MapBTF,
    )
    from pybpf.core.perf import (
        PerfBuffer,
        PerfRecord,
    )
    from pybpf.core.prog_info import (
        ProgramInfo,
        enable_stats,
    )
    from pybpf.core.program import (
        Program,
        RunResult,
    )
    from pybpf.core.ringbuf import (
        Reservation,
        RingBuffer,
        RingBuffers,
        UserRingBuffer,
    )
    from pybpf.core.variable import (
        Variable,
    )
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

# The public names, by the module defining each (pybpf.elf's: the spec side, so
# that a loading user imports from one place). A name's module is imported the
# first time the name is read (PEP 562).
_EXPORTS = {
    "pybpf.core._arena": ("Arena",),
    "pybpf.core._cpus": ("possible_cpus",),
    "pybpf.core._perf_event": (
        "PerfEventAttr",
        "perf_event_open",
    ),
    "pybpf.core._uapi": ("MapFlags",),
    "pybpf.core._uapi_access": (
        "FileFlags",
        "UpdateFlags",
    ),
    "pybpf.core._uapi_perf": (
        "HardwareEvent",
        "PerfEventFlag",
        "PerfType",
        "SampleType",
        "SoftwareEvent",
    ),
    "pybpf.core._uapi_run": ("RunFlags",),
    "pybpf.core.assign": ("load_into",),
    "pybpf.core.codec": (
        "BytesCodec",
        "Codec",
        "IntCodec",
    ),
    "pybpf.core.collection": (
        "Collection",
        "CollectionOptions",
        "load_collection",
    ),
    "pybpf.core.errors": (
        "ArenaError",
        "BPFError",
        "BPFPermissionError",
        "ClosedError",
        "IncompatibleMapError",
        "KeyExistsError",
        "KeyNotFoundError",
        "LimitError",
        "NotSupportedError",
        "ObjectKindError",
        "PinPathError",
        "VerifierError",
    ),
    "pybpf.core.fd": ("FD",),
    "pybpf.core.generated": ("GeneratedObjects",),
    "pybpf.core.histogram": ("log2_histogram",),
    "pybpf.core.info": ("MapInfo",),
    "pybpf.core.inventory": (
        "map_ids",
        "maps",
        "program_ids",
        "programs",
    ),
    "pybpf.core.map": (
        "BatchCursor",
        "Map",
        "MapBTF",
    ),
    "pybpf.core.perf": (
        "PerfBuffer",
        "PerfRecord",
    ),
    "pybpf.core.prog_info": (
        "ProgramInfo",
        "enable_stats",
    ),
    "pybpf.core.program": (
        "Program",
        "RunResult",
    ),
    "pybpf.core.ringbuf": (
        "Reservation",
        "RingBuffer",
        "RingBuffers",
        "UserRingBuffer",
    ),
    "pybpf.core.variable": ("Variable",),
    "pybpf.elf": (
        "AttachType",
        "CollectionSpec",
        "MapSpec",
        "MapType",
        "Pinning",
        "ProgramSpec",
        "ProgramType",
        "VariableSpec",
        "load_collection_spec",
    ),
}

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
    "GeneratedObjects",
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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
