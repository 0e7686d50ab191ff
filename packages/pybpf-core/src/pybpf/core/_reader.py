"""What every event reader shares: batches, blocking reads, iteration, asyncio.

A reader owns an epoll instance that watches its buffers' file descriptors.
Records are consumed from the buffers only when a caller asks for them;
records consumed but not yet handed out (``read()`` takes one of a batch, an
``async for`` is cancelled) wait in the reader, so none is lost. Blocking
happens in ``epoll_wait`` alone: Ctrl-C there raises ``KeyboardInterrupt``
and leaves the reader as it was. asyncio waits through the event loop's
``add_reader`` on the epoll descriptor, with no thread.
"""

from __future__ import annotations

import collections
import select
import time
from collections.abc import Iterator
from typing import Any, Self

from pybpf.core._closing import Closing
from pybpf.core.errors import ClosedError

__all__ = ["EventReader"]


class EventReader(Closing):
    """The reading side of a ring or perf buffer reader; subclasses consume the buffers."""

    _epoll: select.epoll | None
    _what: str

    def __init__(self, what: str) -> None:
        self._what = what
        self._epoll = None
        self._pending: collections.deque[Any] = collections.deque()
        self._error: BaseException | None = None

    # What subclasses provide.

    def _consume(self, out: list[Any], limit: int) -> None:
        """Append up to ``limit`` records (all when negative) to ``out``; may raise after some."""
        raise NotImplementedError

    def _has_data(self) -> bool:
        """Whether some buffer holds a record now."""
        raise NotImplementedError

    def _release(self) -> None:
        """Unmap and close what the subclass holds."""

    # Reading.

    def _check(self) -> select.epoll:
        if self._epoll is None:
            raise ClosedError(f"{self._what} is closed")
        return self._epoll

    def _take(self, limit: int) -> list[Any]:
        """Up to ``limit`` records available now: pending ones first."""
        self._check()
        out: list[Any] = []
        pending = self._pending
        while pending and (limit < 0 or len(out) < limit):
            out.append(pending.popleft())
        if self._error is not None:
            if out:
                return out
            error, self._error = self._error, None
            raise error
        if limit < 0 or len(out) < limit:
            try:
                self._consume(out, limit - len(out) if limit >= 0 else -1)
            except Exception as exc:
                # What was read before the failure is handed out first.
                if not out:
                    raise
                self._error = exc
        if 0 <= limit < len(out):
            # A buffer read as a whole (an overwritable one) gave more: keep the rest.
            pending.extend(out[limit:])
            del out[limit:]
        return out

    def _wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for the buffers; whether they woke."""
        epoll = self._check()
        return bool(epoll.poll(-1 if timeout is None else max(timeout, 0.0)))

    def read_batch(self, timeout: float | None = None, max_records: int | None = None) -> list[Any]:
        """Every record available now (at most ``max_records``).

        When there is none, wait up to ``timeout`` seconds for some: ``None``
        waits for ever, ``0`` never waits. An empty list means the time ran out.
        """
        if max_records is not None and max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        limit = -1 if max_records is None else max_records
        out = self._take(limit)
        if out or timeout == 0:
            return out
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return out
            self._wait(remaining)
            out = self._take(limit)
            if out:
                return out

    def read(self, timeout: float | None = None) -> Any:
        """One record, waiting up to ``timeout`` seconds (None: for ever); TimeoutError after."""
        batch = self.read_batch(timeout, 1)
        if not batch:
            raise TimeoutError(f"{self._what}: no record within {timeout} s")
        return batch[0]

    def poll(self, timeout: float | None = 0) -> bool:
        """Whether a record is there, waiting up to ``timeout`` seconds (None: for ever)."""
        self._check()
        if self._pending or self._error is not None or self._has_data():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._wait(remaining)
            if self._has_data():
                return True

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        """The next record, waiting for it as long as it takes."""
        pending = self._pending
        if pending:
            self._check()
            return pending.popleft()
        batch = self.read_batch()
        pending.extend(batch[1:])
        return batch[0]

    # asyncio.

    async def _readable(self) -> None:
        """Until the epoll descriptor is readable, through the running loop."""
        import asyncio  # noqa: PLC0415 (only readers used from asyncio pay its import)

        fd = self._check().fileno()
        loop = asyncio.get_running_loop()
        ready = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    async def read_batch_async(self, max_records: int | None = None) -> list[Any]:
        """:meth:`read_batch` for asyncio: waits in the event loop, never blocks it."""
        if max_records is not None and max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        limit = -1 if max_records is None else max_records
        out = self._take(limit)
        while not out:
            await self._readable()
            out = self._take(limit)
        return out

    async def read_async(self, timeout: float | None = None) -> Any:
        """One record, awaited (TimeoutError after ``timeout`` seconds).

        Cancelling it leaves the reader consistent: no record is consumed
        while it waits.
        """
        pending = self._pending
        if pending:
            self._check()
            return pending.popleft()
        import asyncio  # noqa: PLC0415 (see _readable)

        async with asyncio.timeout(timeout):
            batch = await self.read_batch_async()
        pending.extend(batch[1:])
        return batch[0]

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        """The next record, awaited."""
        return await self.read_async()

    # Closing.

    @property
    def closed(self) -> bool:
        """Whether the reader was closed."""
        return self._epoll is None

    def close(self) -> None:
        """Unmap the buffers and close every descriptor; closing again does nothing."""
        epoll, self._epoll = self._epoll, None
        if epoll is None:
            return
        try:
            self._release()
        finally:
            epoll.close()
            self._pending.clear()
