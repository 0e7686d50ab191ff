"""The :class:`~pybpf.core.codec.Codec` protocol, apart from the codecs.

A run-time checked protocol needs ``typing``, which a load does not otherwise
import: :mod:`pybpf.core.codec` imports this module when ``Codec`` is first
read (an ``isinstance`` check, a user's import), not for its own codecs.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Codec"]


@runtime_checkable
class Codec(Protocol):
    """Encodes Python objects to a map's key or value bytes and decodes them back."""

    @property
    def size(self) -> int:
        """The encoded size in bytes (0 when the codec fits any size)."""
        ...

    def encode(self, obj: Any) -> bytes:
        """The bytes for ``obj``, exactly as many as the map's key or value has."""
        ...

    def decode(self, buf: bytes) -> Any:
        """The object for ``buf``."""
        ...


# Its public home: the name users import it by, and pickle finds it by.
Codec.__module__ = "pybpf.core.codec"
