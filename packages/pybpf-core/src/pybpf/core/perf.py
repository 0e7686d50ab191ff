"""perf_event_open(2), and the reader of ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` maps.

:func:`perf_event_open` opens one perf event from typed attributes
(:class:`PerfEventAttr`): software, hardware, tracepoint, breakpoint... per
CPU or per process, as an owned :class:`~pybpf.core.fd.FD`. The link layer
attaches programs to such events; both are defined in a module of their own
(re-exported here) so that attaching imports no reader.

:class:`PerfBuffer` is what programs' ``bpf_perf_event_output`` writes to: one
``PERF_COUNT_SW_BPF_OUTPUT`` event per online CPU, each with its own ring,
stored in the map at that CPU's index. Records say which CPU they came from,
and samples the kernel dropped because a ring was full come back as records
too (``lost`` > 0), and are counted in :attr:`PerfBuffer.lost`.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import select
import struct
from typing import TYPE_CHECKING, Any

from pybpf.core import _consume, _sys
from pybpf.core._cpus import parse_cpu_list
from pybpf.core._perf_event import PerfEventAttr, perf_event_open
from pybpf.core._reader import EventReader
from pybpf.core._records import RecordArg, record_decoder
from pybpf.core._uapi_perf import (
    PERF_EVENT_IOC_ENABLE,
    PERF_EVENT_IOC_PAUSE_OUTPUT,
    HardwareEvent,
    PerfEventFlag,
    PerfType,
    SampleType,
    SoftwareEvent,
)
from pybpf.core.errors import BPFError
from pybpf.core.ringbuf import _address, _check_type, _map
from pybpf.elf import MapType

if TYPE_CHECKING:
    from pybpf.btf import Spec
    from pybpf.core.map import Map

__all__ = [
    "HardwareEvent",
    "PerfBuffer",
    "PerfEventAttr",
    "PerfEventFlag",
    "PerfRecord",
    "PerfType",
    "SampleType",
    "SoftwareEvent",
    "perf_event_open",
]

_PAGE = mmap.PAGESIZE
_U64 = struct.Struct("=Q")
_ONLINE = "/sys/devices/system/cpu/online"


def online_cpus() -> list[int]:
    """The CPUs online now."""
    with open(_ONLINE) as f:
        return parse_cpu_list(f.read())


#: The type of perf buffer records: a named tuple of ``cpu``, ``data``, ``lost``.
PerfRecord = _consume.PerfRecord


class _CPUBuffer:
    """One CPU's BPF_OUTPUT event and its ring."""

    def __init__(self, cpu: int, attr: PerfEventAttr, pages: int) -> None:
        self.cpu = cpu
        self.fd = perf_event_open(attr, cpu=cpu)
        self.size = pages * _PAGE
        # A read-only mapping is what makes the kernel overwrite old records.
        self.overwritable = bool(attr.flags & PerfEventFlag.WRITE_BACKWARD)
        #: Where the newest record was at the previous read of an overwritable ring.
        self.since = 0
        try:
            what = f"perf buffer of CPU {cpu}"
            self.mapping = _map(
                self.fd.number,
                _PAGE + self.size,
                offset=0,
                writable=not self.overwritable,
                what=what,
            )
        except BaseException:
            self.fd.close()
            raise
        self.data = memoryview(self.mapping)[_PAGE:]
        if _sys.readers is not None:
            self.header = _address(self.mapping)

    def consume(self, out: list[Any], limit: int, reader: PerfBuffer) -> int:
        if self.overwritable:
            return self._consume_backward(out, reader._decode)
        if _sys.readers is not None:
            decode, record_size = reader._compiled_decode, reader._record_size
            data = self.header + _PAGE
            _, lost = _sys.readers.perf_read(
                self.header, data, self.size, self.cpu, out, limit, decode, record_size
            )
        else:
            decode = reader._decode
            _, lost = _consume.perf_read(
                self.mapping, self.data, self.size, self.cpu, out, limit, decode
            )
        return int(lost)

    def _consume_backward(self, out: list[Any], decode: Any) -> int:
        """Every record written since the last read, oldest first; the kernel paused meanwhile."""
        fd = self.fd.number
        fcntl.ioctl(fd, PERF_EVENT_IOC_PAUSE_OUTPUT, 1)
        try:
            head = _U64.unpack_from(self.mapping, _consume.PERF_DATA_HEAD)[0]
            _consume.barrier()
            records = _consume.perf_read_backward(
                self.data, self.size, head=head, since=self.since, cpu=self.cpu, decode=decode
            )
            self.since = head
        finally:
            fcntl.ioctl(fd, PERF_EVENT_IOC_PAUSE_OUTPUT, 0)
        out.extend(records)
        return sum(r.lost for r in records)

    def has_data(self) -> bool:
        if self.overwritable:
            return bool(_U64.unpack_from(self.mapping, _consume.PERF_DATA_HEAD)[0] != self.since)
        head, tail = struct.unpack_from("=QQ", self.mapping, _consume.PERF_DATA_HEAD)
        return bool(head != tail)

    def close(self) -> None:
        self.data.release()
        self.mapping.close()
        self.fd.close()


