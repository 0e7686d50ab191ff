"""Errors of the BTF layer."""

from __future__ import annotations

__all__ = ["BTFError", "TypeNotFoundError"]


class BTFError(ValueError):
    """Malformed or unsupported BTF; the message names the type id or byte offset."""


class TypeNotFoundError(BTFError, LookupError):
    """No type (or more than one, where exactly one was asked for) matches a query.

    A :class:`BTFError` like every other answer the BTF layer refuses, and a
    :class:`LookupError`, as the failed look-up it is.
    """
