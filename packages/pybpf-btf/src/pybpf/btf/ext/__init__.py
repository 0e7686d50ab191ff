"""``.BTF.ext``: function, line and CO-RE records per ELF section, and on instructions."""

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
