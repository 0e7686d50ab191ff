"""``with obj:`` for everything that holds kernel resources and has a ``close()``."""

from __future__ import annotations

from types import TracebackType

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Self

__all__ = ["Closing"]


class Closing:
    """``with obj:`` closes ``obj`` on the way out; subclasses define :meth:`close`.

    Attribute-free (``__slots__ = ()``), so that any class can derive from it,
    one with a C base included.
    """

    __slots__ = ()

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
