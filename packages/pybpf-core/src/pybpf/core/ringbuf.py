"""Readers of BPF ring buffers (Linux 5.8), and the writer of user ring buffers (6.1).

:class:`RingBuffer` maps a ``BPF_MAP_TYPE_RINGBUF`` map's consumer page,
producer page and doubly mapped data area, and hands out the records the
programs submitted, in order, bytes-like or decoded (``record=``). Several
rings can share one reader and one epoll (:meth:`RingBuffer.add`,
:class:`RingBuffers`), as libbpf's ``ring_buffer__add``.
:class:`UserRingBuffer` is the other direction: user space reserves, fills and
submits records that a program drains with ``bpf_user_ringbuf_drain``.
"""

from __future__ import annotations

import errno
import mmap
import select
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pybpf.core import _consume, _sys
from pybpf.core._closing import Closing
from pybpf.core._reader import EventReader
from pybpf.core._records import RecordArg, RecordDecoder, record_decoder
from pybpf.core.errors import ClosedError, LimitError
from pybpf.elf import MapType

if TYPE_CHECKING:
    from pybpf.btf import Spec
    from pybpf.core.map import Map

__all__ = ["Reservation", "RingBuffer", "RingBuffers", "UserRingBuffer"]

_PAGE = mmap.PAGESIZE


def _address(mapping: mmap.mmap) -> int:
    """Where ``mapping`` starts, without keeping a buffer export on it."""
    ptr = _sys.ffi.from_buffer(mapping)
    try:
        return _sys.addr(ptr)
    finally:
        _sys.ffi.release(ptr)


def _check_type(ring_map: Map, wanted: MapType, reader: str) -> None:
    if ring_map.type != wanted:
        kind = getattr(ring_map.type, "name", ring_map.type)
        raise ValueError(
            f"{reader} needs a {wanted.name} map; map {ring_map.name!r} is a {kind} map"
        )


def _map(fd: int, length: int, *, offset: int, writable: bool, what: str) -> mmap.mmap:
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    try:
        return mmap.mmap(fd, length, flags=mmap.MAP_SHARED, prot=prot, offset=offset)
    except OSError as exc:
        raise LimitError(exc.errno or errno.ENOMEM, f"mmap {what}") from None


class _Ring:
    """One ring buffer map, mapped: its positions, its data, how records decode."""

    def __init__(self, ring_map: Map, decoder: RecordDecoder | None) -> None:
        fd = ring_map.fd.number
        self.name = ring_map.name
        self.size = ring_map.max_entries
        what = f"ring buffer {self.name!r}"
        self._mappings: list[mmap.mmap] = []
        self._views: list[memoryview] = []
        try:
            # The consumer page is the only one user space may write; the data
            # area is mapped twice by the kernel, so a record never wraps.
            self.consumer = self._keep(_map(fd, _PAGE, offset=0, writable=True, what=what))
            self.producer = self._keep(_map(fd, _PAGE, offset=_PAGE, writable=False, what=what))
            self.data = self._keep(
                _map(fd, 2 * self.size, offset=2 * _PAGE, writable=False, what=what)
            )
            self._cons = self._view(memoryview(self.consumer)[:8].cast("Q"))
            self._prod = self._view(memoryview(self.producer)[:8].cast("Q"))
        except BaseException:
            self.close()
            raise
        self.mask = self.size - 1
        self.decode = decoder.decode if decoder is not None else None
        self.get = decoder.get if decoder is not None else None
        self.record_size = decoder.size if decoder is not None else 0
        self.layout = decoder.layout if decoder is not None else None
        self.view = self._view(memoryview(self.data)) if self.get is not None else None
        if _sys.readers is not None:
            self.addresses = (
                _address(self.consumer),
                _address(self.producer),
                _address(self.data),
            )

    def _keep(self, mapping: mmap.mmap) -> mmap.mmap:
        self._mappings.append(mapping)
        return mapping

    def _view(self, view: memoryview) -> memoryview:
        """``view``, released when the ring closes (or its mapping could not close)."""
        self._views.append(view)
        return view

    def consume(self, out: list[Any], limit: int) -> None:
        """Append up to ``limit`` records (all when negative) to ``out``."""
        if self.decode is None:
            self._consume(out, limit)
        else:
            with _consume.gc_paused():
                self._consume(out, limit)

    def _consume(self, out: list[Any], limit: int) -> None:
        get = self.get
        if _sys.readers is not None:
            cons, prod, data = self.addresses
            if self.layout is not None:
                _sys.readers.ring_read(
                    cons, prod, data, self.mask, out, limit, self.layout, None, self.record_size
                )
            elif get is not None:
                _sys.readers.ring_read(
                    cons, prod, data, self.mask, out, limit, get, self.view, self.record_size
                )
            else:
                _sys.readers.ring_read(
                    cons, prod, data, self.mask, out, limit, self.decode, None, 0
                )
            return
        decode = get if get is not None else self.decode
        _consume.ring_read(
            self._cons,
            self._prod,
            self.data,
            self.mask,
            out,
            limit,
            decode,
            self.view,
            self.record_size,
        )

    def available(self) -> int:
        """Bytes the producer wrote that the consumer did not read yet."""
        prod = self._prod[0]
        return int(prod - self._cons[0])

    def close(self) -> None:
        for view in self._views:
            view.release()
        self._views.clear()
        for mapping in self._mappings:
            mapping.close()
        self._mappings.clear()


