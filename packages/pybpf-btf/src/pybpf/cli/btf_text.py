"""BTF types as short C-like text (``struct task_struct *``), for listings and diffs.

Unlike a type id, the text is the same in every BTF blob that describes the
same type, which is what a diff between two kernels compares.
"""

from __future__ import annotations

from pybpf.btf.types import (
    Array,
    Composite,
    Const,
    Datasec,
    Enum,
    Func,
    FuncProto,
    Fwd,
    FwdKind,
    Pointer,
    Qualifier,
    Restrict,
    Struct,
    Type,
    TypeTag,
    Var,
    Void,
    Volatile,
)

__all__ = ["type_text"]

_QUALIFIERS: dict[type[Qualifier], str] = {
    Const: "const",
    Volatile: "volatile",
    Restrict: "restrict",
}


def type_text(t: Type, depth: int = 0) -> str:
    """How C would name ``t``: ``u32``, ``struct sock *``, ``char[16]``, ``int (*)(void *)``."""
    if depth > 16:
        return "..."
    if isinstance(t, Void):
        return "void"
    if isinstance(t, Pointer):
        return f"{type_text(t.target, depth + 1)} *"
    if isinstance(t, TypeTag):
        return f"{type_text(t.type, depth + 1)} __tag({t.value})"
    if isinstance(t, Qualifier):
        word = _QUALIFIERS.get(type(t), t.kind.name.lower())
        return f"{word} {type_text(t.type, depth + 1)}"
    if isinstance(t, Array):
        return f"{type_text(t.type, depth + 1)}[{t.nelems}]"
    if isinstance(t, FuncProto):
        params = ", ".join(type_text(p.type, depth + 1) for p in t.params) or "void"
        return f"{type_text(t.return_type, depth + 1)} (*)({params})"
    if isinstance(t, (Func, Var)):
        return type_text(t.type, depth + 1)
    if isinstance(t, Composite):
        word = "struct" if isinstance(t, Struct) else "union"
        return f"{word} {t.name}" if t.name else f"{word} {{...}}"
    if isinstance(t, Enum):
        return f"enum {t.name}" if t.name else "enum {...}"
    if isinstance(t, Fwd):
        return f"{'union' if t.fwd_kind == FwdKind.UNION else 'struct'} {t.name}"
    if isinstance(t, Datasec):
        return f"section {t.name}"
    return t.name or t.kind.name.lower()
