"""pybpf.elf: the specs, and the reader that makes them from clang's BPF objects.

:class:`Binary` reads native executables and shared objects with the same
parser (segments, versioned symbols, notes), for uprobes and USDT probes.

>>> from pybpf.elf import load_collection_spec
>>> spec = load_collection_spec("testdata/loader-el.o")  # doctest: +SKIP
"""

from __future__ import annotations

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from pybpf.elf._uapi import (
        AttachType,
        MapType,
        ProgramType,
    )
    from pybpf.elf.binary import (
        Binary,
        BinarySymbol,
        Segment,
    )
    from pybpf.elf.errors import (
        ELFError,
        UnspecifiedProgramTypeError,
    )
    from pybpf.elf.names import (
        attach_type_name,
        map_type_name,
        program_type_name,
    )
    from pybpf.elf.reader import (
        Source,
        load_collection_spec,
    )
    from pybpf.elf.sections import (
        SECTION_DEFS,
        SectionDef,
        SectionInfo,
        match_section,
    )
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

# The public names, by the module defining each. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "pybpf.elf._uapi": (
        "AttachType",
        "MapType",
        "ProgramType",
    ),
    "pybpf.elf.binary": (
        "Binary",
        "BinarySymbol",
        "Segment",
    ),
    "pybpf.elf.errors": (
        "ELFError",
        "UnspecifiedProgramTypeError",
    ),
    "pybpf.elf.names": (
        "attach_type_name",
        "map_type_name",
        "program_type_name",
    ),
    "pybpf.elf.reader": (
        "Source",
        "load_collection_spec",
    ),
    "pybpf.elf.sections": (
        "SECTION_DEFS",
        "SectionDef",
        "SectionInfo",
        "match_section",
    ),
    "pybpf.elf.spec": (
        "ByteOrder",
        "CollectionSpec",
        "Extern",
        "ExternKind",
        "MapSpec",
        "Pinning",
        "ProgramSpec",
        "VariableSpec",
    ),
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
