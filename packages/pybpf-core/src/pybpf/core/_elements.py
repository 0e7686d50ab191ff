"""A map's elements in bytes: how keys and values are encoded, and the buffers they go through.

:class:`Elements` is the one place that knows a map's element layout: its key
and value codecs, the native int formats that skip them, the per-CPU stride,
and the buffers that element and batch operations fill and read. ``Map``, the
batch operations (:mod:`pybpf.core._batch`) and the compiled fast path (through
:attr:`Elements.shape` and :attr:`Elements.fast`) all work from it.

The buffers belong to one map object and are guarded by :attr:`Elements.lock`:
whoever writes a key or value into them holds it until the kernel's answer is
read back out.
"""

from __future__ import annotations

# _thread's lock, not threading's (the same lock): threading costs every load an import.
import _thread
import struct
from collections.abc import Iterable, Mapping, Sequence

from pybpf.core import _sys
from pybpf.core._map_errors import VALUE_STORES, keyless_error
from pybpf.core._owner import KernelObject
from pybpf.core.codec import CTYPES, BytesCodec, int_format
from pybpf.core.fd import FD
from pybpf.elf import MapType

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from pybpf.core.codec import Codec

__all__ = ["PERCPU_TYPES", "Elements", "scalar_spec"]

#: Types whose values are one per possible CPU.
PERCPU_TYPES: Final = frozenset(
    {
        MapType.PERCPU_HASH,
        MapType.PERCPU_ARRAY,
        MapType.LRU_PERCPU_HASH,
        MapType.PERCPU_CGROUP_STORAGE,
    }
)
#: Types whose element operations never sleep: the compiled int path keeps the GIL.
_FAST_TYPES: Final = frozenset({MapType.HASH, MapType.ARRAY, MapType.LRU_HASH})
_UNSIGNED: Final = {1: "B", 2: "H", 4: "I", 8: "Q"}
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)
_BYTEORDER: Final = "little" if int.from_bytes(b"\x01\x00", "little") == 1 else "big"


def scalar_spec(fmt: str) -> int:
    """The compiled helpers' description of a native int: its size, | 0x10 when signed."""
    return struct.calcsize(fmt) | (0x10 if fmt.islower() else 0)


def _input_format(codec: Codec, size: int) -> str | None:
    """The native int format ints are written with, if the codec takes plain ints."""
    fmt = int_format(codec, size)
    if fmt is None and isinstance(codec, BytesCodec):
        fmt = _UNSIGNED.get(size)  # raw maps take host-order unsigned ints
    return fmt


def _as_ints(buf: Any, n: int, fmt: str) -> list[int]:
    """``n`` native integers of format ``fmt`` at ``buf``, as a list."""
    # memoryview.tolist beats ffi.unpack by ~10% on 100k elements.
    view = memoryview(_sys.ffi.buffer(buf, n * struct.calcsize(fmt)))
    return view.cast(fmt).tolist()  # type: ignore[call-overload,no-any-return]


def _decode_all(decode: Any, raw: bytes, size: int, stride: int) -> list[Any]:
    return [decode(raw[i : i + size]) for i in range(0, len(raw), stride)]


