"""Python names for C names: classes in CamelCase, attributes as valid identifiers."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

__all__ = ["attribute_name", "class_name", "unique"]

_NOT_IDENT = re.compile(r"[^0-9A-Za-z_]+")
#: Names that read like digits (pycodestyle's E741).
_AMBIGUOUS = frozenset({"l", "O", "I"})


def class_name(c_name: str) -> str:
    """``flow_key`` → ``FlowKey``, ``verdict`` → ``Verdict``, ``pkt_t`` → ``Pkt``."""
    base = _NOT_IDENT.sub("_", c_name)
    if base.endswith("_t") and len(base) > 2:
        base = base[:-2]
    words = [w for w in base.split("_") if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name or name[0].isdigit():
        name = "T" + name
    return name


def attribute_name(c_name: str, taken: Iterable[str] = ()) -> str:
    """``c_name`` as an attribute name: no leading underscores (no mangling), no keywords."""
    name = _NOT_IDENT.sub("_", c_name).lstrip("_") or "field"
    if name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _AMBIGUOUS:
        name += "_"
    return unique(name, taken)


def unique(name: str, taken: Iterable[str]) -> str:
    """``name``, with ``_`` appended until it is not among ``taken``."""
    used = set(taken)
    while name in used:
        name += "_"
    return name
