"""Checks of the numbers and buffers users hand to the kernel, before any syscall.

A kernel attribute field is a fixed-width unsigned integer: cffi refuses a
negative or too large value with a bare ``OverflowError`` that names no
field, and a ``bool`` or ``float`` would slip through as a number. These
checks name the argument and the call instead.
"""

from __future__ import annotations

__all__ = ["U32_MAX", "U64_MAX", "buffer", "unsigned"]

U32_MAX = 0xFFFFFFFF
U64_MAX = 0xFFFFFFFFFFFFFFFF


def unsigned(what: str, name: str, value: object, *, maximum: int = U32_MAX) -> int:
    """``value`` as an int in ``[0, maximum]``; TypeError or ValueError naming ``name`` if not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}: {name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{what}: {name} must be between 0 and {maximum}, not {value}")
    return int(value)


def buffer(what: str, name: str, value: object) -> bytes:
    """The bytes of a bytes-like ``value``; TypeError naming ``name`` if it is not one."""
    try:
        view = memoryview(value)  # type: ignore[arg-type] # checked right here
    except TypeError:
        raise TypeError(f"{what}: {name} must be bytes-like, not {type(value).__name__}") from None
    with view:
        return view.tobytes()
