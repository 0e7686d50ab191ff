"""Errors of the value codec: each names the field path of the offending value."""

from __future__ import annotations

__all__ = ["CodecError", "CodecTypeError"]


class CodecError(ValueError):
    """A value does not fit its BTF type (range, length, unknown member or enumerator).

    ``path`` names where, from the outermost type down: ``task.comm[3]``.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def within(self, step: str) -> CodecError:
        """Prefix the path with an enclosing member (``.name``) or index (``[3]``)."""
        self.path = step + self.path
        self.args = (str(self),)
        return self

    def rooted(self, root: str) -> CodecError:
        """Name the outermost type, once the error leaves the codec."""
        self.path = root + self.path
        self.args = (str(self),)
        return self

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CodecTypeError(CodecError, TypeError):
    """A value has the wrong Python type for its BTF type (also a ``TypeError``)."""
