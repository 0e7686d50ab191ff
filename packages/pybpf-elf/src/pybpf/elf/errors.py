"""The errors of the ELF layer: ``ValueError`` subclasses that say where."""

from __future__ import annotations

__all__ = ["ELFError", "UnspecifiedProgramTypeError"]


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


class UnspecifiedProgramTypeError(ValueError):
    """A program of type ``ProgramType.UNSPEC`` was to be loaded.

    The reader gives that type to programs whose section names none libbpf
    knows (``SEC("cls_test")``) and to a lone ``.text`` function, as libbpf
    does: the user sets the type before loading. The message says how.
    """

    def __init__(self, program: str, section: str) -> None:
        super().__init__(
            f"program {program!r} has no program type (section {section!r} names none): "
            f"set it before loading, e.g. spec.programs[{program!r}].type = "
            "ProgramType.SCHED_CLS"
        )
        #: The program's name.
        self.program = program
        #: The section the program came from.
        self.section = section


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
