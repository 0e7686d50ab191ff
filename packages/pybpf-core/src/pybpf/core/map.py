"""Maps: kernel objects created from a :class:`~pybpf.elf.spec.MapSpec`.

``Map(spec)`` creates the map. ``Map.from_fd``, ``Map.from_id`` and
``Map.load_pinned`` open existing ones. A map is dict-like: ``m[k]``,
``m[k] = v``, ``del m[k]``, ``k in m``, iteration, ``get``.

Keys and values are always accepted as bytes (any bytes-like object of the
exact size: the raw encoding). Otherwise the map's codecs
(:mod:`pybpf.core.codec`) encode them and decode what lookups return: the BTF
value codec of the spec's key and value types when it has them, else raw
bytes, which also take 1/2/4/8-byte ints in host byte order. ``m.raw`` is the
same map with raw codecs.

Int keys and values (and raw bytes of the exact size) of hash, array and LRU
hash maps take the fastest path: ``m[k]``, ``m[k] = v``, ``lookup`` and
``update`` are implemented in C by the base class
(:mod:`pybpf.core._map_base`), which passes them to bpf(2) by value, so
nothing is shared between threads. Other element operations reuse
buffers that belong to the map; a lock keeps two threads from sharing them,
and a thread that finds the map busy takes a slower path with buffers of its
own.
"""

from __future__ import annotations

import errno
import mmap as _mmap
import os
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from pybpf.btf import BTFError, Datasec, TypeNotFoundError
from pybpf.core import _batch, _cmds, _cpus, _kernel_btf, _map_create, _probes, _sys
from pybpf.core._batch import BatchCursor
from pybpf.core._map_base import MapBase
from pybpf.core._map_create import MapBTF
from pybpf.core._owner import KernelObject
from pybpf.core._uapi import Command, FileFlags, MapFlags, UpdateFlags
from pybpf.core.codec import CTYPES, BytesCodec, Codec, IntCodec, btf_codec, int_format
from pybpf.core.errors import (
    ENOTSUPP,
    BPFError,
    BPFPermissionError,
    KeyExistsError,
    KeyNotFoundError,
    LimitError,
    NotSupportedError,
)
from pybpf.core.fd import FD
from pybpf.core.info import MapInfo
from pybpf.elf import MapType
from pybpf.elf.spec import MapSpec

if TYPE_CHECKING:
    from pybpf.btf import Type as BTFType

__all__ = ["BatchCursor", "Map", "MapBTF"]

#: What ``__exit__`` receives; ``type`` is a property inside ``Map``.
_ExcType: TypeAlias = "type[BaseException] | None"

_LOOKUP: Final = int(Command.MAP_LOOKUP_ELEM)
_UPDATE: Final = int(Command.MAP_UPDATE_ELEM)
_DELETE: Final = int(Command.MAP_DELETE_ELEM)
_NEXT_KEY: Final = int(Command.MAP_GET_NEXT_KEY)
_LOOKUP_AND_DELETE: Final = int(Command.MAP_LOOKUP_AND_DELETE_ELEM)

_PERCPU = frozenset(
    {
        MapType.PERCPU_HASH,
        MapType.PERCPU_ARRAY,
        MapType.LRU_PERCPU_HASH,
        MapType.PERCPU_CGROUP_STORAGE,
    }
)
#: Types whose keys are the indexes 0 .. max_entries-1, all present.
_ARRAYS = frozenset({MapType.ARRAY, MapType.PERCPU_ARRAY})
#: Types whose lookups return the id of the object stored (a u32).
_ID_VALUED = frozenset({MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})
#: Types whose element operations never sleep: the compiled int path keeps the GIL.
_FAST_TYPES = frozenset({MapType.HASH, MapType.ARRAY, MapType.LRU_HASH})
_UNSIGNED: Final = {1: "B", 2: "H", 4: "I", 8: "Q"}
#: Types that hold a stream of records rather than keyed elements: what to use instead.
_RECORD_MAPS: Final = {
    MapType.RINGBUF: "a RINGBUF map has no keys to look up or iterate; read its records "
    "with a ring buffer reader, pybpf.core.RingBuffer",
    MapType.USER_RINGBUF: "a USER_RINGBUF map has no keys to look up or iterate; write its "
    "records with a user ring buffer writer, pybpf.core.UserRingBuffer",
    MapType.PERF_EVENT_ARRAY: "a PERF_EVENT_ARRAY map holds perf event fds, not values; read "
    "its records with a perf buffer reader, pybpf.core.PerfBuffer",
}
#: Element operations that write the map (EPERM: frozen or opened read-only).
_WRITES = frozenset(
    {
        "update",
        "delete",
        "push",
        "pop",
        "lookup_and_delete",
        "update_batch",
        "delete_batch",
        "lookup_and_delete_batch",
    }
)
_BYTES_LIKE = (bytes, bytearray, memoryview)


