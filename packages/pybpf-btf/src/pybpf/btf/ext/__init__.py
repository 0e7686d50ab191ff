"""``.BTF.ext``: function, line and CO-RE records per ELF section, and on instructions.

The names load on first use (PEP 562): reading an object imports only the
packed records it needs (:mod:`pybpf.btf.ext.packed`), not the eager tables,
the kernel encoders or the instruction helpers.
"""

from __future__ import annotations

from pybpf.asm.exports import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from pybpf.btf.ext.attach import (
        CORE_RELOCATION_KEY,
        FUNC_INFO_KEY,
        LINE_INFO_KEY,
        attach_ext_infos,
        collect_ext_infos,
        core_relocation,
        func_info,
        line_info,
    )
    from pybpf.btf.ext.infos import ExtInfos, SectionExtInfos, load_ext_infos
    from pybpf.btf.ext.kernel import (
        CORE_RELO_SIZE,
        FUNC_INFO_SIZE,
        LINE_INFO_SIZE,
        encode_core_relocations,
        encode_func_infos,
        encode_line_infos,
    )
    from pybpf.btf.ext.records import CORERelocation, CORERelocKind, FuncInfo, LineInfo
    from pybpf.btf.ext.strings import add_strings

_EXPORTS: dict[str, tuple[str, ...]] = {
    "pybpf.btf.ext.attach": (
        "CORE_RELOCATION_KEY",
        "FUNC_INFO_KEY",
        "LINE_INFO_KEY",
        "attach_ext_infos",
        "collect_ext_infos",
        "core_relocation",
        "func_info",
        "line_info",
    ),
    "pybpf.btf.ext.infos": ("ExtInfos", "SectionExtInfos", "load_ext_infos"),
    "pybpf.btf.ext.kernel": (
        "CORE_RELO_SIZE",
        "FUNC_INFO_SIZE",
        "LINE_INFO_SIZE",
        "encode_core_relocations",
        "encode_func_infos",
        "encode_line_infos",
    ),
    "pybpf.btf.ext.records": ("CORERelocation", "CORERelocKind", "FuncInfo", "LineInfo"),
    "pybpf.btf.ext.strings": ("add_strings",),
}

__all__ = [
    "CORE_RELOCATION_KEY",
    "CORE_RELO_SIZE",
    "FUNC_INFO_KEY",
    "FUNC_INFO_SIZE",
    "LINE_INFO_KEY",
    "LINE_INFO_SIZE",
    "CORERelocKind",
    "CORERelocation",
    "ExtInfos",
    "FuncInfo",
    "LineInfo",
    "SectionExtInfos",
    "add_strings",
    "attach_ext_infos",
    "collect_ext_infos",
    "core_relocation",
    "encode_core_relocations",
    "encode_func_infos",
    "encode_line_infos",
    "func_info",
    "line_info",
    "load_ext_infos",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
