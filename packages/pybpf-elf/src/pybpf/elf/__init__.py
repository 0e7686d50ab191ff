"""pybpf.elf: the specs, and the reader that makes them from clang's BPF objects.

:class:`Binary` reads native executables and shared objects with the same
parser (segments, versioned symbols, notes), for uprobes and USDT probes.

>>> from pybpf.elf import load_collection_spec
>>> spec = load_collection_spec("testdata/loader-el.o")  # doctest: +SKIP
"""

from pybpf.elf._uapi import AttachType, MapType, ProgramType
from pybpf.elf.binary import Binary, BinarySymbol, Segment
from pybpf.elf.errors import ELFError, UnspecifiedProgramTypeError
from pybpf.elf.names import attach_type_name, map_type_name, program_type_name
from pybpf.elf.reader import Source, load_collection_spec
from pybpf.elf.sections import SECTION_DEFS, SectionDef, SectionInfo, match_section
from pybpf.elf.spec import (
    ByteOrder,
    CollectionSpec,
    Extern,
    ExternKind,
    MapSpec,
    Pinning,
    ProgramSpec,
    VariableSpec,
)

__all__ = [
    "SECTION_DEFS",
    "AttachType",
    "Binary",
    "BinarySymbol",
    "ByteOrder",
    "CollectionSpec",
    "ELFError",
    "Extern",
    "ExternKind",
    "MapSpec",
    "MapType",
    "Pinning",
    "ProgramSpec",
    "ProgramType",
    "SectionDef",
    "SectionInfo",
    "Segment",
    "Source",
    "UnspecifiedProgramTypeError",
    "VariableSpec",
    "attach_type_name",
    "load_collection_spec",
    "map_type_name",
    "match_section",
    "program_type_name",
]