class RingBuffer(EventReader):
    """A reader of a ``BPF_MAP_TYPE_RINGBUF`` map (Linux 5.8).

    Records come back as ``bytes``, or decoded when ``record=`` names their
    type: a BTF type name such as ``"struct event"`` (looked up in ``btf``, the
    object's BTF such as ``collection.spec.types``, or else in the map's own
    BTF), a :class:`pybpf.btf.Type`, or a codec. Decoded records are what the
    map codecs give: ``rec.pid``, ``rec.comm``.

    ``read_batch`` returns what is there; ``read`` one record; ``for rec in
    rb`` blocks between records; ``async for rec in rb`` and ``await
    rb.read_async()`` wait in the event loop. Close the reader (or use
    ``with``) to unmap the ring; the map itself stays open.
    """

    def __init__(self, ring_map: Map, *, record: RecordArg = None, btf: Spec | None = None) -> None:
        super().__init__(f"ring buffer reader of map {ring_map.name!r}")
        self._rings: list[_Ring] = []
        self._epoll = select.epoll()
        try:
            self.add(ring_map, record=record, btf=btf)
        except BaseException:
            self.close()
            raise

    def add(self, ring_map: Map, *, record: RecordArg = None, btf: Spec | None = None) -> None:
        """Read ``ring_map`` too, through the same epoll (libbpf's ``ring_buffer__add``).

        A batch holds the records of every ring, ring after ring, in the
        order the rings were added.
        """
        epoll = self._check()
        _check_type(ring_map, MapType.RINGBUF, "RingBuffer")
        ring = _Ring(ring_map, record_decoder(record, btf=btf, owner=ring_map))
        try:
            epoll.register(ring_map.fd.number, select.EPOLLIN)
        except BaseException:
            ring.close()
            raise
        self._rings.append(ring)

    def _consume(self, out: list[Any], limit: int) -> None:
        for ring in self._rings:
            if limit >= 0:
                ring.consume(out, limit - len(out))
                if len(out) >= limit:
                    return
            else:
                ring.consume(out, -1)

    def _has_data(self) -> bool:
        return any(ring.available() for ring in self._rings)

    @property
    def available(self) -> int:
        """Bytes written by the programs and not read yet (headers and padding included)."""
        self._check()
        return sum(ring.available() for ring in self._rings)

    @property
    def size(self) -> int:
        """The ring's data size in bytes (of every ring, for several)."""
        self._check()
        return sum(ring.size for ring in self._rings)

    def _release(self) -> None:
        rings, self._rings = self._rings, []
        for ring in rings:
            ring.close()

    def __repr__(self) -> str:
        if self.closed:
            return f"<{type(self).__name__} closed>"
        names = ", ".join(repr(ring.name) for ring in self._rings)
        return f"<{type(self).__name__} {names} size={self.size}>"


class RingBuffers(RingBuffer):
    """One reader, one epoll for several ring buffer maps (libbpf's ``ring_buffer``).

    ``record=`` and ``btf=`` apply to every map; :meth:`add` more with their own.
    """

    def __init__(
        self, ring_maps: Iterable[Map], *, record: RecordArg = None, btf: Spec | None = None
    ) -> None:
        maps = list(ring_maps)
        if not maps:
            raise ValueError("RingBuffers needs at least one map")
        super().__init__(maps[0], record=record, btf=btf)
        self._what = "ring buffer reader of maps " + ", ".join(repr(m.name) for m in maps)
        try:
            for ring_map in maps[1:]:
                self.add(ring_map, record=record, btf=btf)
        except BaseException:
            self.close()
            raise


class Reservation(Closing):
    """Room reserved in a user ring buffer: fill :attr:`data`, then submit or discard.

    In a ``with`` block it is submitted on the way out, or discarded when the
    block raised.
    """

    def __init__(self, owner: UserRingBuffer, header: int, data: memoryview) -> None:
        self._owner = owner
        self._header = header
        #: The reserved bytes, writable.
        self.data = data

    def submit(self) -> None:
        """Hand the record to the programs."""
        self._owner._commit(self, discard=False)

    def discard(self) -> None:
        """Give the room back without a record."""
        self._owner._commit(self, discard=True)

    def close(self) -> None:
        """Discard the reservation if it was neither submitted nor discarded."""
        if self._header >= 0:
            self.discard()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._header >= 0:
            self._owner._commit(self, discard=exc is not None)


