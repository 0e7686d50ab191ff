"""The raw layout of one BTF type record, between marshal and sanitize."""

from __future__ import annotations

from pybpf.btf.types import Kind

__all__ = ["Record"]


class Record:
    """One raw type record: the common header, then ``extra`` words.

    A ``str`` in ``extra`` stands for that string's offset (member, parameter
    and enumerator names), resolved when encoding.
    """

    # A plain class: a dataclass costs a few hundred microseconds to define,
    # at every start of a process that loads an object (its BTF is marshalled).
    __slots__ = ("extra", "kind", "kind_flag", "name", "size_or_type", "vlen")

    def __init__(  # noqa: PLR0917 (the record header, in its order)
        self,
        kind: Kind,
        name: str = "",
        size_or_type: int = 0,
        vlen: int = 0,
        kind_flag: bool = False,
        extra: list[int | str] | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.size_or_type = size_or_type
        self.vlen = vlen
        self.kind_flag = kind_flag
        self.extra = extra if extra is not None else []

    def copy(self) -> Record:
        """A copy whose ``extra`` may be changed without changing this record's."""
        return Record(
            self.kind, self.name, self.size_or_type, self.vlen, self.kind_flag, list(self.extra)
        )

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.name, self.size_or_type, self.vlen, self.kind_flag, self.extra)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Record:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Record(kind={self.kind!r}, name={self.name!r}, size_or_type={self.size_or_type!r}, "
            f"vlen={self.vlen!r}, kind_flag={self.kind_flag!r}, extra={self.extra!r})"
        )