class Elements:
    """The keys and values of one map object: their codecs, int formats and buffers.

    ``key_codec``/``value_codec`` decode what the kernel returns and encode
    what is neither bytes-like nor a plain int written natively. The buffers
    (``kbuf``, ``nkbuf``, ``vbuf``; ``kmem``/``vmem`` are byte views of the
    first and last) hold one element; :meth:`batch_buffers` holds many.
    """

    __slots__ = (
        "_batch",
        "fast",
        "kbuf",
        "key_codec",
        "key_format",
        "key_ints",
        "key_out",
        "key_raw",
        "key_size",
        "kmem",
        "lock",
        "map_type",
        "max_entries",
        "name",
        "ncpu",
        "nkbuf",
        "per_cpu",
        "shape",
        "stride",
        "value_codec",
        "value_format",
        "value_ints",
        "value_out",
        "value_raw",
        "value_size",
        "vbuf",
        "vmem",
    )

    def __init__(
        self,
        *,
        name: str,
        map_type: int,
        key_size: int,
        value_size: int,
        max_entries: int,
        key_codec: Codec,
        value_codec: Codec,
    ) -> None:
        ffi = _sys.ffi
        #: The map's name, for messages.
        self.name = name
        #: The map's type (a MapType value, or an int this library does not know).
        self.map_type = map_type
        #: Key size in bytes (0: a map without keys).
        self.key_size = key_size
        #: Value size in bytes (of one CPU's value for per-CPU maps).
        self.value_size = value_size
        #: The capacity given at creation.
        self.max_entries = max_entries
        #: Whether values are one per possible CPU.
        self.per_cpu = map_type in PERCPU_TYPES
        #: How many values one element holds (the possible CPUs of a per-CPU map).
        self.ncpu = 1
        if self.per_cpu:
            from pybpf.core import _cpus  # noqa: PLC0415 (only per-CPU maps count CPUs)

            self.ncpu = _cpus.possible_cpus()
        #: The bytes between one CPU's value and the next (values are 8-aligned).
        self.stride = (value_size + 7) & ~7 if self.per_cpu else value_size
        #: The codec of keys.
        self.key_codec = key_codec
        #: The codec of values.
        self.value_codec = value_codec
        #: Whether keys are raw bytes (which also take host-order ints).
        self.key_raw = isinstance(key_codec, BytesCodec)
        #: Whether values are raw bytes.
        self.value_raw = isinstance(value_codec, BytesCodec)
        self.kbuf: Any = ffi.new("uint8_t[]", key_size) if key_size else _sys.NULL
        self.nkbuf: Any = ffi.new("uint8_t[]", key_size) if key_size else _sys.NULL
        self.vbuf: Any = ffi.new("uint8_t[]", self.stride * self.ncpu or 1)
        self.kmem: Any = ffi.buffer(self.kbuf) if key_size else None
        self.vmem: Any = ffi.buffer(self.vbuf)
        #: Held while the buffers are in use.
        self.lock = _thread.allocate_lock()
        self._batch: tuple[int, Any, Any, Any] | None = None
        self._setup_int_paths()

    def _setup_int_paths(self) -> None:
        """Pick how int keys and values are written and read without their codec.

        ``key_format``/``value_format`` are the native formats ints are
        written with (``None``: through the codec); ``key_ints``/``value_ints``
        typed pointers into the buffers for them, ``key_out``/``value_out`` the
        same where lookups return plain ints; ``shape`` describes both for the
        compiled code, and ``fast`` says which element operations it does.
        """
        ffi = _sys.ffi
        key_size, value_size = self.key_size, self.value_size
        kfmt = _input_format(self.key_codec, key_size) if key_size else None
        vfmt = None if self.per_cpu else _input_format(self.value_codec, value_size)
        kout = kfmt is not None and int_format(self.key_codec, key_size) is not None
        vout = vfmt is not None and int_format(self.value_codec, value_size) is not None
        self.key_format: str | None = kfmt
        self.value_format: str | None = vfmt
        self.key_ints: Any = ffi.cast(f"{CTYPES[kfmt]} *", self.kbuf) if kfmt else None
        self.value_ints: Any = ffi.cast(f"{CTYPES[vfmt]} *", self.vbuf) if vfmt else None
        self.key_out: Any = self.key_ints if kout else None
        self.value_out: Any = self.value_ints if vout else None
        #: What the compiled paths do: 0 nothing, 2 int updates, 3 int lookups too.
        self.fast = 0
        #: The key's scalar spec | the value's << 8, for the compiled paths.
        self.shape = 0
        if kfmt is None or vfmt is None:
            return
        self.shape = scalar_spec(kfmt) | scalar_spec(vfmt) << 8
        if self.map_type in _FAST_TYPES:
            self.fast = 3 if vout else 2

    def require_keys(self) -> None:
        """Raise the TypeError of a keyed operation on a queue, stack or bloom filter.

        For operations that encode no key (iteration, batch reads), which the
        kernel would otherwise answer with an errno that does not say why.
        """
        if self.map_type in VALUE_STORES:
            raise keyless_error(self.name, self.map_type)

    # -- one element -------------------------------------------------------------------

    def encode_key(self, key: Any) -> bytes:
        """The bytes of ``key``: bytes as given, else a native int or the key codec's."""
        size = self.key_size
        if not size:
            raise keyless_error(self.name, self.map_type)
        if isinstance(key, _BYTES_LIKE):
            data = bytes(key)
        elif isinstance(key, int) and self.key_raw:
            data = self._native_int(key, size, "key")
        else:
            data = self._encode(self.key_codec, key, "key")
        if len(data) != size:
            raise ValueError(f"map {self.name!r}: key must be {size} bytes, got {len(data)}")
        return data

    def put_key(self, key: Any) -> None:
        """Write ``key`` into :attr:`kbuf`."""
        kin = self.key_ints
        if kin is not None and key.__class__ is int:
            try:
                kin[0] = key
            except OverflowError:
                raise self.bad_int("key", key) from None
            return
        kmem = self.kmem
        if kmem is None:
            raise keyless_error(self.name, self.map_type)
        if key.__class__ is bytes and len(key) == self.key_size:
            kmem[:] = key
        else:
            kmem[:] = self.encode_key(key)

    def decode_key(self, raw: bytes) -> Any:
        """The key whose bytes are ``raw``."""
        return self.key_codec.decode(raw)

    def encode_value(self, value: Any) -> bytes:
        """The bytes of one (CPU's) value.

        Bytes as given; the fd number of an :class:`~pybpf.core.fd.FD` or of a
        kernel object (a ``Map``, a ``Program``); else the value codec's.
        """
        size = self.value_size
        if isinstance(value, _BYTES_LIKE):
            data = bytes(value)
        elif isinstance(value, FD | KernelObject):
            # Maps of maps, program arrays and friends take fds as values.
            fd = value if isinstance(value, FD) else value.fd
            data = self._native_int(fd.number, size, "value")
        elif isinstance(value, int) and self.value_raw:
            data = self._native_int(value, size, "value")
        else:
            data = self._encode(self.value_codec, value, "value")
        if len(data) != size:
            raise ValueError(f"map {self.name!r}: value must be {size} bytes, got {len(data)}")
        return data

    def put_value(self, value: Any) -> None:
        """Write ``value`` into :attr:`vbuf` (a plain int natively where the map takes it)."""
        vin = self.value_ints
        if vin is not None and value.__class__ is int:
            try:
                vin[0] = value
            except OverflowError:
                raise self.bad_int("value", value) from None
        else:
            self.write_value(self.vmem, value)

    def write_value(self, mem: Any, value: Any) -> None:
        """Encode ``value`` into ``mem``: one value, or one per possible CPU."""
        if not self.per_cpu:
            mem[: self.value_size] = self.encode_value(value)
            return
        stride, ncpu = self.stride, self.ncpu
        if isinstance(value, _BYTES_LIKE) and len(value) == stride * ncpu:
            mem[: stride * ncpu] = bytes(value)
            return
        if isinstance(value, (*_BYTES_LIKE, int, str, Mapping)) or not isinstance(value, Iterable):
            raise TypeError(
                f"map {self.name!r} is per-CPU: give one value per possible CPU ({ncpu}), "
                f"or {stride * ncpu} bytes"
            )
        per_cpu = list(value)
        if len(per_cpu) != ncpu:
            raise ValueError(
                f"map {self.name!r} is per-CPU: {ncpu} values needed, got {len(per_cpu)}"
            )
        pad = bytes(stride - self.value_size)
        mem[: stride * ncpu] = b"".join(self.encode_value(v) + pad for v in per_cpu)

    def get_value(self) -> Any:
        """The value in :attr:`vbuf`, decoded (a plain int natively where the map gives one)."""
        vout = self.value_out
        if vout is not None:
            return vout[0]
        return self.read_value(self.vmem)

    def read_value(self, mem: Any) -> Any:
        """The value in ``mem``, decoded (per-CPU maps: a list, one per possible CPU)."""
        decode = self.value_codec.decode
        size = self.value_size
        if not self.per_cpu:
            return decode(mem[:size])
        raw = mem[: self.stride * self.ncpu]
        return [decode(raw[i : i + size]) for i in range(0, len(raw), self.stride)]

    def scratch(self) -> tuple[Any, Any]:
        """A key and a value buffer of this map's sizes, for one caller alone."""
        ffi = _sys.ffi
        kbuf = ffi.new("uint8_t[]", self.key_size) if self.key_size else _sys.NULL
        return kbuf, ffi.new("uint8_t[]", self.stride * self.ncpu or 1)

    # -- many elements -----------------------------------------------------------------

    def batch_buffers(self, count: int) -> tuple[Any, Any, Any]:
        """Key, value and count buffers for ``count`` elements, kept for reuse."""
        cached = self._batch
        if cached is not None and cached[0] >= count:
            return cached[1], cached[2], cached[3]
        ffi = _sys.ffi
        kbuf = ffi.new("uint8_t[]", count * self.key_size or 1)
        vbuf = ffi.new("uint8_t[]", count * self.stride * self.ncpu or 1)
        cnt = ffi.new("uint32_t *")
        self._batch = (count, kbuf, vbuf, cnt)
        return kbuf, vbuf, cnt

    def pack_keys(self, buf: Any, keys: Sequence[Any]) -> None:
        """Encode ``keys`` one after the other into ``buf``."""
        if not self.key_size:
            raise keyless_error(self.name, self.map_type)
        _pack(buf, self.key_size, keys, encode=self.encode_key, fmt=self.key_format)

    def pack_values(self, buf: Any, values: Sequence[Any]) -> None:
        """Encode ``values`` one after the other into ``buf`` (per-CPU: every CPU's)."""
        if not self.per_cpu:
            _pack(buf, self.value_size, values, encode=self.encode_value, fmt=self.value_format)
            return
        stride = self.stride * self.ncpu
        mem = _sys.ffi.buffer(buf)
        for i, value in enumerate(values):
            self.write_value(memoryview(mem)[i * stride : (i + 1) * stride], value)

    def unpack_keys(self, buf: Any, n: int) -> list[Any]:
        """The ``n`` keys at ``buf``, decoded."""
        size = self.key_size
        if self.key_out is not None:
            assert self.key_format is not None
            return _as_ints(buf, n, self.key_format)
        return _decode_all(self.key_codec.decode, _sys.ffi.buffer(buf, n * size)[:], size, size)

    def unpack_values(self, buf: Any, n: int) -> list[Any]:
        """The ``n`` values at ``buf``, decoded (per-CPU maps: a list per element)."""
        size = self.value_size
        decode = self.value_codec.decode
        if self.value_out is not None:
            assert self.value_format is not None
            return _as_ints(buf, n, self.value_format)
        if not self.per_cpu:
            return _decode_all(decode, _sys.ffi.buffer(buf, n * size)[:], size, size)
        stride, ncpu = self.stride, self.ncpu
        raw = _sys.ffi.buffer(buf, n * stride * ncpu)[:]
        fmt = int_format(self.value_codec, size)
        if fmt is not None:
            # One struct pass over every CPU's padded slot, then one list per element.
            flat = [v for (v,) in struct.iter_unpack(f"={fmt}{stride - size}x", raw)]
        else:
            flat = _decode_all(decode, raw, size, stride)
        return [flat[i : i + ncpu] for i in range(0, len(flat), ncpu)]

    # -- ints that do not fit ----------------------------------------------------------

    def bad_ints(self, key: Any, value: int) -> ValueError:
        """The error for a key or value that does not fit the compiled path's ints."""
        if isinstance(key, int) and self.key_format is not None:
            try:
                struct.pack(f"={self.key_format}", key)
            except struct.error:
                return self.bad_int("key", key)
        return self.bad_int("value", value)

    def bad_int(self, what: str, value: int) -> ValueError:
        """The error for an int ``what`` (key or value) too large for its bytes."""
        size = self.key_size if what == "key" else self.value_size
        return ValueError(f"map {self.name!r}: {what} {value} does not fit in {size} bytes")

    def _encode(self, codec: Codec, obj: Any, what: str) -> bytes:
        try:
            return codec.encode(obj)
        except (TypeError, ValueError) as exc:
            exc.add_note(f"encoding a {what} of map {self.name!r}")
            raise

    def _native_int(self, value: int, size: int, what: str) -> bytes:
        if size not in (1, 2, 4, 8):
            raise TypeError(
                f"map {self.name!r}: an int {what} needs a 1, 2, 4 or 8 byte {what}, "
                f"not {size} bytes; pass bytes"
            )
        try:
            return value.to_bytes(size, _BYTEORDER)
        except OverflowError:
            raise self.bad_int(what, value) from None


def _pack(buf: Any, size: int, objs: Sequence[Any], *, encode: Any, fmt: str | None) -> None:
    """Encode ``objs`` one after the other into ``buf``, ``size`` bytes each.

    Where ints are written natively (``fmt``) and every object is one, they go
    in by one slice assignment.
    """
    ffi = _sys.ffi
    if fmt is not None and all(o.__class__ is int for o in objs):
        try:
            ffi.cast(f"{CTYPES[fmt]} *", buf)[0 : len(objs)] = objs
        except OverflowError:
            raise ValueError(f"an int does not fit in {size} bytes") from None
        return
    mem = ffi.buffer(buf)
    for i, obj in enumerate(objs):
        mem[i * size : (i + 1) * size] = encode(obj)