#: No map type takes a key larger than the BPF stack (MAX_BPF_STACK).
_MAX_KEY_SIZE: Final = 512
#: A per-CPU value is at most PCPU_MIN_UNIT_SIZE bytes per CPU.
_MAX_PERCPU_VALUE_SIZE: Final = 32 << 10
#: No map type takes a value larger than INT_MAX bytes.
_MAX_VALUE_SIZE: Final = (1 << 31) - 1
_U64: Final = 1 << 64
#: The spec fields that go into the kernel's fixed-width attributes, and their widths.
_SPEC_FIELDS: Final = (
    ("type", 32),
    ("key_size", 32),
    ("value_size", 32),
    ("max_entries", 32),
    ("flags", 32),
    ("numa_node", 32),
    ("map_extra", 64),
)


def _check_spec(spec: object) -> None:
    """A TypeError/ValueError naming the field, for a spec the kernel's fields cannot hold."""
    if not isinstance(spec, MapSpec):
        raise TypeError(f"Map() takes a MapSpec, not {type(spec).__name__}")
    if not isinstance(spec.name, str):
        raise TypeError(f"a map's name must be a str, not {type(spec.name).__name__}")
    for field, bits in _SPEC_FIELDS:
        value = getattr(spec, field)
        if not isinstance(value, int) or value < 0 or value >> bits:
            _cmds.check_uint(value, bits, field, f"map {spec.name!r}")
    if spec.inner_map is not None:
        _check_spec(spec.inner_map)


def _check_sizes(name: str, key_size: int, value_size: int, map_type: int) -> None:
    """Refuse sizes no map has before allocating buffers of that size.

    They come from the kernel's answer about an fd, which need not be a map's.
    """
    limit = _MAX_PERCPU_VALUE_SIZE if map_type in _PERCPU else _MAX_VALUE_SIZE
    if not 0 <= key_size <= _MAX_KEY_SIZE or not 0 <= value_size <= limit:
        raise ValueError(
            f"map {name!r}: the kernel reports key_size {key_size} and value_size "
            f"{value_size}, which no map has (keys up to {_MAX_KEY_SIZE} bytes, values up "
            f"to {limit}): is this a map's fd?"
        )


def _check_flags(flags: object, what: str) -> int:
    """``flags`` for a u64 field; a TypeError/ValueError naming them otherwise."""
    if isinstance(flags, int) and 0 <= flags < _U64:
        return flags
    return _cmds.check_uint(flags, 64, "flags", what)


def _fdinfo(num: int) -> dict[str, str]:
    """The kernel's ``/proc/self/fdinfo`` fields of fd ``num`` (empty if unreadable)."""
    try:
        with open(f"/proc/self/fdinfo/{num}", encoding="ascii", errors="replace") as f:
            return dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in f))
    except OSError:
        return {}


def _key_repr(key: object) -> str:
    if isinstance(key, _BYTES_LIKE):
        return bytes(key).hex() or "''"
    return repr(key)


#: What ``key_codec``/``value_codec`` accept: a codec, or ``int``/``bytes`` for the stock ones.
CodecArg: TypeAlias = "Codec | type[int] | type[bytes] | None"


def _as_codec(codec: CodecArg, size: int, default: Codec) -> Codec:
    if codec is None:
        return default
    if codec is int:
        return IntCodec(size)
    if codec is bytes:
        return BytesCodec()
    if isinstance(codec, type):
        raise TypeError(f"codec must be int, bytes or a Codec instance, not {codec.__name__}")
    return codec


def _btf_codecs(
    map_type: int,
    key_type: BTFType | None,
    value_type: BTFType | None,
    key_size: int,
    value_size: int,
) -> tuple[Codec | None, Codec | None]:
    """The BTF codecs of a map's key and value, where they describe the map's bytes."""
    if map_type == MapType.STRUCT_OPS or isinstance(value_type, Datasec):
        # A data section is read through its Variables; a struct_ops value
        # has the kernel's layout, not the BTF type of the object's struct.
        return None, None
    key = btf_codec(key_type, key_size)
    value = None if map_type in _ID_VALUED else btf_codec(value_type, value_size)
    return key, value


def _spec_codecs(spec: MapSpec) -> tuple[Codec | None, Codec | None]:
    """The BTF codecs of a spec's key and value."""
    if spec.section is not None:
        return None, None
    return _btf_codecs(spec.type, spec.key_type, spec.value_type, spec.key_size, spec.value_size)


def _info_codecs(info: MapInfo) -> tuple[Codec | None, Codec | None]:
    """The BTF codecs of an existing map's key and value, from the BTF the kernel holds for it.

    Raw (None) when the map has no BTF, or when its BTF cannot be read or parsed
    here (gone meanwhile, or not allowed: opening BTF by id needs CAP_SYS_ADMIN).
    """
    if not info.btf_id or info.btf_vmlinux_value_type_id:
        return None, None
    try:
        spec = _kernel_btf.btf_spec_by_id(info.btf_id)
        key_type = spec.type_by_id(info.btf_key_type_id) if info.btf_key_type_id else None
        value_type = spec.type_by_id(info.btf_value_type_id) if info.btf_value_type_id else None
    except (BPFError, BTFError, TypeNotFoundError):
        return None, None
    return _btf_codecs(info.type, key_type, value_type, info.key_size, info.value_size)


