"""Which BTF kinds the kernel accepts, for :class:`~pybpf.btf.SanitizeOptions`.

As libbpf's ``probe_kern_btf_*``: load the smallest blob that uses the kind
and see whether the kernel takes it. Asked only for the kinds an object's
BTF uses, and once per boot (:mod:`pybpf.core._boot_facts`): a definite
answer (taken, or refused with EINVAL) is kept for later processes; any
other failure (EPERM without privileges) counts as "not supported" in this
process and is not kept.
"""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable, Iterable

from pybpf.btf import (
    BTFError,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncParam,
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
    Void,
    marshal,
)
from pybpf.core import _boot_facts, _cmds, _prog_load
from pybpf.core.errors import BPFError
from pybpf.elf import ProgramType


def _accepts(types: list[Type]) -> bool | None:
    """Whether the kernel loads ``types``; None when its refusal says nothing about them."""
    try:
        blob = marshal(types, byte_order="little" if sys.byteorder == "little" else "big")
        _cmds.btf_load(blob, "probe BTF").close()
    except BPFError as exc:
        return False if exc.errno == errno.EINVAL else None
    except BTFError:
        return None
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


def _decl_tag(attribute: bool) -> list[Type]:
    i = _int()
    var = Var("x", i, Linkage.GLOBAL)
    return [i, var, DeclTag("tag", var, attribute=attribute)]


def _type_tag() -> list[Type]:
    i = _int()
    tag = TypeTag("tag", i)
    return [i, tag, Pointer(tag)]


#: Each field of :class:`SanitizeOptions`, and the smallest BTF that needs it.
_PROBES: dict[str, Callable[[], list[Type]]] = {
    "func": lambda: _func(Linkage.STATIC),
    "func_global": lambda: _func(Linkage.GLOBAL),
    "datasec": lambda: _datasec(".data"),
    "qmark_datasec": lambda: _datasec("?.data"),
    "float": lambda: [Float("float", 4)],
    "decl_tag": lambda: _decl_tag(attribute=False),
    "type_tag": _type_tag,
    "enum64": lambda: [Enum64("e", 8, [EnumValue("A", 1 << 40)])],
    "tag_attributes": lambda: _decl_tag(attribute=True),
}


@functools.cache
def supported(feature: str) -> bool:
    """Whether the kernel's BTF loader accepts ``feature`` (a field of SanitizeOptions)."""
    probe = _PROBES[feature]
    return bool(_boot_facts.probed(f"btf_{feature}", lambda: _accepts(probe())))


def features_used(types: Iterable[Type]) -> set[str]:
    """The fields of :class:`SanitizeOptions` whose rewrite would change ``types``."""
    used: set[str] = set()
    for t in types:
        if isinstance(t, Func):
            used.add("func")
            if t.linkage != Linkage.STATIC:
                used.add("func_global")
        elif isinstance(t, FuncProto):
            used.add("func")
        elif isinstance(t, Var):
            used.add("datasec")
        elif isinstance(t, Datasec):
            used.add("datasec")
            if t.name.startswith("?"):
                used.add("qmark_datasec")
        elif isinstance(t, Float):
            used.add("float")
        elif isinstance(t, Enum):  # Enum64 too
            if t.signed or isinstance(t, Enum64):
                used.add("enum64")
        elif isinstance(t, DeclTag | TypeTag):
            used.add("decl_tag" if isinstance(t, DeclTag) else "type_tag")
            if t.attribute:
                used.add("tag_attributes")
    return used


def sanitize_options(types: Iterable[Type] | None = None) -> SanitizeOptions:
    """What this kernel's BTF loader accepts, as the btf layer's sanitizer wants it.

    With ``types`` (an object's BTF), only the features those types use are
    probed: a feature they do not use needs no rewrite, and keeps the
    default ("supported"). Each feature is probed once per boot.
    """
    wanted = _PROBES.keys() if types is None else features_used(types)
    return SanitizeOptions(**{feature: supported(feature) for feature in wanted})


def _arg_ctx_probe() -> bool | None:
    """Whether the verifier takes a ``void *`` tagged ``arg:ctx`` as the context (libbpf's probe).

    A kprobe program calls a global subprogram whose only argument is such a
    ``void *``; the subprogram passes it to ``bpf_get_func_ip``, which wants
    the context. EINVAL or EACCES (the verifier's refusal) means no.
    """
    i = _int()
    void_ptr = Pointer(Void())
    main_proto = FuncProto(i, [FuncParam("a", void_ptr)])
    main = Func("a", main_proto, Linkage.GLOBAL)
    sub_proto = FuncProto(i, [FuncParam("b", void_ptr)])
    sub = Func("b", sub_proto, Linkage.GLOBAL)
    tag = DeclTag("arg:ctx", sub, component_idx=0)
    types: list[Type] = [i, void_ptr, main_proto, main, sub_proto, sub, tag]
    try:
        blob = marshal(types, byte_order="little" if sys.byteorder == "little" else "big")
        btf = _cmds.btf_load(blob, "probe arg:ctx")
    except BPFError as exc:
        # EINVAL: no decl tags, so no arg:ctx either; other refusals say nothing.
        return False if exc.errno == errno.EINVAL else None
    except BTFError:
        return None
    with btf:
        # call +1; exit; call bpf_get_func_ip (173); exit
        regs = 0x10 if sys.byteorder == "little" else 0x01
        code = b"".join(
            bytes([op, reg]) + b"\0\0" + imm.to_bytes(4, sys.byteorder)
            for op, reg, imm in ((0x85, regs, 1), (0x95, 0, 0), (0x85, 0, 173), (0x95, 0, 0))
        )
        funcs = b"".join(
            off.to_bytes(4, sys.byteorder) + type_id.to_bytes(4, sys.byteorder)
            for off, type_id in ((0, 4), (2, 6))  # FUNC a, FUNC b
        )
        req = _prog_load.LoadRequest(
            "det_arg_ctx",
            ProgramType.KPROBE,
            code,
            license="GPL",
            btf_fd=btf.number,
            func_info=funcs,
        )
        try:
            fd, _ = _prog_load.load(req)
        except BPFError as exc:
            return False if exc.errno in (errno.EINVAL, errno.EACCES) else None
        fd.close()
    return True


def native_arg_ctx() -> bool:
    """Whether the kernel reads ``arg:ctx`` itself (6.8+); asked once per boot."""
    return bool(_boot_facts.probed("arg_ctx", _arg_ctx_probe))