class PerfBuffer(EventReader):
    """A reader of a ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` map: a perf ring per online CPU.

    Each CPU gets ``pages`` pages of ring (a power of two). The kernel wakes
    the reader on every sample, or once ``watermark`` bytes are there when
    it is set. Records are :data:`PerfRecord` tuples: ``rec.cpu``,
    ``rec.data`` (bytes, or decoded when ``record=`` gives their type, as for
    :class:`~pybpf.core.ringbuf.RingBuffer`; samples may carry up to 7 bytes
    of padding after the program's data) and ``rec.lost``: a record with
    ``data`` None says how many samples that CPU's full ring dropped.
    :attr:`lost` counts them all, :attr:`lost_by_cpu` per CPU.

    An ``overwritable`` buffer (Linux 4.7) never drops: the kernel writes over
    the oldest records instead, like a flight recorder. Each read returns
    what was written since the previous one and still is in the ring, oldest
    first, pausing the CPU's output while it reads.
    """

    def __init__(
        self,
        perf_map: Map,
        *,
        pages: int = 8,
        watermark: int = 0,
        overwritable: bool = False,
        record: RecordArg = None,
        btf: Spec | None = None,
    ) -> None:
        super().__init__(f"perf buffer reader of map {perf_map.name!r}")
        _check_type(perf_map, MapType.PERF_EVENT_ARRAY, "PerfBuffer")
        if pages < 1 or pages & (pages - 1):
            raise ValueError(f"pages must be a power of two, not {pages}")
        if watermark < 0 or watermark >= pages * _PAGE:
            raise ValueError(f"watermark must be below the ring's {pages * _PAGE} bytes")
        decoder = record_decoder(record, btf=btf, owner=perf_map)
        self._decode = None if decoder is None else decoder.decode
        # The compiled loop's form of the decoder: a flat layout when there is one.
        self._compiled_decode: Any = self._decode
        self._record_size = 0
        if decoder is not None and decoder.layout is not None:
            self._compiled_decode, self._record_size = decoder.layout, decoder.size
        self._map = perf_map
        self._cpus: list[_CPUBuffer] = []
        #: Samples the kernel dropped, in all.
        self.lost = 0
        #: Samples the kernel dropped, by CPU.
        self.lost_by_cpu: dict[int, int] = {}
        self._paused = False
        flags = PerfEventFlag.WATERMARK if watermark else PerfEventFlag(0)
        if overwritable:
            flags |= PerfEventFlag.WRITE_BACKWARD
        attr = PerfEventAttr.software(
            SoftwareEvent.BPF_OUTPUT,
            sample_period=1,
            sample_type=SampleType.RAW,
            flags=flags,
            wakeup_events=watermark or 1,
        )
        self._epoll = select.epoll()
        try:
            for cpu in online_cpus():
                if cpu >= perf_map.max_entries:
                    continue  # the map has no slot for it: its samples fail with E2BIG
                buf = _CPUBuffer(cpu, attr, pages)
                self._cpus.append(buf)
                self._epoll.register(buf.fd.number, select.EPOLLIN)
                fcntl.ioctl(buf.fd.number, PERF_EVENT_IOC_ENABLE, 0)
            self._insert()
        except BaseException:
            self.close()
            raise

    @property
    def cpus(self) -> list[int]:
        """The CPUs read."""
        self._check()
        return [buf.cpu for buf in self._cpus]

    def _insert(self) -> None:
        raw = self._map.raw
        for buf in self._cpus:
            raw.update(buf.cpu, buf.fd.number)

    def pause(self) -> None:
        """Stop the programs' output: their ``bpf_perf_event_output`` fails until :meth:`resume`.

        The map's slots are emptied, as ebpf-go's ``Reader.Pause`` does;
        what the rings hold can still be read.
        """
        self._check()
        raw = self._map.raw
        for buf in self._cpus:
            with contextlib.suppress(KeyError):
                raw.delete(buf.cpu)
        self._paused = True

    def resume(self) -> None:
        """Let the programs' output in again after :meth:`pause`."""
        self._check()
        self._insert()
        self._paused = False

    def _consume(self, out: list[Any], limit: int) -> None:
        if self._decode is None:
            self._consume_all(out, limit)
        else:
            with _consume.gc_paused():
                self._consume_all(out, limit)

    def _consume_all(self, out: list[Any], limit: int) -> None:
        for buf in self._cpus:
            left = -1 if limit < 0 else limit - len(out)
            if left == 0:
                return
            lost = buf.consume(out, left, self)
            if lost:
                self.lost += lost
                self.lost_by_cpu[buf.cpu] = self.lost_by_cpu.get(buf.cpu, 0) + lost

    def _has_data(self) -> bool:
        return any(buf.has_data() for buf in self._cpus)

    def _release(self) -> None:
        bufs, self._cpus = self._cpus, []
        if not self._map.closed and not self._paused:
            raw = self._map.raw
            for buf in bufs:
                with contextlib.suppress(KeyError, BPFError):
                    raw.delete(buf.cpu)
        for buf in bufs:
            buf.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<PerfBuffer closed>"
        return f"<PerfBuffer {self._map.name!r} cpus={len(self._cpus)} lost={self.lost}>"