def _input_format(codec: Codec, size: int) -> str | None:
    """The native int format ints are written with, if the codec takes plain ints."""
    fmt = int_format(codec, size)
    if fmt is None and isinstance(codec, BytesCodec):
        fmt = _UNSIGNED.get(size)  # raw maps take host-order unsigned ints
    return fmt


def _scalar_spec(fmt: str) -> int:
    """The compiled helper's description of an int: its size, | 0x10 when signed."""
    return struct.calcsize(fmt) | (0x10 if fmt.islower() else 0)


class Map(MapBase, KernelObject):
    """A BPF map.

    ``Map(spec)`` creates it from a :class:`~pybpf.elf.spec.MapSpec`: the name
    is sanitised and cut to 15 characters like libbpf does, a per-CPU perf
    event array with ``max_entries == 0`` gets one slot per possible CPU, maps
    of maps get their inner map from ``spec.inner_map``, ``spec.contents`` is
    written and ``spec.readonly`` maps are frozen. ``key_codec`` and
    ``value_codec`` (a :class:`~pybpf.core.codec.Codec`, or ``int`` or
    ``bytes``) say how keys and values are encoded and what lookups return;
    by default, the BTF value codec of ``spec.key_type``/``spec.value_type``
    (ints, typed records...), else raw bytes. Bytes of the exact size are
    always accepted, and :attr:`raw` gives the map with raw codecs. ``btf``
    is the loader's hook for maps that need BTF.

    The map owns its file descriptor; close it with :meth:`close` or a
    ``with`` block (a finalizer closes a forgotten one). After close, every
    operation raises :class:`~pybpf.core.errors.ClosedError`.
    """

    __slots__ = (
        "__weakref__",
        "_batch",
        "_elem",
        "_flags",
        "_frozen",
        "_kbuf",
        "_kcodec",
        "_key_size",
        "_kfmt",
        "_kin",
        "_kmem",
        "_kout",
        "_kraw",
        "_lock",
        "_max_entries",
        "_name",
        "_ncpu",
        "_nkbuf",
        "_percpu",
        "_pinned",
        "_raw",
        "_stride",
        "_type",
        "_value_size",
        "_vbuf",
        "_vcodec",
        "_vfmt",
        "_vin",
        "_vmem",
        "_vout",
    )
    _KIND = "map"

    def __init__(
        self,
        spec: MapSpec,
        *,
        key_codec: CodecArg = None,
        value_codec: CodecArg = None,
        btf: MapBTF | None = None,
    ) -> None:
        _check_spec(spec)
        max_entries = spec.max_entries
        if spec.type == MapType.PERF_EVENT_ARRAY and max_entries == 0:
            max_entries = _cpus.possible_cpus()
        for _, value in spec.contents:
            if isinstance(value, str):
                raise ValueError(
                    f"map {spec.name!r}: contents name {value!r}, which only a Collection can "
                    "resolve"
                )
        btf_key, btf_value = _spec_codecs(spec)
        fd, name = _map_create.create(spec, max_entries, btf)
        try:
            self._setup(
                fd,
                map_type=spec.type,
                key_size=spec.key_size,
                value_size=spec.value_size,
                max_entries=max_entries,
                flags=spec.flags,
                name=name,
                key_codec=btf_key if key_codec is None else key_codec,
                value_codec=btf_value if value_codec is None else value_codec,
            )
            for key, value in spec.contents:
                self._write_initial(key, value)
            if spec.readonly:
                self.freeze()
        except BaseException:
            fd.close()
            raise

    # -- opening existing maps ------------------------------------------------

    @classmethod
    def from_fd(
        cls,
        fd: int | FD,
        *,
        key_codec: CodecArg = None,
        value_codec: CodecArg = None,
    ) -> Map:
        """The map behind ``fd``.

        An :class:`~pybpf.core.fd.FD` is taken over (the map closes it); a raw
        int is duplicated, so the caller keeps and still closes its own.
        """
        if not isinstance(fd, FD):
            _cmds.check_uint(fd, 31, "fd", "Map.from_fd")
        owned = fd if isinstance(fd, FD) else FD.duplicate(fd)
        return cls._from_owned(owned, key_codec, value_codec)

    @classmethod
    def from_id(
        cls,
        map_id: int,
        *,
        flags: FileFlags = FileFlags.RDWR,
        key_codec: CodecArg = None,
        value_codec: CodecArg = None,
    ) -> Map:
        """Open the map with kernel-wide id ``map_id`` (``BPF_MAP_GET_FD_BY_ID``).

        Needs CAP_SYS_ADMIN, as every lookup of an object by id does.
        """
        fd = _cmds.get_fd_by_id(Command.MAP_GET_FD_BY_ID, map_id, flags, "open map id")
        return cls._from_owned(fd, key_codec, value_codec)

    @classmethod
    def load_pinned(
        cls,
        path: str | os.PathLike[str],
        *,
        flags: FileFlags = FileFlags.RDWR,
        key_codec: CodecArg = None,
        value_codec: CodecArg = None,
    ) -> Map:
        """Open the map pinned at ``path`` in bpffs."""
        fd, path = cls._open_pinned(path, flags)
        m = cls._from_owned(fd, key_codec, value_codec)
        m._pinned = os.fspath(path)
        return m

    @classmethod
    def _from_owned(cls, fd: FD, key_codec: CodecArg, value_codec: CodecArg) -> Map:
        try:
            cls._check_kind(fd, f"fd {fd.number}")
            info = MapInfo.from_fd(fd)
            if key_codec is None or value_codec is None:
                btf_key, btf_value = _info_codecs(info)
                key_codec = btf_key if key_codec is None else key_codec
                value_codec = btf_value if value_codec is None else value_codec
            m = cls.__new__(cls)
            m._setup(
                fd,
                map_type=info.type,
                key_size=info.key_size,
                value_size=info.value_size,
                max_entries=info.max_entries,
                flags=info.flags,
                name=info.name,
                key_codec=key_codec,
                value_codec=value_codec,
            )
        except BaseException:
            fd.close()
            raise
        return m

    def _setup(
        self,
        fd: FD,
        *,
        map_type: int,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int,
        name: str,
        key_codec: CodecArg,
        value_codec: CodecArg,
    ) -> None:
        _check_sizes(name, key_size, value_size, map_type)
        ffi = _sys.ffi
        fd.describe(f"map {name!r}")
        self._fd = fd
        self._type = map_type
        self._key_size = key_size
        self._value_size = value_size
        self._max_entries = max_entries
        self._flags = flags
        self._name = name
        self._pinned: str | None = None
        self._frozen = False
        self._percpu = map_type in _PERCPU
        self._ncpu = _cpus.possible_cpus() if self._percpu else 1
        self._stride = (value_size + 7) & ~7 if self._percpu else value_size
        self._kbuf = ffi.new("uint8_t[]", key_size) if key_size else _sys.NULL
        self._nkbuf = ffi.new("uint8_t[]", key_size) if key_size else _sys.NULL
        self._vbuf = ffi.new("uint8_t[]", self._stride * self._ncpu or 1)
        self._kmem = ffi.buffer(self._kbuf) if key_size else None
        self._vmem = ffi.buffer(self._vbuf)
        self._lock = threading.Lock()
        self._batch: tuple[int, Any, Any, Any] | None = None
        self._raw: Map | None = None
        self._elem = _sys.fd_calls.map_elem
        default_value: Codec = (
            IntCodec(value_size) if map_type in _ID_VALUED and value_size == 4 else BytesCodec()
        )
        self._kcodec = _as_codec(key_codec, key_size, BytesCodec())
        self._vcodec = _as_codec(value_codec, value_size, default_value)
        self._kraw = isinstance(self._kcodec, BytesCodec)
        self._setup_int_paths()

    def _setup_int_paths(self) -> None:
        """Pick how int keys and values are written and read without their codec.

        ``_kfmt``/``_vfmt`` are the native formats ints are written with
        (``None``: through the codec); ``_kin``/``_vin`` typed pointers into
        the map's buffers for them, ``_kout``/``_vout`` the same where lookups
        return plain ints; ``_shape`` describes both for the compiled code,
        and ``_fast`` says which element operations it does.
        """
        ffi = _sys.ffi
        kfmt = _input_format(self._kcodec, self._key_size) if self._key_size else None
        vfmt = None if self._percpu else _input_format(self._vcodec, self._value_size)
        kout = kfmt is not None and int_format(self._kcodec, self._key_size) is not None
        vout = vfmt is not None and int_format(self._vcodec, self._value_size) is not None
        self._kfmt, self._vfmt = kfmt, vfmt
        self._kin = ffi.cast(f"{CTYPES[kfmt]} *", self._kbuf) if kfmt else None
        self._vin = ffi.cast(f"{CTYPES[vfmt]} *", self._vbuf) if vfmt else None
        self._kout = self._kin if kout else None
        self._vout = self._vin if vout else None
        self._fast = 0
        self._shape = 0
        if kfmt is None or vfmt is None:
            return
        self._shape = _scalar_spec(kfmt) | _scalar_spec(vfmt) << 8
        if self._type in _FAST_TYPES:
            self._fast = 3 if vout else 2

    # -- properties -------------------------------------------------------------

    @property
    def type(self) -> MapType | int:
        """The map type."""
        try:
            return MapType(self._type)
        except ValueError:
            return self._type

    @property
    def name(self) -> str:
        """The name as given to the kernel (sanitised, at most 15 characters)."""
        return self._name

    @property
    def key_size(self) -> int:
        """Key size in bytes."""
        return self._key_size

    @property
    def value_size(self) -> int:
        """Value size in bytes (of one CPU's value for per-CPU maps)."""
        return self._value_size

    @property
    def max_entries(self) -> int:
        """The capacity given at creation."""
        return self._max_entries

    @property
    def flags(self) -> MapFlags:
        """The creation flags."""
        return MapFlags(self._flags)

    @property
    def key_codec(self) -> Codec:
        """How keys are decoded."""
        return self._kcodec

    @property
    def value_codec(self) -> Codec:
        """How values are decoded."""
        return self._vcodec

    @property
    def raw(self) -> Map:
        """The same map with raw codecs: lookups, iteration and batches return bytes.

        A view sharing the map's file descriptor (closing either closes both);
        keys and values go in as bytes, or as host-order ints for 1/2/4/8-byte
        ones. A map that already has raw codecs is its own view.
        """
        view = self._raw
        if view is None:
            if self._kraw and isinstance(self._vcodec, BytesCodec):
                view = self
            else:
                view = self._like(self._fd, bytes, bytes)
                view._pinned = self._pinned
                view._frozen = self._frozen
                view._raw = view
            self._raw = view
        return view

    def with_codecs(self, *, key: CodecArg = None, value: CodecArg = None) -> Map:
        """The same map with other codecs for its keys and/or values (``None``: keep this one's).

        A view sharing the map's file descriptor, like :attr:`raw`: closing
        either closes both. What ``pybpf gen``'s typed modules use to make
        lookups return their generated record classes.
        """
        for codec, size, what in ((key, self._key_size, "key"), (value, self._value_size, "value")):
            codec_size = getattr(codec, "size", 0) if not isinstance(codec, type) else 0
            if codec_size and codec_size != size:
                raise ValueError(
                    f"map {self._name!r}: a {what} codec of {codec_size} bytes for "
                    f"{size}-byte {what}s"
                )
        view = self._like(
            self._fd,
            self._kcodec if key is None else key,
            self._vcodec if value is None else value,
        )
        view._pinned = self._pinned
        view._frozen = self._frozen
        return view

    @property
    def per_cpu(self) -> bool:
        """Whether values are per CPU (lookups return one value per possible CPU)."""
        return self._percpu

    def info(self) -> MapInfo:
        """What the kernel reports about the map (id, BTF ids, map_extra...)."""
        return MapInfo.from_fd(self.fd)

    def __repr__(self) -> str:
        state = " closed" if self._fd.closed else ""
        return f"<Map {self._name!r} {_probes.type_name(self._type)}{state}>"

    # -- element operations: the hot paths ------------------------------------------

    # lookup, update, m[k], m[k] = v and del m[k] are the base class's: in C
    # for int keys and values, else here.

    # ``with lock`` rather than ``acquire(False)`` + ``try``: a signal handler
    # raising between those two would leave the map locked for good.

    def _lookup(self, key: Any) -> Any:
        lock = self._lock
        if lock.locked():
            return self._slow(_LOOKUP, key, None, 0)
        with lock:
            self._put_key(key)
            rc = self._elem(_LOOKUP, self._fd._cell, self._kbuf, self._vbuf, 0)
            if rc:
                raise self._error(rc, "lookup", key)
            vout = self._vout
            if vout is not None:
                return vout[0]
            return self._get_value(self._vmem)

    def _update(self, key: Any, value: Any, flags: int) -> None:
        flags = _check_flags(flags, f"update in map {self._name!r}")
        lock = self._lock
        if lock.locked():
            self._slow(_UPDATE, key, value, flags)
            return
        with lock:
            self._put_key(key)
            vin = self._vin
            if vin is not None and value.__class__ is int:
                try:
                    vin[0] = value
                except OverflowError:
                    raise self._bad_int("value", value) from None
            else:
                self._put_value(self._vmem, value)
            rc = self._elem(_UPDATE, self._fd._cell, self._kbuf, self._vbuf, flags)
            if rc:
                raise self._error(rc, "update", key, flags)

    def delete(self, key: Any) -> None:
        """Remove ``key``; :class:`~pybpf.core.errors.KeyNotFoundError` if absent."""
        with self._lock:
            self._put_key(key)
            rc = self._elem(_DELETE, self._fd._cell, self._kbuf, _sys.NULL, 0)
        if rc:
            raise self._error(rc, "delete", key)

    def lookup_and_delete(self, key: Any) -> Any:
        """Remove ``key`` and return its value, atomically (hash maps: Linux 5.14)."""
        with self._lock:
            self._put_key(key)
            rc = self._elem(_LOOKUP_AND_DELETE, self._fd._cell, self._kbuf, self._vbuf, 0)
            if rc:
                raise self._error(rc, "lookup_and_delete", key)
            return self._get_value(self._vmem)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value at ``key``, or ``default`` if absent."""
        try:
            return self.lookup(key)
        except KeyNotFoundError:
            return default

    def __contains__(self, key: object) -> bool:
        if self._type == MapType.BLOOM_FILTER:
            return self.contains(key)
        with self._lock:
            self._put_key(key)
            rc = self._elem(_LOOKUP, self._fd._cell, self._kbuf, self._vbuf, 0)
        if rc == -errno.ENOENT:
            return False
        if rc:
            raise self._error(rc, "lookup", key)
        return True

    def next_key(self, key: Any = None) -> Any:
        """The key after ``key`` (the first key for None), or None at the end."""
        with self._lock:
            kbuf = _sys.NULL
            if key is not None:
                self._put_key(key)
                kbuf = self._kbuf
            rc = self._elem(_NEXT_KEY, self._fd._cell, kbuf, self._nkbuf, 0)
            if rc == -errno.ENOENT:
                return None
            if rc:
                raise self._error(rc, "next_key", key)
            return self._kcodec.decode(_sys.ffi.buffer(self._nkbuf)[:])

    def _slow(self, cmd: int, key: Any, value: Any, flags: int) -> Any:
        """One element operation with buffers of its own (the map is busy in another thread)."""
        ffi = _sys.ffi
        kbuf = ffi.new("uint8_t[]", self._key_size) if self._key_size else _sys.NULL
        vbuf = ffi.new("uint8_t[]", self._stride * self._ncpu or 1)
        if self._key_size:
            ffi.buffer(kbuf)[:] = self._encode_key(key)
        vmem = ffi.buffer(vbuf)
        if cmd == _UPDATE:
            self._put_value(vmem, value)
        rc = self._elem(cmd, self._fd._cell, kbuf, vbuf, flags)
        if rc:
            raise self._error(rc, "update" if cmd == _UPDATE else "lookup", key, flags)
        return None if cmd == _UPDATE else self._get_value(vmem)

    # -- queues, stacks, bloom filters --------------------------------------------

    def push(self, value: Any, flags: int = UpdateFlags.ANY) -> None:
        """Add ``value`` to a queue, stack or bloom filter."""
        flags = _check_flags(flags, f"push in map {self._name!r}")
        with self._lock:
            self._put_value(self._vmem, value)
            rc = self._elem(_UPDATE, self._fd._cell, _sys.NULL, self._vbuf, flags)
        if rc:
            raise self._error(rc, "push", flags=flags)

    def pop(self) -> Any:
        """Remove and return the next value of a queue or stack (KeyNotFoundError if empty)."""
        with self._lock:
            rc = self._elem(_LOOKUP_AND_DELETE, self._fd._cell, _sys.NULL, self._vbuf, 0)
            if rc:
                raise self._error(rc, "pop")
            return self._get_value(self._vmem)

    def peek(self) -> Any:
        """The next value of a queue or stack, left in place (KeyNotFoundError if empty)."""
        with self._lock:
            rc = self._elem(_LOOKUP, self._fd._cell, _sys.NULL, self._vbuf, 0)
            if rc:
                raise self._error(rc, "peek")
            return self._get_value(self._vmem)

    def contains(self, value: Any) -> bool:
        """Whether a bloom filter may contain ``value`` (False is certain)."""
        with self._lock:
            self._put_value(self._vmem, value)
            rc = self._elem(_LOOKUP, self._fd._cell, _sys.NULL, self._vbuf, 0)
        if rc == -errno.ENOENT:
            return False
        if rc:
            raise self._error(rc, "contains")
        return True

    # -- iteration -----------------------------------------------------------------

    def keys(self) -> Iterator[Any]:
        """Every key, in the kernel's order (``BPF_MAP_GET_NEXT_KEY``).

        If a hash map's current key is deleted meanwhile, the kernel restarts
        from the first key, so keys may repeat.
        """
        ffi = _sys.ffi
        size = self._key_size
        cur = ffi.new("uint8_t[]", size or 1)
        nxt = ffi.new("uint8_t[]", size or 1)
        nxt_mem = ffi.buffer(nxt, size)
        prev = _sys.NULL
        decode = self._kcodec.decode
        while True:
            rc = self._elem(_NEXT_KEY, self._fd._cell, prev, nxt, 0)
            if rc == -errno.ENOENT:
                return
            if rc:
                raise self._error(rc, "next_key")
            raw = nxt_mem[:]
            yield decode(raw)
            ffi.memmove(cur, nxt, size)
            prev = cur

    __iter__ = keys

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Every (key, value) pair; by batches where the kernel offers them."""
        if _batch.batch_supported(self):
            cursor = BatchCursor()
            chunk = max(1, min(self._max_entries, 4096))
            while not cursor.done:
                keys, values, chunk = _batch.grow_batch(self, cursor, chunk)
                yield from zip(keys, values, strict=True)
            return
        for key in self.keys():
            try:
                value = self.lookup(key)
            except KeyNotFoundError:
                continue
            yield key, value

    def values(self) -> Iterator[Any]:
        """Every value."""
        for _, value in self.items():
            yield value

    def to_dict(self, *, chunk: int = 0) -> dict[Any, Any]:
        """A snapshot of the whole map, read by batches of ``chunk`` where possible."""
        try:
            if not _batch.batch_supported(self):
                return dict(self.items())
            return _batch.read_all(self, chunk or max(1, min(self._max_entries, 1 << 20)))
        except TypeError as exc:
            if "unhashable" not in str(exc):
                raise
            raise TypeError(
                f"map {self._name!r}: its keys decode to objects a dict cannot hold ({exc}); "
                "iterate items(), or take .raw.to_dict()"
            ) from None

    def __len__(self) -> int:
        if self._type in _ARRAYS:
            return self._max_entries
        raise TypeError(f"len() of a {_probes.type_name(self._type)} map is not known")

    def __bool__(self) -> bool:
        return True

    # -- batches -------------------------------------------------------------------

    def lookup_batch(self, cursor: BatchCursor, count: int) -> tuple[list[Any], list[Any]]:
        """Up to ``count`` keys and values after ``cursor`` (``BPF_MAP_LOOKUP_BATCH``)."""
        return _batch.read_batch(self, Command.MAP_LOOKUP_BATCH, cursor, count)

    def lookup_and_delete_batch(
        self, cursor: BatchCursor, count: int
    ) -> tuple[list[Any], list[Any]]:
        """Like :meth:`lookup_batch`, removing what it returns."""
        return _batch.read_batch(self, Command.MAP_LOOKUP_AND_DELETE_BATCH, cursor, count)

    def update_batch(
        self, keys: Sequence[Any], values: Sequence[Any], flags: int = UpdateFlags.ANY
    ) -> int:
        """Write many elements in one call; returns how many were written."""
        if len(keys) != len(values):
            raise ValueError(f"{len(keys)} keys but {len(values)} values")
        flags = _check_flags(flags, f"update_batch in map {self._name!r}")
        return _batch.write_batch(self, Command.MAP_UPDATE_BATCH, keys, values, flags)

    def delete_batch(self, keys: Sequence[Any]) -> int:
        """Remove many keys in one call; returns how many were removed."""
        return _batch.write_batch(self, Command.MAP_DELETE_BATCH, keys, None, 0)

    # -- encoding ------------------------------------------------------------------

    def _encode_key(self, key: Any) -> bytes:
        size = self._key_size
        if isinstance(key, _BYTES_LIKE):
            data = bytes(key)
        elif isinstance(key, int) and self._kraw:
            data = self._native_int(key, size, "key")
        else:
            data = self._encode(self._kcodec, key, "key")
        if len(data) != size:
            raise ValueError(f"map {self._name!r}: key must be {size} bytes, got {len(data)}")
        return data

    def _put_key(self, key: Any) -> None:
        kin = self._kin
        if kin is not None and key.__class__ is int:
            try:
                kin[0] = key
            except OverflowError:
                raise self._bad_int("key", key) from None
            return
        kmem = self._kmem
        if kmem is None:
            raise TypeError(f"{_probes.type_name(self._type)} maps have no keys")
        if key.__class__ is bytes and len(key) == self._key_size:
            kmem[:] = key
        else:
            kmem[:] = self._encode_key(key)

    def _encode_value(self, value: Any) -> bytes:
        size = self._value_size
        if isinstance(value, _BYTES_LIKE):
            data = bytes(value)
        elif isinstance(value, Map | FD):
            # Maps of maps, program arrays and friends take fds as values.
            fd = value.fd if isinstance(value, Map) else value
            data = self._native_int(fd.number, size, "value")
        elif isinstance(value, int) and isinstance(self._vcodec, BytesCodec):
            data = self._native_int(value, size, "value")
        else:
            data = self._encode(self._vcodec, value, "value")
        if len(data) != size:
            raise ValueError(f"map {self._name!r}: value must be {size} bytes, got {len(data)}")
        return data

    def _put_value(self, mem: Any, value: Any) -> None:
        if not self._percpu:
            mem[: self._value_size] = self._encode_value(value)
            return
        stride, ncpu = self._stride, self._ncpu
        if isinstance(value, _BYTES_LIKE) and len(value) == stride * ncpu:
            mem[: stride * ncpu] = bytes(value)
            return
        if isinstance(value, (*_BYTES_LIKE, int, str, Mapping)) or not isinstance(value, Iterable):
            raise TypeError(
                f"map {self._name!r} is per-CPU: give one value per possible CPU ({ncpu}), "
                f"or {stride * ncpu} bytes"
            )
        per_cpu = list(value)
        if len(per_cpu) != ncpu:
            raise ValueError(
                f"map {self._name!r} is per-CPU: {ncpu} values needed, got {len(per_cpu)}"
            )
        pad = bytes(stride - self._value_size)
        mem[: stride * ncpu] = b"".join(self._encode_value(v) + pad for v in per_cpu)

    def _get_value(self, mem: Any) -> Any:
        decode = self._vcodec.decode
        size = self._value_size
        if not self._percpu:
            return decode(mem[:size])
        raw = mem[: self._stride * self._ncpu]
        return [decode(raw[i : i + size]) for i in range(0, len(raw), self._stride)]

    def _encode(self, codec: Codec, obj: Any, what: str) -> bytes:
        try:
            return codec.encode(obj)
        except (TypeError, ValueError) as exc:
            exc.add_note(f"encoding a {what} of map {self._name!r}")
            raise

    def _native_int(self, value: int, size: int, what: str) -> bytes:
        if size not in (1, 2, 4, 8):
            raise TypeError(
                f"map {self._name!r}: an int {what} needs a 1, 2, 4 or 8 byte {what}, "
                f"not {size} bytes; pass bytes"
            )
        try:
            return value.to_bytes(size, _BYTEORDER)
        except OverflowError:
            raise self._bad_int(what, value) from None

    def _fast_error(self, op: str, err: int, key: Any, value: Any, flags: Any) -> None:
        """Raise what the C paths of the base class met: ``err`` an errno, or 0 for a bad int."""
        if err:
            raise self._error(-err, op, key, flags or 0)
        if op == "update":
            raise self._bad_ints(key, value)
        raise self._bad_int("key", key)

    def _bad_ints(self, key: Any, value: int) -> ValueError:
        """The error for a key or value that does not fit the compiled path's ints."""
        if isinstance(key, int):
            try:
                struct.pack(f"={self._kfmt}", key)
            except struct.error:
                return self._bad_int("key", key)
        return self._bad_int("value", value)

    def _bad_int(self, what: str, value: int) -> ValueError:
        size = self._key_size if what == "key" else self._value_size
        return ValueError(f"map {self._name!r}: {what} {value} does not fit in {size} bytes")

    def _write_initial(self, key: bytes, value: bytes | str) -> None:
        if self._percpu and isinstance(value, _BYTES_LIKE) and len(value) == self._value_size:
            # A spec holds one value; every CPU starts with it.
            self.update(key, [value] * self._ncpu)
        else:
            self.update(key, value)

    # -- errors --------------------------------------------------------------------

    def _error(self, rc: int, op: str, key: Any = None, flags: int = 0) -> Exception:
        code = -rc
        if self._fd.closed:
            return self._closed()
        what = f"{op} in map {self._name!r}"
        type_name = _probes.type_name(self._type)
        if code == errno.ENOENT:
            if op in ("pop", "peek"):
                return KeyNotFoundError(code, what, reason=f"the {type_name} map is empty")
            return KeyNotFoundError(code, what, reason=f"key {_key_repr(key)} not found")
        if code == errno.EEXIST:
            return KeyExistsError(
                code, what, reason=f"key {_key_repr(key)} already exists (flags NOEXIST)"
            )
        if code == errno.E2BIG:
            reason = "key out of range" if self._type in _ARRAYS else "map is full"
            return LimitError(code, what, limit=f"max_entries={self._max_entries}", reason=reason)
        if code in (ENOTSUPP, errno.EOPNOTSUPP):
            instead = _RECORD_MAPS.get(MapType(self._type)) if self._type in _RECORD_MAPS else None
            if instead:
                return BPFError(code, what, reason=instead)
            return NotSupportedError(f"{op} on {type_name} maps", code=code)
        if code == errno.EPERM and op in _WRITES:
            refusal = self._write_refusal()
            if refusal:
                return BPFPermissionError(code, what, reason=f"{os.strerror(code)}; {refusal}")
        if code == errno.EINVAL and op == "delete" and self._type in _ARRAYS:
            return BPFError(code, what, reason="array elements cannot be deleted (EINVAL)")
        return _cmds.error(code, what)

    def _write_refusal(self) -> str:
        """Why user space may not write this map, if the fd's state says (not privileges)."""
        info = _fdinfo(self._fd._num)
        if self._frozen or info.get("frozen") == "1":
            return "the map is frozen: user space may not write to it (BPF programs still may)"
        if int(info.get("flags", "0"), 8) & os.O_ACCMODE == os.O_RDONLY:
            return "this fd was opened read-only (FileFlags.RDONLY)"
        return ""

    # -- kernel object ---------------------------------------------------------------

    def freeze(self) -> None:
        """Forbid writes from user space from now on (``BPF_MAP_FREEZE``)."""
        _cmds.map_freeze(self.fd, f"map {self._name!r}")
        self._frozen = True

    def clone(self) -> Map:
        """Another ``Map`` for the same kernel map, with its own fd."""
        return self._like(self.fd.dup(), self._kcodec, self._vcodec)

    def _like(self, fd: FD, key_codec: CodecArg, value_codec: CodecArg) -> Map:
        """A new ``Map`` on ``fd`` of this map's type and sizes, with these codecs."""
        m = Map.__new__(Map)
        m._setup(
            fd,
            map_type=self._type,
            key_size=self._key_size,
            value_size=self._value_size,
            max_entries=self._max_entries,
            flags=self._flags,
            name=self._name,
            key_codec=key_codec,
            value_codec=value_codec,
        )
        return m

    def mmap(self, *, writable: bool | None = None) -> _mmap.mmap:
        """Map the values of a ``BPF_F_MMAPABLE`` map into memory.

        The result is an :class:`mmap.mmap`: index it, or take a
        ``memoryview`` of it; close it (or use ``with``) when done, as it holds
        its own descriptor. Frozen maps are mapped read-only.
        """
        fd = self.fd
        if not self._flags & MapFlags.MMAPABLE:
            raise ValueError(f"map {self._name!r} was not created with MapFlags.MMAPABLE")
        page = _mmap.PAGESIZE
        if self._type == MapType.ARENA:
            size = self._max_entries * page
        else:
            size = ((self._value_size + 7) & ~7) * self._max_entries
        size = (size + page - 1) // page * page
        if writable is None:
            writable = not self._frozen
        prot = _mmap.PROT_READ | (_mmap.PROT_WRITE if writable else 0)
        # mmap keeps a descriptor of its own: give it a duplicate, which no
        # close of this map can free under it.
        try:
            with fd.dup() as own:
                return _mmap.mmap(own.number, size, flags=_mmap.MAP_SHARED, prot=prot)
        except PermissionError as exc:
            raise _cmds.error(exc.errno or errno.EPERM, f"mmap map {self._name!r}") from None


_BYTEORDER: Final = "little" if int.from_bytes(b"\x01\x00", "little") == 1 else "big"
