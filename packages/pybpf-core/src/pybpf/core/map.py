"""Maps: kernel objects created from a :class:`~pybpf.elf.spec.MapSpec`.

``Map(spec)`` creates the map. ``Map.from_fd``, ``Map.from_id`` and
``Map.load_pinned`` open existing ones. A map with keys is dict-like:
``m[k]``, ``m[k] = v``, ``del m[k]``, ``k in m``, iteration, ``get``. Queues
and stacks are pushed, popped and peeked, bloom filters pushed and asked
whether they ``contains`` a value (:mod:`pybpf.core._queue`); their dict-like
operations raise a TypeError that names those methods.

Keys and values are always accepted as bytes (any bytes-like object of the
exact size: the raw encoding). Otherwise the map's codecs
(:mod:`pybpf.core.codec`) encode them and decode what lookups return: the BTF
value codec of the spec's key and value types when it has them, else raw
bytes, which also take 1/2/4/8-byte ints in host byte order. ``m.raw`` is the
same map with raw codecs. How they become bytes is the map's
:class:`~pybpf.core._elements.Elements`; what a failed operation raises, its
:class:`~pybpf.core._map_errors.MapErrors`.

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
from collections.abc import Iterator, Sequence

from pybpf.asm.exports import lazy_exports
from pybpf.btf import Spec
from pybpf.core import _cmds, _map_codecs, _map_create, _probes, _sys
from pybpf.core._elements import PERCPU_TYPES, Elements
from pybpf.core._map_base import MapBase
from pybpf.core._map_codecs import CodecArg
from pybpf.core._map_create import MapBTF
from pybpf.core._map_errors import ARRAY_TYPES, MapErrors, check_flags
from pybpf.core._owner import KernelObject
from pybpf.core._queue import ValueStoreOps
from pybpf.core._uapi import Command, MapFlags
from pybpf.core.errors import ClosedError, KeyNotFoundError
from pybpf.core.fd import FD
from pybpf.elf import MapType
from pybpf.elf.spec import MapSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from pybpf.core._batch import BatchCursor, MapBatches
    from pybpf.core._uapi_access import FileFlags
    from pybpf.core.codec import Codec
    from pybpf.core.info import MapInfo

__all__ = ["BatchCursor", "Map", "MapBTF"]


# BatchCursor is imported the first time it is read (PEP 562): a load makes none.
__getattr__, __dir__ = lazy_exports(
    __name__, {"pybpf.core._batch": ["BatchCursor"]}, globals(), __all__
)


_LOOKUP: Final = int(Command.MAP_LOOKUP_ELEM)
_UPDATE: Final = int(Command.MAP_UPDATE_ELEM)
_DELETE: Final = int(Command.MAP_DELETE_ELEM)
_NEXT_KEY: Final = int(Command.MAP_GET_NEXT_KEY)
_LOOKUP_AND_DELETE: Final = int(Command.MAP_LOOKUP_AND_DELETE_ELEM)
_BYTES_LIKE = (bytes, bytearray, memoryview)


#: No map type takes a key larger than the BPF stack (MAX_BPF_STACK).
_MAX_KEY_SIZE: Final = 512
#: A per-CPU value is at most PCPU_MIN_UNIT_SIZE bytes per CPU.
_MAX_PERCPU_VALUE_SIZE: Final = 32 << 10
#: No map type takes a value larger than INT_MAX bytes.
_MAX_VALUE_SIZE: Final = (1 << 31) - 1
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
    limit = _MAX_PERCPU_VALUE_SIZE if map_type in PERCPU_TYPES else _MAX_VALUE_SIZE
    if not 0 <= key_size <= _MAX_KEY_SIZE or not 0 <= value_size <= limit:
        raise ValueError(
            f"map {name!r}: the kernel reports key_size {key_size} and value_size "
            f"{value_size}, which no map has (keys up to {_MAX_KEY_SIZE} bytes, values up "
            f"to {limit}): is this a map's fd?"
        )


def _map_info(fd: FD) -> MapInfo:
    """What the kernel says about the map behind ``fd``."""
    # Imported here: only opening a loaded map and .info() need it, not a load.
    from pybpf.core.info import MapInfo  # noqa: PLC0415

    return MapInfo.from_fd(fd)


class Map(MapBase, ValueStoreOps, KernelObject):
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

    A queue, stack or bloom filter has no keys: :meth:`push`, :meth:`pop`,
    :meth:`peek` and :meth:`contains` reach it, and the dict-like operations
    raise a TypeError that names them.

    The map owns its file descriptor; close it with :meth:`close` or a
    ``with`` block (a finalizer closes a forgotten one). After close, every
    operation raises :class:`~pybpf.core.errors.ClosedError`.
    """

    __slots__ = (
        "__weakref__",
        "_batches",
        "_elem",
        "_elements",
        "_errors",
        "_flags",
        "_name",
        "_pinned",
        "_raw",
        "_types",
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
            from pybpf.core import _cpus  # noqa: PLC0415 (only perf event arrays count CPUs here)

            max_entries = _cpus.possible_cpus()
        for _, value in spec.contents:
            if isinstance(value, str):
                raise ValueError(
                    f"map {spec.name!r}: contents name {value!r}, which only a Collection can "
                    "resolve"
                )
        btf_key, btf_value = _map_codecs.spec_codecs(spec)
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
        flags: FileFlags | int = 0,
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
        flags: FileFlags | int = 0,
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
            info = _map_info(fd)
            if key_codec is None or value_codec is None:
                btf_key, btf_value = _map_codecs.info_codecs(info)
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
        fd.describe(f"map {name!r}")
        self._fd = fd
        self._flags = flags
        self._name = name
        self._pinned: str | None = None
        self._raw: Map | None = None
        self._types: Spec | None = None
        self._elem = _sys.fd_calls.map_elem
        kcodec, vcodec = _map_codecs.codecs(map_type, key_size, value_size, key_codec, value_codec)
        elements = Elements(
            name=name,
            map_type=map_type,
            key_size=key_size,
            value_size=value_size,
            max_entries=max_entries,
            key_codec=kcodec,
            value_codec=vcodec,
        )
        self._elements = elements
        self._errors = MapErrors(fd, name=name, map_type=map_type, max_entries=max_entries)
        self._batches: MapBatches | None = None
        # What the compiled base class reads: which operations it does, on which ints.
        self._shape = elements.shape
        self._fast = elements.fast

    # -- properties -------------------------------------------------------------

    @property
    def type(self) -> MapType | int:
        """The map type."""
        map_type = self._elements.map_type
        try:
            return MapType(map_type)
        except ValueError:
            return map_type

    @property
    def name(self) -> str:
        """The name as given to the kernel (sanitised, at most 15 characters)."""
        return self._name

    @property
    def key_size(self) -> int:
        """Key size in bytes."""
        return self._elements.key_size

    @property
    def value_size(self) -> int:
        """Value size in bytes (of one CPU's value for per-CPU maps)."""
        return self._elements.value_size

    @property
    def max_entries(self) -> int:
        """The capacity given at creation."""
        return self._elements.max_entries

    @property
    def flags(self) -> MapFlags:
        """The creation flags."""
        return MapFlags(self._flags)

    @property
    def key_codec(self) -> Codec:
        """How keys are decoded."""
        return self._elements.key_codec

    @property
    def value_codec(self) -> Codec:
        """How values are decoded."""
        return self._elements.value_codec

    @property
    def raw(self) -> Map:
        """The same map with raw codecs: lookups, iteration and batches return bytes.

        A view sharing the map's file descriptor (closing either closes both);
        keys and values go in as bytes, or as host-order ints for 1/2/4/8-byte
        ones. A map that already has raw codecs is its own view.
        """
        view = self._raw
        if view is None:
            el = self._elements
            if el.key_raw and el.value_raw:
                view = self
            else:
                view = self._like(self._fd, bytes, bytes)
                view._pinned = self._pinned
                view._types = self._types
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
        el = self._elements
        for codec, size, what in ((key, el.key_size, "key"), (value, el.value_size, "value")):
            codec_size = getattr(codec, "size", 0) if not isinstance(codec, type) else 0
            if codec_size and codec_size != size:
                raise ValueError(
                    f"map {self._name!r}: a {what} codec of {codec_size} bytes for "
                    f"{size}-byte {what}s"
                )
        view = self._like(
            self._fd,
            el.key_codec if key is None else key,
            el.value_codec if value is None else value,
        )
        view._pinned = self._pinned
        view._types = self._types
        view._frozen = self._frozen
        return view

    @property
    def types(self) -> Spec | None:
        """The BTF of the object this map was loaded from, by a Collection; else None.

        Readers find record types in it by name (``RingBuffer(m,
        record="struct event")``): a ring buffer has no key or value type of
        its own in the kernel.
        """
        return self._types

    @property
    def per_cpu(self) -> bool:
        """Whether values are per CPU (lookups return one value per possible CPU)."""
        return self._elements.per_cpu

    @property
    def _frozen(self) -> bool:
        """Whether this map object froze the map (the kernel may know of other freezes)."""
        return self._errors.frozen

    @_frozen.setter
    def _frozen(self, frozen: bool) -> None:
        self._errors.frozen = frozen

    def info(self) -> MapInfo:
        """What the kernel reports about the map (id, BTF ids, map_extra...)."""
        return _map_info(self.fd)

    def __repr__(self) -> str:
        state = " closed" if self._fd.closed else ""
        return f"<Map {self._name!r} {_probes.type_name(self._elements.map_type)}{state}>"

    # -- element operations: the hot paths ------------------------------------------

    # lookup, update, m[k], m[k] = v and del m[k] are the base class's: in C
    # for int keys and values, else here.

    # ``with lock`` rather than ``acquire(False)`` + ``try``: a signal handler
    # raising between those two would leave the map locked for good.

    def _lookup(self, key: Any) -> Any:
        el = self._elements
        lock = el.lock
        if lock.locked():
            return self._slow(_LOOKUP, key, None, 0)
        with lock:
            el.put_key(key)
            rc = self._elem(_LOOKUP, self._fd._cell, el.kbuf, el.vbuf, 0)
            if rc:
                raise self._errors.element(rc, "lookup", key)
            return el.get_value()

    def _update(self, key: Any, value: Any, flags: int) -> None:
        el = self._elements
        flags = check_flags(flags, f"update in map {el.name!r}")
        lock = el.lock
        if lock.locked():
            self._slow(_UPDATE, key, value, flags)
            return
        with lock:
            el.put_key(key)
            el.put_value(value)
            rc = self._elem(_UPDATE, self._fd._cell, el.kbuf, el.vbuf, flags)
            if rc:
                raise self._errors.element(rc, "update", key)

    def delete(self, key: Any) -> None:
        """Remove ``key``; :class:`~pybpf.core.errors.KeyNotFoundError` if absent."""
        el = self._elements
        with el.lock:
            el.put_key(key)
            rc = self._elem(_DELETE, self._fd._cell, el.kbuf, _sys.NULL, 0)
        if rc:
            raise self._errors.element(rc, "delete", key)

    def lookup_and_delete(self, key: Any) -> Any:
        """Remove ``key`` and return its value, atomically (hash maps: Linux 5.14)."""
        el = self._elements
        with el.lock:
            el.put_key(key)
            rc = self._elem(_LOOKUP_AND_DELETE, self._fd._cell, el.kbuf, el.vbuf, 0)
            if rc:
                raise self._errors.element(rc, "lookup_and_delete", key)
            return el.read_value(el.vmem)

    def get(self, key: Any, default: Any = None) -> Any:
        """The value at ``key``, or ``default`` if absent."""
        try:
            return self.lookup(key)
        except KeyNotFoundError:
            return default

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is in the map; for a bloom filter, :meth:`contains` of a value."""
        el = self._elements
        if el.map_type == MapType.BLOOM_FILTER:
            return self.contains(key)
        with el.lock:
            el.put_key(key)
            rc = self._elem(_LOOKUP, self._fd._cell, el.kbuf, el.vbuf, 0)
        if rc == -errno.ENOENT:
            return False
        if rc:
            raise self._errors.element(rc, "lookup", key)
        return True

    def next_key(self, key: Any = None) -> Any:
        """The key after ``key`` (the first key for None), or None at the end."""
        el = self._elements
        el.require_keys()
        with el.lock:
            kbuf = _sys.NULL
            if key is not None:
                el.put_key(key)
                kbuf = el.kbuf
            rc = self._elem(_NEXT_KEY, self._fd._cell, kbuf, el.nkbuf, 0)
            if rc == -errno.ENOENT:
                return None
            if rc:
                raise self._errors.element(rc, "next_key", key)
            return el.decode_key(_sys.ffi.buffer(el.nkbuf)[:])

    def _slow(self, cmd: int, key: Any, value: Any, flags: int) -> Any:
        """One element operation with buffers of its own (the map is busy in another thread)."""
        el = self._elements
        kbuf, vbuf = el.scratch()
        _sys.ffi.buffer(kbuf)[:] = el.encode_key(key)
        vmem = _sys.ffi.buffer(vbuf)
        if cmd == _UPDATE:
            el.write_value(vmem, value)
        rc = self._elem(cmd, self._fd._cell, kbuf, vbuf, flags)
        if rc:
            raise self._errors.element(rc, "update" if cmd == _UPDATE else "lookup", key)
        return None if cmd == _UPDATE else el.read_value(vmem)

    # -- iteration -----------------------------------------------------------------

    def keys(self) -> Iterator[Any]:
        """Every key, in the kernel's order (``BPF_MAP_GET_NEXT_KEY``).

        If a hash map's current key is deleted meanwhile, the kernel restarts
        from the first key, so keys may repeat.
        """
        self._elements.require_keys()
        return self._keys()

    def _keys(self) -> Iterator[Any]:
        el = self._elements
        ffi = _sys.ffi
        size = el.key_size
        cur = ffi.new("uint8_t[]", size or 1)
        nxt = ffi.new("uint8_t[]", size or 1)
        nxt_mem = ffi.buffer(nxt, size)
        prev = _sys.NULL
        decode = el.decode_key
        while True:
            rc = self._elem(_NEXT_KEY, self._fd._cell, prev, nxt, 0)
            if rc == -errno.ENOENT:
                return
            if rc:
                raise self._errors.element(rc, "next_key")
            raw = nxt_mem[:]
            yield decode(raw)
            ffi.memmove(cur, nxt, size)
            prev = cur

    def __iter__(self) -> Iterator[Any]:
        """Every key: :meth:`keys`."""
        return self.keys()

    def _batch_ops(self) -> MapBatches:
        """The map's batch operations, made at first use: a load does none."""
        batches = self._batches
        if batches is None:
            from pybpf.core._batch import MapBatches  # noqa: PLC0415

            batches = self._batches = MapBatches(self._fd, self._elements, self._errors)
        return batches

    def items(self) -> Iterator[tuple[Any, Any]]:
        """Every (key, value) pair; by batches where the kernel offers them."""
        el = self._elements
        el.require_keys()
        if self._batch_ops().supported():
            return self._batch_items()
        return self._items()

    def _batch_items(self) -> Iterator[tuple[Any, Any]]:
        el = self._elements
        from pybpf.core._batch import BatchCursor  # noqa: PLC0415 (see _batch_ops)

        batches = self._batch_ops()
        cursor = BatchCursor()
        chunk = max(1, min(el.max_entries, 4096))
        while not cursor.done:
            keys, values, chunk = batches.grow(cursor, chunk)
            yield from zip(keys, values, strict=True)

    def _items(self) -> Iterator[tuple[Any, Any]]:
        for key in self._keys():
            try:
                value = self.lookup(key)
            except KeyNotFoundError:
                continue
            yield key, value

    def values(self) -> Iterator[Any]:
        """Every value."""
        return (value for _, value in self.items())

    def to_dict(self, *, chunk: int = 0) -> dict[Any, Any]:
        """A snapshot of the whole map, read by batches of ``chunk`` where possible."""
        el = self._elements
        el.require_keys()
        batches = self._batch_ops()
        try:
            if not batches.supported():
                return dict(self.items())
            chunk = chunk or max(1, min(el.max_entries, 1 << 20))
            return batches.read_all(chunk)
        except TypeError as exc:
            if "unhashable" not in str(exc):
                raise
            raise TypeError(
                f"map {self._name!r}: its keys decode to objects a dict cannot hold ({exc}); "
                "iterate items(), or take .raw.to_dict()"
            ) from None

    def __len__(self) -> int:
        """The number of elements of an array (TypeError for other maps: not known)."""
        el = self._elements
        if el.map_type in ARRAY_TYPES:
            return el.max_entries
        raise TypeError(f"len() of a {_probes.type_name(el.map_type)} map is not known")

    def __bool__(self) -> bool:
        """Always true: a map is not a container whose size is known."""
        return True

    # -- batches -------------------------------------------------------------------

    def lookup_batch(self, cursor: BatchCursor, count: int) -> tuple[list[Any], list[Any]]:
        """Up to ``count`` keys and values after ``cursor`` (``BPF_MAP_LOOKUP_BATCH``)."""
        return self._batch_ops().read(Command.MAP_LOOKUP_BATCH, cursor, count)

    def lookup_and_delete_batch(
        self, cursor: BatchCursor, count: int
    ) -> tuple[list[Any], list[Any]]:
        """Like :meth:`lookup_batch`, removing what it returns."""
        return self._batch_ops().read(Command.MAP_LOOKUP_AND_DELETE_BATCH, cursor, count)

    def update_batch(self, keys: Sequence[Any], values: Sequence[Any], flags: int = 0) -> int:
        """Write many elements in one call; returns how many were written."""
        if len(keys) != len(values):
            raise ValueError(f"{len(keys)} keys but {len(values)} values")
        flags = check_flags(flags, f"update_batch in map {self._name!r}")
        return self._batch_ops().write(Command.MAP_UPDATE_BATCH, keys, values, flags)

    def delete_batch(self, keys: Sequence[Any]) -> int:
        """Remove many keys in one call; returns how many were removed."""
        return self._batch_ops().write(Command.MAP_DELETE_BATCH, keys, None, 0)

    # -- what the compiled base class and the constructor need ---------------------

    def _fast_error(self, op: str, err: int, key: Any, value: Any, flags: Any) -> None:
        """Raise what the C paths of the base class met: ``err`` an errno, or 0 for a bad int."""
        if err:
            raise self._errors.element(-err, op, key)
        if op == "update":
            raise self._elements.bad_ints(key, value)
        raise self._elements.bad_int("key", key)

    def _write_initial(self, key: bytes, value: bytes | str) -> None:
        el = self._elements
        if el.per_cpu and isinstance(value, _BYTES_LIKE) and len(value) == el.value_size:
            # A spec holds one value; every CPU starts with it.
            self.update(key, [value] * el.ncpu)
        else:
            self.update(key, value)

    def _closed(self) -> ClosedError:
        return self._errors.closed()

    # -- kernel object ---------------------------------------------------------------

    def freeze(self) -> None:
        """Forbid writes from user space from now on (``BPF_MAP_FREEZE``)."""
        _cmds.map_freeze(self.fd, f"map {self._name!r}")
        self._errors.frozen = True

    def clone(self) -> Map:
        """Another ``Map`` for the same kernel map, with its own fd."""
        el = self._elements
        return self._like(self.fd.dup(), el.key_codec, el.value_codec)

    def _like(self, fd: FD, key_codec: CodecArg, value_codec: CodecArg) -> Map:
        """A new ``Map`` on ``fd`` of this map's type and sizes, with these codecs."""
        el = self._elements
        m = Map.__new__(Map)
        m._setup(
            fd,
            map_type=el.map_type,
            key_size=el.key_size,
            value_size=el.value_size,
            max_entries=el.max_entries,
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
        el = self._elements
        if not self._flags & MapFlags.MMAPABLE:
            raise ValueError(f"map {self._name!r} was not created with MapFlags.MMAPABLE")
        page = _mmap.PAGESIZE
        if el.map_type == MapType.ARENA:
            size = el.max_entries * page
        else:
            size = ((el.value_size + 7) & ~7) * el.max_entries
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
