"""Which BTF kinds the kernel accepts, for :class:`~pybpf.btf.SanitizeOptions`.

As libbpf's ``probe_kern_btf_*``: load the smallest blob that uses the kind
and see whether the kernel takes it. Asked once per process.
"""

from __future__ import annotations

import functools
import sys

from pybpf.btf import (
    BTFError,
    Datasec,
    DeclTag,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Int,
    IntEncoding,
    Linkage,
    Pointer,
    SanitizeOptions,
    Type,
    TypeTag,
    Var,
    VarSecinfo,
    marshal,
)
from pybpf.core import _cmds
from pybpf.core.errors import BPFError


def _accepts(types: list[Type]) -> bool:
    try:
        blob = marshal(types, byte_order="little" if sys.byteorder == "little" else "big")
        _cmds.btf_load(blob, "probe BTF").close()
    except (BPFError, BTFError):
        return False
    return True


def _int() -> Int:
    return Int("int", 4, encoding=IntEncoding.SIGNED)


def _func(linkage: Linkage) -> list[Type]:
    i = _int()
    proto = FuncProto(i)
    return [i, proto, Func("f", proto, linkage)]


def _datasec(name: str) -> list[Type]:
    i = _int()
    var = Var("x", i, Linkage.GLOBAL)
    return [i, var, Datasec(name, 4, [VarSecinfo(var, 0, 4)])]


@functools.cache
def sanitize_options() -> SanitizeOptions:
    """What this kernel's BTF loader accepts, as the btf layer's sanitizer wants it."""
    i = _int()
    var = Var("x", i, Linkage.GLOBAL)
    tag = TypeTag("tag", i)
    return SanitizeOptions(
        func=_accepts(_func(Linkage.STATIC)),
        func_global=_accepts(_func(Linkage.GLOBAL)),
        datasec=_accepts(_datasec(".data")),
        qmark_datasec=_accepts(_datasec("?.data")),
        float=_accepts([Float("float", 4)]),
        decl_tag=_accepts([i, var, DeclTag("tag", var)]),
        type_tag=_accepts([i, tag, Pointer(tag)]),
        enum64=_accepts([Enum64("e", 8, [EnumValue("A", 1 << 40)])]),
        tag_attributes=_accepts([i, var, DeclTag("tag", var, attribute=True)]),
    )
