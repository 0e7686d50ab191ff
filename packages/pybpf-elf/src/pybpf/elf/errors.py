"""The error of the ELF layer: a ``ValueError`` that says where."""

from __future__ import annotations

__all__ = ["ELFError"]


class ELFError(ValueError):
    """An object file pybpf cannot read: corrupt, inconsistent or unsupported.

    ``section``, ``symbol`` and ``offset`` (a byte offset, into the section when
    a section is named, else into the file) say where, when known; the message
    repeats them.
    """

    def __init__(
        self,
        message: str,
        *,
        section: str | None = None,
        symbol: str | None = None,
        offset: int | None = None,
    ) -> None:
        where = []
        if section is not None:
            where.append(f"section {section!r}")
        if symbol is not None:
            where.append(f"symbol {symbol!r}")
        if offset is not None:
            where.append(f"offset {offset:#x}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.message = message
        self.section = section
        self.symbol = symbol
        self.offset = offset


class Where:
    """A place in the object (section, symbol, offset), for building errors."""

    __slots__ = ("offset", "section", "symbol")

    def __init__(
        self, section: str | None = None, symbol: str | None = None, offset: int | None = None
    ) -> None:
        self.section = section
        self.symbol = symbol
        self.offset = offset

    def error(self, message: str) -> ELFError:
        """An :class:`ELFError` at this place."""
        return ELFError(message, section=self.section, symbol=self.symbol, offset=self.offset)
