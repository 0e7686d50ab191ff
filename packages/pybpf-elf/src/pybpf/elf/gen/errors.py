"""What ``pybpf gen`` raises."""

from __future__ import annotations

__all__ = ["ClangNotFoundError", "CompileError", "GenError"]


class GenError(ValueError):
    """A module cannot be generated: the message says what and where."""


class ClangNotFoundError(GenError):
    """No clang to compile the C source with."""


class CompileError(GenError):
    """clang (or llvm-strip) failed.

    The message's first line is the first error; the command and its output follow.
    """
