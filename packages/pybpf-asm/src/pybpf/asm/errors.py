"""The errors of the instruction layer: ``ValueError`` subclasses that say where."""

from __future__ import annotations

__all__ = ["InstructionError", "UnresolvedReferenceError"]


class InstructionError(ValueError):
    """Bytes or fields that are not a valid eBPF instruction.

    ``offset`` is the byte offset of the offending instruction in the encoded
    program when known, ``index`` its position in an :class:`Instructions`.
    """

    def __init__(self, message: str, *, offset: int | None = None, index: int | None = None):
        where = []
        if offset is not None:
            where.append(f"byte offset {offset}")
        if index is not None:
            where.append(f"instruction {index}")
        text = f"{', '.join(where)}: {message}" if where else message
        super().__init__(text)
        self.message = message
        self.offset = offset
        self.index = index

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.offset, self.index))


class UnresolvedReferenceError(InstructionError):
    """A jump, call or function pointer names a symbol or label that does not exist."""

    def __init__(self, reference: str, *, offset: int | None = None, index: int | None = None):
        super().__init__(f"reference to unknown symbol {reference!r}", offset=offset, index=index)
        self.reference = reference

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_reference, (self.reference, self.offset, self.index))


def _rebuild(
    cls: type[InstructionError], message: str, offset: int | None, index: int | None
) -> InstructionError:
    return cls(message, offset=offset, index=index)


def _rebuild_reference(
    reference: str, offset: int | None, index: int | None
) -> UnresolvedReferenceError:
    return UnresolvedReferenceError(reference, offset=offset, index=index)
