"""What the modules ``pybpf gen`` writes run on: their objects class and their records' helpers.

A generated module declares only what is its own: a record class for each C
type, the object's programs, maps and variables as fields of a
:class:`GeneratedObjects` subclass, and the compiled object. Loading,
looking the objects up, closing, and the helpers its records encode and
decode with are here, once::

    class ProbeObjects(GeneratedObjects):
        #: ``count``: program of type ``tracepoint``.
        count = ProgramField("count")
        #: ``flows``: map of type ``hash``. Keys: FlowKey.
        flows = MapField("flows", key=FlowKey.codec)
        #: ``last``: a variable of type Point in ``.bss``.
        last = VariableField("last", Point.codec)

        @classmethod
        def object_bytes(cls) -> bytes:
            return embedded_object(_OBJECTS)

``ProbeObjects.load()`` loads the object and returns the instance, a context
manager; ``objs.flows`` is the loaded map, whose keys are ``FlowKey`` records.
A generated module runs on the ``pybpf-core`` of the release whose
``pybpf-elf`` wrote it, or a newer one.
"""

from __future__ import annotations

import base64
import enum
import sys
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Never,
    Protocol,
    Self,
    TypeVar,
    overload,
)

from pybpf.core.collection import Collection, CollectionOptions
from pybpf.elf import CollectionSpec, load_collection_spec

if TYPE_CHECKING:
    from pybpf.core.codec import Codec
    from pybpf.core.map import Map
    from pybpf.core.program import Program
    from pybpf.core.variable import Variable

__all__ = [
    "BytesLike",
    "GeneratedObjects",
    "MapField",
    "ProgramField",
    "Record",
    "RecordCodec",
    "VariableField",
    "c_string",
    "decode_records",
    "embedded_object",
    "encode_records",
    "enum_or_int",
    "fit_bytes",
    "object_beside",
]

#: What a record decodes from.
BytesLike = bytes | bytearray | memoryview

_E = TypeVar("_E", bound=enum.IntEnum)
_T = TypeVar("_T")


class Record(Protocol):
    """A generated record class: a C struct's fields, its size, its bytes."""

    #: The size of the C struct in bytes.
    SIZE: ClassVar[int]

    def encode(self) -> bytes:
        """The bytes of the C struct."""
        ...

    @classmethod
    def decode(cls, data: BytesLike) -> Self:
        """The record in the first ``SIZE`` bytes of ``data``."""
        ...


_R = TypeVar("_R", bound=Record)


class RecordCodec(Generic[_R]):
    """Encodes and decodes one record class: the codec maps, variables and readers take.

    A :class:`pybpf.core.Codec` whose objects are instances of ``record``.
    """

    __slots__ = ("decode", "encode", "record", "size")

    #: ``record.encode``: the bytes of a record.
    encode: Callable[[_R], bytes]
    #: ``record.decode``: the record in bytes.
    decode: Callable[[BytesLike], _R]

    def __init__(self, record: type[_R]) -> None:
        #: The record class.
        self.record = record
        #: Its size in bytes.
        self.size = record.SIZE
        # The class's own functions, so that maps call them with no layer between.
        self.encode = record.encode
        self.decode = record.decode

    def __repr__(self) -> str:
        return f"RecordCodec({self.record.__qualname__})"


def enum_or_int(cls: type[_E], value: int) -> _E | int:
    """``value`` as a member of ``cls``; as an ``int`` when no member has it."""
    try:
        return cls(value)
    except ValueError:
        return value


def fit_bytes(value: bytes, size: int, name: str) -> bytes:
    """``value``, checked to fit the ``size`` bytes of field ``name``."""
    if len(value) > size:
        raise ValueError(f"{name} holds {size} bytes, got {len(value)}")
    return value


def decode_records(decode: Callable[[BytesLike], _T], data: bytes, size: int) -> tuple[_T, ...]:
    """The records of ``size`` bytes each in ``data`` (a C array of structs)."""
    return tuple(decode(data[i : i + size]) for i in range(0, len(data), size))


def encode_records(items: Sequence[Record], count: int, name: str) -> bytes:
    """The bytes of the ``count`` records of field ``name``, checked to be that many."""
    if len(items) != count:
        raise ValueError(f"{name} holds {count} records, got {len(items)}")
    return b"".join(item.encode() for item in items)


def c_string(data: bytes) -> str:
    """A C string: up to the first NUL, decoded as UTF-8."""
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def embedded_object(objects: Mapping[str, str]) -> bytes:
    """The object for this machine's byte order, from objects by byte order (base64 of zlib)."""
    return zlib.decompress(base64.b64decode(_for_this_machine(objects)))


def object_beside(module_file: str, files: Mapping[str, str]) -> bytes:
    """The object for this machine's byte order, from object files beside ``module_file``."""
    return (Path(module_file).parent / _for_this_machine(files)).read_bytes()


def _for_this_machine(objects: Mapping[str, str]) -> str:
    try:
        return objects[sys.byteorder]
    except KeyError:
        built = " and ".join(f"{order}-endian" for order in sorted(objects)) or "no"
        raise RuntimeError(
            f"no object for {sys.byteorder}-endian machines (the module has {built} ones)"
        ) from None