class UserRingBuffer(Closing):
    """The user-space producer of a ``BPF_MAP_TYPE_USER_RINGBUF`` map (Linux 6.1).

    :meth:`reserve` room, fill it, :meth:`Reservation.submit` it; or
    :meth:`write` a whole record, bytes or a value encoded with ``record=``
    (a BTF type name, a :class:`pybpf.btf.Type` or a codec, as for
    :class:`RingBuffer`). Programs read the records with
    ``bpf_user_ringbuf_drain``. One thread at a time may produce.
    """

    def __init__(self, ring_map: Map, *, record: RecordArg = None, btf: Spec | None = None) -> None:
        _check_type(ring_map, MapType.USER_RINGBUF, "UserRingBuffer")
        self._name = ring_map.name
        self._epoll: select.epoll | None = None
        decoder = record_decoder(record, btf=btf, owner=ring_map)
        self._encode = bytes if decoder is None else decoder.encode
        fd = ring_map.fd.number
        self._size = ring_map.max_entries
        what = f"user ring buffer {self._name!r}"
        self._mappings: list[mmap.mmap] = []
        self._views: list[memoryview] = []
        try:
            consumer = _map(fd, _PAGE, offset=0, writable=False, what=what)
            self._mappings.append(consumer)
            # The producer page and the doubly mapped data are user space's to write.
            area = _map(fd, _PAGE + 2 * self._size, offset=_PAGE, writable=True, what=what)
            self._mappings.append(area)
            self._cons = memoryview(consumer)[:8].cast("Q")
            self._prod = memoryview(area)[:8].cast("Q")
            self._data = memoryview(area)[_PAGE:]
            self._headers = self._data.cast("I")
            self._views += [self._cons, self._prod, self._headers, self._data]
            self._epoll = select.epoll()
            self._epoll.register(fd, select.EPOLLOUT)
        except BaseException:
            self.close()
            raise
        if _sys.readers is not None:
            self._addresses = (_address(consumer), _address(area))

    def _check(self) -> select.epoll:
        if self._epoll is None:
            raise ClosedError(f"user ring buffer {self._name!r} is closed")
        return self._epoll

    def _positions(self) -> tuple[int, int]:
        if _sys.readers is not None:
            cons_addr, prod_addr = self._addresses
            return _sys.readers.load(cons_addr, 8), _sys.readers.load(prod_addr, 8)
        _consume.barrier()
        return int(self._cons[0]), int(self._prod[0])

    @property
    def size(self) -> int:
        """The ring's data size in bytes."""
        self._check()
        return self._size

    @property
    def free(self) -> int:
        """Bytes free for records now (each takes 8 more for its header, rounded up to 8)."""
        self._check()
        cons, prod = self._positions()
        return self._size - (prod - cons)

    def reserve(self, size: int, *, timeout: float | None = 0) -> Reservation:
        """Room for a ``size``-byte record; waits up to ``timeout`` seconds for it (None: for ever).

        :class:`~pybpf.core.errors.LimitError` when the record can never fit
        (``E2BIG``) or the time ran out before the programs made room (``ENOSPC``).
        """
        epoll = self._check()
        total = (size + _consume.HEADER_SIZE + 7) & ~7
        what = f"reserve {size} bytes in user ring buffer {self._name!r}"
        if size <= 0 or total > self._size:
            raise LimitError(errno.E2BIG, what, limit=f"size={self._size}")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            cons, prod = self._positions()
            if self._size - (prod - cons) >= total:
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise LimitError(errno.ENOSPC, what, reason="the ring is full")
            epoll.poll(-1 if remaining is None else remaining)
        header = prod & (self._size - 1)
        self._headers[header >> 2] = size | _consume.BUSY_BIT
        self._headers[(header >> 2) + 1] = 0
        self._store(self._prod, 0, prod + total)
        start = header + _consume.HEADER_SIZE
        return Reservation(self, header, self._data[start : start + size])

    def _store(self, view: memoryview, index: int, value: int) -> None:
        if _sys.readers is not None:
            base = self._addresses[1]
            if view is self._prod:
                _sys.readers.store(base, 8, value)
            else:
                _sys.readers.store(base + _PAGE + index * 4, 4, value)
            return
        _consume.barrier()
        view[index] = value

    def _commit(self, reservation: Reservation, *, discard: bool) -> None:
        self._check()
        header = reservation._header
        if header < 0:
            raise ValueError("this reservation was already submitted or discarded")
        length = len(reservation.data) | (_consume.DISCARD_BIT if discard else 0)
        reservation.data.release()
        reservation._header = -1
        self._store(self._headers, header >> 2, length)

    def write(self, value: Any, *, timeout: float | None = 0) -> None:
        """Submit one record: bytes-like, or a value of the ``record=`` type."""
        if isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)  # the raw encoding, whatever the record type
        else:
            data = self._encode(value)
        with self.reserve(len(data), timeout=timeout) as res:
            res.data[:] = data

    def close(self) -> None:
        """Unmap the ring and close its descriptors; closing again does nothing."""
        epoll, self._epoll = self._epoll, None
        for view in self._views:
            view.release()
        self._views.clear()
        for mapping in self._mappings:
            mapping.close()
        self._mappings.clear()
        if epoll is not None:
            epoll.close()

    @property
    def closed(self) -> bool:
        """Whether the writer was closed."""
        return self._epoll is None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"size={self._size}"
        return f"<UserRingBuffer {self._name!r} {state}>"
