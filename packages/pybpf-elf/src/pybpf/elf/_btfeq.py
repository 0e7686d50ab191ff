"""Content equality of BTF types, for comparing specs read from different files.

BTF types compare by identity (as C types do within one program), but two
readings of one object must give equal specs: here two type graphs are equal
when they have the same shape, names and numbers. Cycles (a struct pointing to
itself) are handled by assuming a pair equal while it is being compared.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__all__ = ["content_equal"]

_slot_names: dict[type, tuple[str, ...]] = {}


def _public_slots(cls: type) -> tuple[str, ...]:
    names = _slot_names.get(cls)
    if names is None:
        seen: list[str] = []
        for klass in cls.__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if slot in ("_spec", "__weakref__", "__dict__"):
                    continue
                # Lazy references live in "_x" slots behind an "x" descriptor.
                public = slot[1:] if slot.startswith("_") else slot
                if public not in seen:
                    seen.append(public)
        names = _slot_names[cls] = tuple(seen)
    return names


def content_equal(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` (types, or values holding types) have equal contents."""
    return _eq(a, b, set())


def _eq(a: Any, b: Any, assumed: set[tuple[int, int]]) -> bool:
    if a is b:
        return True
    cls = type(a)
    if cls is not type(b):
        return False
    if cls in (int, str, bytes, bool, float) or a is None:
        return bool(a == b)
    if cls.__name__ == "Instructions" and cls.__module__.startswith("pybpf.asm"):
        return len(a) == len(b) and all(_insn_eq(x, y, assumed) for x, y in zip(a, b, strict=True))
    if cls in (list, tuple):
        return len(a) == len(b) and all(_eq(x, y, assumed) for x, y in zip(a, b, strict=True))
    if not cls.__module__.startswith("pybpf.btf") or cls.__name__ == "Spec":
        # A btf.Spec compares its types by content itself.
        return bool(a == b)
    key = (id(a), id(b))
    if key in assumed:
        return True
    assumed.add(key)
    return all(_eq(getattr(a, n), getattr(b, n), assumed) for n in _public_slots(cls))


def _insn_eq(a: Any, b: Any, assumed: set[tuple[int, int]]) -> bool:
    """Instructions equal in encoding and names, with metadata compared by content.

    Metadata holds BTF records (func info, CO-RE relocations) whose types
    compare by identity on their own.
    """
    if (a.opcode, a.dst, a.src, a.offset, a.constant) != (
        b.opcode,
        b.dst,
        b.src,
        b.offset,
        b.constant,
    ):
        return False
    if (a.symbol, a.label, a.reference) != (b.symbol, b.label, b.reference):
        return False
    ma, mb = a.metadata, b.metadata
    if ma.keys() != mb.keys():
        return False
    return all(_eq(ma[k], mb[k], assumed) for k in ma)
