"""BPF Type Format: parse, query, marshal, C dump, CO-RE, ext infos, value codec."""

from __future__ import annotations

from pybpf.asm.exports import lazy_exports

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
    from pybpf.btf.layout import (
        alignof,
        sizeof,
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
        skip_qualifiers,
        underlying,
    )

# The public names, by the module defining each. A name's module is imported the first time
# the name is read (PEP 562), so an import of this package costs only what its
# caller uses.
_EXPORTS = {
    "pybpf.btf.cdump": (
        "dump_c",
        "format_c",
    ),
    "pybpf.btf.codec": (
        "Codec",
        "CodecError",
        "CodecTypeError",
        "Record",
        "codec_for",
    ),
    "pybpf.btf.corerelo": (
        "POISON_HELPER_ID",
        "COREError",
        "COREFixup",
        "CORERelocator",
        "COREResult",
        "compute_fixup",
    ),
    "pybpf.btf.errors": (
        "BTFError",
        "TypeNotFoundError",
    ),
    "pybpf.btf.ext": (
        "CORERelocation",
        "CORERelocKind",
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
    ),
    "pybpf.btf.kernel": (
        "load_kernel_module_spec",
        "load_kernel_spec",
    ),
    "pybpf.btf.layout": (
        "alignof",
        "sizeof",
    ),
    "pybpf.btf.sanitize": ("SanitizeOptions",),
    "pybpf.btf.spec": (
        "Spec",
        "load_spec",
    ),
    "pybpf.btf.types": (
        "Array",
        "Composite",
        "Const",
        "Datasec",
        "DeclTag",
        "Enum",
        "Enum64",
        "EnumValue",
        "Float",
        "Func",
        "FuncParam",
        "FuncProto",
        "Fwd",
        "FwdKind",
        "Int",
        "IntEncoding",
        "Kind",
        "Linkage",
        "Member",
        "Pointer",
        "Qualifier",
        "Restrict",
        "Struct",
        "Type",
        "Typedef",
        "TypeTag",
        "Union",
        "Var",
        "VarSecinfo",
        "Void",
        "Volatile",
        "skip_qualifiers",
        "underlying",
    ),
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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)
