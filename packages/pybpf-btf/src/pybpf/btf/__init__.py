"""BPF Type Format: parse, query, marshal, C dump, CO-RE, ext infos, value codec."""

from __future__ import annotations

import importlib

# ``marshal`` is both a function and the submodule defining it: imported lazily,
# the submodule would shadow the function once anything imported it.
from pybpf.btf.marshal import marshal

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from pybpf.btf.cdump import (
        dump_c,
        format_c,
    )
    from pybpf.btf.codec import (
        Codec,
        CodecError,
        CodecTypeError,
        Record,
        codec_for,
    )
    from pybpf.btf.corerelo import (
        POISON_HELPER_ID,
        COREError,
        COREFixup,
        CORERelocator,
        COREResult,
        compute_fixup,
    )
    from pybpf.btf.errors import (
        BTFError,
        TypeNotFoundError,
    )
    from pybpf.btf.ext import (
        CORERelocation,
        CORERelocKind,
        ExtInfos,
        FuncInfo,
        LineInfo,
        SectionExtInfos,
        add_strings,
        attach_ext_infos,
        collect_ext_infos,
        core_relocation,
        encode_core_relocations,
        encode_func_infos,
        encode_line_infos,
        func_info,
        line_info,
        load_ext_infos,
    )
    from pybpf.btf.kernel import (
        load_kernel_module_spec,
        load_kernel_spec,
    )
    from pybpf.btf.sanitize import (
        SanitizeOptions,
    )
    from pybpf.btf.spec import (
        Spec,
        load_spec,
    )
    from pybpf.btf.types import (
        Array,
        Composite,
        Const,
        Datasec,
        DeclTag,
        Enum,
        Enum64,
        EnumValue,
        Float,
        Func,
        FuncParam,
        FuncProto,
        Fwd,
        FwdKind,
        Int,
        IntEncoding,
        Kind,
        Linkage,
        Member,
        Pointer,
        Qualifier,
        Restrict,
        Struct,
        Type,
        Typedef,
        TypeTag,
        Union,
        Var,
        VarSecinfo,
        Void,
        Volatile,
        alignof,
        sizeof,
        skip_qualifiers,
        underlying,
    )

# Where each public name is defined. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "POISON_HELPER_ID": "pybpf.btf.corerelo",
    "Array": "pybpf.btf.types",
    "BTFError": "pybpf.btf.errors",
    "COREError": "pybpf.btf.corerelo",
    "COREFixup": "pybpf.btf.corerelo",
    "CORERelocKind": "pybpf.btf.ext",
    "CORERelocation": "pybpf.btf.ext",
    "CORERelocator": "pybpf.btf.corerelo",
    "COREResult": "pybpf.btf.corerelo",
    "Codec": "pybpf.btf.codec",
    "CodecError": "pybpf.btf.codec",
    "CodecTypeError": "pybpf.btf.codec",
    "Composite": "pybpf.btf.types",
    "Const": "pybpf.btf.types",
    "Datasec": "pybpf.btf.types",
    "DeclTag": "pybpf.btf.types",
    "Enum": "pybpf.btf.types",
    "Enum64": "pybpf.btf.types",
    "EnumValue": "pybpf.btf.types",
    "ExtInfos": "pybpf.btf.ext",
    "Float": "pybpf.btf.types",
    "Func": "pybpf.btf.types",
    "FuncInfo": "pybpf.btf.ext",
    "FuncParam": "pybpf.btf.types",
    "FuncProto": "pybpf.btf.types",
    "Fwd": "pybpf.btf.types",
    "FwdKind": "pybpf.btf.types",
    "Int": "pybpf.btf.types",
    "IntEncoding": "pybpf.btf.types",
    "Kind": "pybpf.btf.types",
    "LineInfo": "pybpf.btf.ext",
    "Linkage": "pybpf.btf.types",
    "Member": "pybpf.btf.types",
    "Pointer": "pybpf.btf.types",
    "Qualifier": "pybpf.btf.types",
    "Record": "pybpf.btf.codec",
    "Restrict": "pybpf.btf.types",
    "SanitizeOptions": "pybpf.btf.sanitize",
    "SectionExtInfos": "pybpf.btf.ext",
    "Spec": "pybpf.btf.spec",
    "Struct": "pybpf.btf.types",
    "Type": "pybpf.btf.types",
    "TypeNotFoundError": "pybpf.btf.errors",
    "TypeTag": "pybpf.btf.types",
    "Typedef": "pybpf.btf.types",
    "Union": "pybpf.btf.types",
    "Var": "pybpf.btf.types",
    "VarSecinfo": "pybpf.btf.types",
    "Void": "pybpf.btf.types",
    "Volatile": "pybpf.btf.types",
    "add_strings": "pybpf.btf.ext",
    "alignof": "pybpf.btf.types",
    "attach_ext_infos": "pybpf.btf.ext",
    "codec_for": "pybpf.btf.codec",
    "collect_ext_infos": "pybpf.btf.ext",
    "compute_fixup": "pybpf.btf.corerelo",
    "core_relocation": "pybpf.btf.ext",
    "dump_c": "pybpf.btf.cdump",
    "encode_core_relocations": "pybpf.btf.ext",
    "encode_func_infos": "pybpf.btf.ext",
    "encode_line_infos": "pybpf.btf.ext",
    "format_c": "pybpf.btf.cdump",
    "func_info": "pybpf.btf.ext",
    "line_info": "pybpf.btf.ext",
    "load_ext_infos": "pybpf.btf.ext",
    "load_kernel_module_spec": "pybpf.btf.kernel",
    "load_kernel_spec": "pybpf.btf.kernel",
    "load_spec": "pybpf.btf.spec",
    "sizeof": "pybpf.btf.types",
    "skip_qualifiers": "pybpf.btf.types",
    "underlying": "pybpf.btf.types",
}

__all__ = [
    "POISON_HELPER_ID",
    "Array",
    "BTFError",
    "COREError",
    "COREFixup",
    "CORERelocKind",
    "CORERelocation",
    "CORERelocator",
    "COREResult",
    "Codec",
    "CodecError",
    "CodecTypeError",
    "Composite",
    "Const",
    "Datasec",
    "DeclTag",
    "Enum",
    "Enum64",
    "EnumValue",
    "ExtInfos",
    "Float",
    "Func",
    "FuncInfo",
    "FuncParam",
    "FuncProto",
    "Fwd",
    "FwdKind",
    "Int",
    "IntEncoding",
    "Kind",
    "LineInfo",
    "Linkage",
    "Member",
    "Pointer",
    "Qualifier",
    "Record",
    "Restrict",
    "SanitizeOptions",
    "SectionExtInfos",
    "Spec",
    "Struct",
    "Type",
    "TypeNotFoundError",
    "TypeTag",
    "Typedef",
    "Union",
    "Var",
    "VarSecinfo",
    "Void",
    "Volatile",
    "add_strings",
    "alignof",
    "attach_ext_infos",
    "codec_for",
    "collect_ext_infos",
    "compute_fixup",
    "core_relocation",
    "dump_c",
    "encode_core_relocations",
    "encode_func_infos",
    "encode_line_infos",
    "format_c",
    "func_info",
    "line_info",
    "load_ext_infos",
    "load_kernel_module_spec",
    "load_kernel_spec",
    "load_spec",
    "marshal",
    "sizeof",
    "skip_qualifiers",
    "underlying",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        # A submodule read as an attribute (``pybpf.x.sub``) before anyone imported it.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