class _Field(Generic[_T]):
    """An attribute of a generated class: one object of the loaded collection, by C name."""

    #: What it is, for errors and the class's tables: ``program``, ``map`` or ``variable``.
    kind: ClassVar[str]

    def __init__(self, name: str) -> None:
        #: The C name.
        self.name = name
        #: The attribute's name in the class (the C name, made an identifier).
        self.attribute = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    @overload
    def __get__(self, objects: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, objects: GeneratedObjects, owner: type | None = None) -> _T: ...

    def __get__(self, objects: GeneratedObjects | None, owner: type | None = None) -> Self | _T:
        if objects is None:
            return self
        try:
            return self._loaded(objects)[self.name]
        except KeyError:
            raise LookupError(f"{self.kind} {self.name!r} was not loaded (see load())") from None

    def __set__(self, objects: GeneratedObjects, value: Never) -> None:
        raise AttributeError(f"{type(objects).__name__}.{self.attribute} is read-only")

    def _loaded(self, objects: GeneratedObjects) -> Mapping[str, _T]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ProgramField(_Field["Program"]):
    """A generated class's attribute for one program: the loaded :class:`Program`."""

    kind = "program"

    def _loaded(self, objects: GeneratedObjects) -> Mapping[str, Program]:
        return objects.collection.programs


class MapField(_Field["Map"]):
    """A generated class's attribute for one map: the loaded :class:`Map`.

    ``key`` and ``value``: the codecs of its generated record types, for the
    map to take and return them (:meth:`pybpf.core.Map.with_codecs`).
    """

    kind = "map"

    def __init__(self, name: str, *, key: Codec | None = None, value: Codec | None = None) -> None:
        super().__init__(name)
        #: The keys' codec, if they are records.
        self.key = key
        #: The values' codec, if they are records.
        self.value = value

    def _loaded(self, objects: GeneratedObjects) -> Mapping[str, Map]:
        return objects._maps


class VariableField(_Field["Variable"]):
    """A generated class's attribute for one variable: the loaded :class:`Variable`.

    ``codec``: its generated record type's, for ``get()`` and ``set()`` to use
    it (:meth:`pybpf.core.Variable.with_codec`).
    """

    kind = "variable"

    def __init__(self, name: str, codec: Codec | None = None) -> None:
        super().__init__(name)
        #: The value's codec, if it is a record.
        self.codec = codec

    def _loaded(self, objects: GeneratedObjects) -> Mapping[str, Variable]:
        return objects._variables


class GeneratedObjects:
    """The base of the ``<Name>Objects`` classes ``pybpf gen`` writes: one object, loaded.

    A subclass declares the object's programs, maps and variables with
    :class:`ProgramField`, :class:`MapField` and :class:`VariableField`, and
    returns the compiled object from :meth:`object_bytes`. ``with
    Cls.load() as objs:`` loads it; each program, map and variable is an
    attribute. ``load(programs=[...])`` loads only those programs and what
    they use: the attributes of what was left out raise ``LookupError``.
    """

    #: The object's programs: C name to attribute name.
    PROGRAMS: ClassVar[Mapping[str, str]] = {}
    #: The object's maps: C name to attribute name.
    MAPS: ClassVar[Mapping[str, str]] = {}
    #: The object's variables: C name to attribute name.
    VARIABLES: ClassVar[Mapping[str, str]] = {}
    _map_fields: ClassVar[tuple[MapField, ...]] = ()
    _variable_fields: ClassVar[tuple[VariableField, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        by_attribute: dict[str, _Field[Any]] = {}
        for klass in reversed(cls.__mro__):
            by_attribute.update((k, v) for k, v in vars(klass).items() if isinstance(v, _Field))
        fields = list(by_attribute.values())
        cls.PROGRAMS = {f.name: f.attribute for f in fields if isinstance(f, ProgramField)}
        cls.MAPS = {f.name: f.attribute for f in fields if isinstance(f, MapField)}
        cls.VARIABLES = {f.name: f.attribute for f in fields if isinstance(f, VariableField)}
        cls._map_fields = tuple(f for f in fields if isinstance(f, MapField))
        cls._variable_fields = tuple(f for f in fields if isinstance(f, VariableField))

    def __init__(self, collection: Collection) -> None:
        """Wrap a collection loaded from this object (what :meth:`load` does)."""
        #: The loaded collection: every object by its C name.
        self.collection = collection
        self._maps: dict[str, Map] = dict(collection.maps)
        self._variables: dict[str, Variable] = dict(collection.variables)
        for m in self._map_fields:
            if (m.key is not None or m.value is not None) and m.name in self._maps:
                self._maps[m.name] = self._maps[m.name].with_codecs(key=m.key, value=m.value)
        for v in self._variable_fields:
            if v.codec is not None and v.name in self._variables:
                self._variables[v.name] = self._variables[v.name].with_codec(v.codec)

    @classmethod
    def object_bytes(cls) -> bytes:
        """The compiled object (ELF) for this machine's byte order."""
        raise NotImplementedError(f"{cls.__qualname__} does not say where its object is")

    @classmethod
    def spec(cls) -> CollectionSpec:
        """A fresh spec of the object, to change before loading (``.rodata`` constants)."""
        return load_collection_spec(cls.object_bytes())

    @classmethod
    def load(
        cls,
        spec: CollectionSpec | None = None,
        *,
        programs: Iterable[str] | None = None,
        maps: Iterable[str] | None = None,
        **options: Any,
    ) -> Self:
        """Load the object (or ``spec``, from :meth:`spec`): every program, or those named.

        ``options`` are :class:`pybpf.core.CollectionOptions`' fields (``pin_path``,
        ``map_replacements``, ``log_level``...).
        """
        collection = Collection(
            cls.spec() if spec is None else spec,
            CollectionOptions(**options),
            programs=programs,
            maps=maps,
        )
        try:
            return cls(collection)
        except BaseException:
            collection.close()
            raise

    def close(self) -> None:
        """Close every program, map and variable."""
        self.collection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({self.collection!r})"
