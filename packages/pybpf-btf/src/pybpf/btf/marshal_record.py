"""The raw layout of one BTF type record, between marshal and sanitize."""

from __future__ import annotations

from dataclasses import dataclass, field

from pybpf.btf.types import Kind

__all__ = ["Record"]


@dataclass(slots=True)
class Record:
    """One raw type record: the common header, then ``extra`` words.

    A ``str`` in ``extra`` stands for that string's offset (member, parameter
    and enumerator names), resolved when encoding.
    """

    kind: Kind
    name: str = ""
    size_or_type: int = 0
    vlen: int = 0
    kind_flag: bool = False
    extra: list[int | str] = field(default_factory=list)
