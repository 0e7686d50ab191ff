"""Pausing Python's cyclic garbage collector around bulk allocation."""

from __future__ import annotations

import gc

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType


class gc_paused:
    """Pause the cyclic collector for the block, restoring its previous state.

    Decoding or encoding BTF makes hundreds of thousands of small objects and
    no garbage: the collector would only rescan them, a third or more of the
    time for vmlinux. Cycles made meanwhile are collected once it runs again.
    A plain class, not ``contextlib.contextmanager``: every load of an object
    with BTF passes here, and contextlib is not otherwise on its path.
    """

    __slots__ = ("_enabled",)

    def __enter__(self) -> None:
        self._enabled = gc.isenabled()
        gc.disable()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._enabled:
            gc.enable()
