"""The text of a generated module: records, enums, and the ``<Name>Objects`` class.

The module imports ``pybpf.core`` only (``pybpf.link`` inside ``attach()``),
passes ``mypy --strict`` and ``ruff``, and is a pure function of its inputs:
the same object and options give the same text, which is what
``pybpf gen --check`` compares.
"""

from __future__ import annotations

import base64
import textwrap
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pybpf.btf.types import Type
from pybpf.elf import MapType, map_type_name, program_type_name
from pybpf.elf.gen.names import attribute_name, class_name
from pybpf.elf.gen.records import EnumClass, RecordClass, TypeRegistry
from pybpf.elf.spec import ByteOrder, CollectionSpec

__all__ = ["ModuleInputs", "render_module"]

_RING_BUFFERS = (MapType.RINGBUF,)
#: Maps whose values are not the data their BTF type describes: ids and fds of
#: programs and maps, or a struct_ops value the kernel lays out itself.
_NOT_DATA_VALUES = frozenset(
    {MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.STRUCT_OPS}
)
#: What the ``Objects`` class defines itself: no object of the collection may shadow it.
#: Nor the names its annotations use.
_OBJECTS_RESERVED = frozenset(
    {"attach", "close", "collection", "load", "spec", "PROGRAMS", "MAPS", "VARIABLES"}
    | {"Any", "ClassVar", "Collection", "CollectionSpec", "Iterable", "Link", "Map"}
    | {"Program", "RingBuffer", "Self", "Variable", "dict", "list", "object", "str"}
)
_WRAP = 76
_LINE = 100


@dataclass(frozen=True)
class ModuleInputs:
    """Everything a module is generated from."""

    #: The module's name (``probe`` → ``ProbeObjects``).
    name: str
    #: The object's spec (either byte order: the layouts are the same).
    spec: CollectionSpec
    #: The compiled objects by byte order.
    objects: Mapping[ByteOrder, bytes]
    #: The header comment's lines (each under 98 characters): the command, the compiler.
    header: Sequence[str]
    #: What the objects were built from, for the docstring (``probe.c``).
    source: str
    #: Types asked for with ``--type``.
    extra_types: Sequence[Type] = ()
    #: Object file names beside the module by byte order, instead of embedding.
    object_files: Mapping[ByteOrder, str] | None = None


def render_module(inputs: ModuleInputs) -> str:
    """The generated module's text."""
    spec = inputs.spec
    registry = None if spec.types is None else TypeRegistry(spec.types)
    key_types: dict[str, RecordClass | None] = {}
    value_types: dict[str, RecordClass | None] = {}
    var_types: dict[str, RecordClass | None] = {}
    ring_types: dict[str, RecordClass | None] = {}
    extra: list[RecordClass | EnumClass] = []
    if registry is not None:
        for name, ms in spec.maps.items():
            if ms.section is not None:
                continue
            key_types[name] = _sized(registry.python_type(ms.key_type), ms.key_size)
            value = registry.python_type(ms.value_type)
            if ms.type in _RING_BUFFERS:
                ring_types[name] = _record(value)  # the records, not a map value
            elif ms.type not in _NOT_DATA_VALUES:
                value_types[name] = _sized(value, ms.value_size)
        for name, vs in spec.variables.items():
            var_types[name] = _record(registry.python_type(vs.type))
        for t in inputs.extra_types:
            cls = registry.python_type(t)
            if cls is not None:
                extra.append(cls)
    declared = registry.declared if registry is not None else []
    ring_record = _ring_record(spec, ring_types, extra)
    out = [f"# {line}".rstrip() for line in inputs.header]
    core = ["Collection", "CollectionOptions", "CollectionSpec", "Map", "Variable"]
    if spec.programs:
        core.append("Program")
    if ring_record:
        core.append("RingBuffer")
    core = [*sorted(core), "load_collection_spec"]
    out += _module_head(inputs, any(isinstance(c, RecordClass) for c in declared), core)
    out += _helpers()
    for cls in declared:
        out += _enum_text(cls) if isinstance(cls, EnumClass) else _record_text(cls)
    out += _objects_text(inputs, key_types, value_types, var_types, ring_record)
    out += _object_data(inputs)
    return "\n".join(out).rstrip("\n") + "\n"


def _record(cls: RecordClass | EnumClass | None) -> RecordClass | None:
    return cls if isinstance(cls, RecordClass) else None


def _sized(cls: RecordClass | EnumClass | None, size: int) -> RecordClass | None:
    """``cls`` if it is a record of ``size`` bytes: what a map's codec must encode."""
    record = _record(cls)
    return record if record is not None and record.size == size else None


def _ring_record(
    spec: CollectionSpec,
    ring_types: Mapping[str, RecordClass | None],
    extra: Sequence[RecordClass | EnumClass],
) -> dict[str, RecordClass | None]:
    """The record type each ring buffer's reader decodes.

    The map's BTF value type when the C source gives one; else the one record
    asked for with ``--type``, when there is exactly one.
    """
    records = [c for c in extra if isinstance(c, RecordClass)]
    only = records[0] if len(records) == 1 else None
    return {
        name: ring_types.get(name) or only
        for name, ms in spec.maps.items()
        if ms.type in _RING_BUFFERS and ms.section is None
    }


def _module_head(inputs: ModuleInputs, records: bool, core: Sequence[str]) -> list[str]:
    cls = f"{class_name(inputs.name)}Objects"
    modules = ["enum", "sys"]
    if records:
        modules += ["dataclasses", "struct"]
    if inputs.object_files is None:
        modules += ["base64", "zlib"]
    modules.sort()
    stdlib = "\n".join(f"import {m}" for m in modules)
    stdlib += "\nfrom collections.abc import Callable, Iterable, Sequence"
    if inputs.object_files is not None:
        stdlib += "\nfrom pathlib import Path"
    core_import = "\n".join(_wrap(0, "from pybpf.core import ", core, "", collection=True))
    about = (
        f"Built from ``{inputs.source}`` and generated by ``pybpf gen``: regenerate it "
        f"(the command is in the header) rather than editing it. ``{cls}.load()`` loads "
        "the object and gives its programs, maps and variables as attributes; the "
        "classes below are the C types its maps, variables and ring buffers hold."
    )
    about_text = "\n".join(textwrap.wrap(about, _WRAP, break_long_words=False))
    doc = f'''"""Typed access to a BPF object: its programs, maps, variables and C types.

{about_text}
"""

from __future__ import annotations

{stdlib}
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

{core_import}

if TYPE_CHECKING:
    from pybpf.link import Link
'''
    return doc.splitlines()


def _helpers() -> list[str]:
    text = '''
_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.IntEnum)
_Buffer = bytes | bytearray | memoryview


class _Encodable(Protocol):
    def encode(self) -> bytes: ...


class _Codec(Generic[_T]):
    """Encodes and decodes one record type: what maps and ring buffer readers take."""

    __slots__ = ("decode", "encode", "size")

    def __init__(
        self, size: int, encode: Callable[[_T], bytes], decode: Callable[[_Buffer], _T]
    ) -> None:
        self.size = size
        self.encode = encode
        self.decode = decode


def _enum(cls: type[_E], value: int) -> _E | int:
    """``value`` as a member of ``cls``; as an ``int`` when no member has it."""
    try:
        return cls(value)
    except ValueError:
        return value


def _fit(value: bytes, size: int, name: str) -> bytes:
    """``value``, checked to fit the ``size`` bytes of field ``name``."""
    if len(value) > size:
        raise ValueError(f"{name} holds {size} bytes, got {len(value)}")
    return value


def _records(decode: Callable[[_Buffer], _T], data: bytes, size: int) -> tuple[_T, ...]:
    """The records of ``size`` bytes each in ``data``."""
    return tuple(decode(data[i : i + size]) for i in range(0, len(data), size))


def _join(items: Sequence[_Encodable], count: int, name: str) -> bytes:
    """The bytes of ``count`` records, checked to be that many."""
    if len(items) != count:
        raise ValueError(f"{name} holds {count} records, got {len(items)}")
    return b"".join(item.encode() for item in items)


def _text(data: bytes) -> str:
    """A C string: up to the first NUL, decoded as UTF-8."""
    return data.split(b"\\0", 1)[0].decode("utf-8", "replace")
'''
    return text.splitlines()


def _enum_text(cls: EnumClass) -> list[str]:
    out = ["", "", f"class {cls.name}(enum.IntEnum):", f'    """``{cls.c_name}``."""', ""]
    if not cls.values:
        out[-1:] = []
    for name, value in cls.values:
        out.append(f"    {name} = {value}")
    return out


def _record_text(cls: RecordClass) -> list[str]:
    out = [
        "",
        "",
        "@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)",
        f"class {cls.name}:",
        f'    """``{cls.c_name}`` ({cls.size} bytes)."""',
        "",
    ]
    for f in cls.fields:
        line = f"    {f.name}: {f.annotation} = {f.default}"
        call = "dataclasses.field("
        if len(line) > _LINE and f.default.startswith(call):
            inner = f.default[len(call) : -1]
            out += _wrap(4, f"{f.name}: {f.annotation} = {call}", [inner], ")")
        else:
            out.append(line)
    if cls.fields:
        out.append("")
    out += [
        "    #: The size of the C struct in bytes.",
        f"    SIZE: ClassVar[int] = {cls.size}",
        "    #: How maps and readers encode and decode it.",
        f"    codec: ClassVar[_Codec[{cls.name}]]",
    ]
    out += _string_call(4, "layout: ClassVar[struct.Struct] = struct.Struct(", cls.fmt)
    for f in cls.fields:
        if f.chars:
            out += [
                "",
                "    @property",
                f"    def {f.name}_str(self) -> str:",
                f'        """``{f.name}`` as text (up to the first NUL)."""',
                f"        return _text(self.{f.name})",
            ]
    values = [f.encode.format(x=f"self.{f.name}") for f in cls.fields]
    out += [
        "",
        "    def encode(self) -> bytes:",
        f'        """The {cls.size} bytes of the C struct."""',
        "        try:",
        *_wrap(12, "return self.layout.pack(", values, ")"),
        "        except struct.error as exc:",
        f'            raise ValueError(f"{cls.name}: {{exc}}") from None',
        "",
        "    @classmethod",
        "    def decode(cls, data: _Buffer) -> Self:",
        f'        """The record in the first {cls.size} bytes of ``data``."""',
        "        try:",
        "            f = cls.layout.unpack_from(data)",
        "        except struct.error as exc:",
        f'            raise ValueError(f"{cls.name}: {{exc}}") from None',
    ]
    args = []
    i = 0
    for f in cls.fields:
        expr = f.decode.format(v=f"f[{i}]", s=f"f[{i}:{i + f.count}]")
        args.append(f"{f.name}={expr}")
        i += f.count
    out += _wrap(8, "return cls(", args, ")")
    out += ["", ""]
    out += _wrap(
        0,
        f"{cls.name}.codec = _Codec(",
        [f"{cls.name}.{a}" for a in ("SIZE", "encode", "decode")],
        ")",
    )
    return out


def _objects_text(
    inputs: ModuleInputs,
    key_types: Mapping[str, RecordClass | None],
    value_types: Mapping[str, RecordClass | None],
    var_types: Mapping[str, RecordClass | None],
    ring_record: Mapping[str, RecordClass | None],
) -> list[str]:
    spec = inputs.spec
    cls = f"{class_name(inputs.name)}Objects"
    taken = set(_OBJECTS_RESERVED)
    programs = {n: _take(n, taken) for n in spec.programs}
    maps = {n: _take(n, taken) for n, ms in spec.maps.items() if ms.section is None}
    variables = {n: _take(n, taken) for n in spec.variables}
    readers = {n: _take(f"{maps[n]}_reader", taken) for n in ring_record}
    out = [
        "",
        "",
        f"class {cls}:",
        '    """The programs, maps and variables of the object, loaded.',
        "",
        f"    ``with {cls}.load() as objs:`` loads them; each is an attribute.",
        "    ``load(programs=[...])`` loads only those programs and what they use:",
        "    the attributes of what was left out raise ``LookupError``.",
        '    """',
        "",
        "    #: The object's programs, maps and variables: C name to attribute.",
        *_dict("PROGRAMS", programs),
        *_dict("MAPS", maps),
        *_dict("VARIABLES", variables),
        "",
        "    def __init__(self, collection: Collection) -> None:",
        '        """Wrap a collection loaded from this object (what :meth:`load` does)."""',
        "        #: The loaded collection: every object by its C name.",
        "        self.collection = collection",
        "        self._maps: dict[str, Map] = dict(collection.maps)",
        "        self._variables: dict[str, Variable] = dict(collection.variables)",
    ]
    for name in maps:
        key, value = key_types.get(name), value_types.get(name)
        if key is None and value is None:
            continue
        codecs = []
        if key is not None:
            codecs.append(f"key={key.name}.codec")
        if value is not None:
            codecs.append(f"value={value.name}.codec")
        out.append(f'        if "{name}" in collection.maps:')
        out.append(f'            m = collection.maps["{name}"]')
        out += _wrap(12, f'self._maps["{name}"] = m.with_codecs(', codecs, ")")
    for name, record in var_types.items():
        if record is None:
            continue
        out.append(f'        if "{name}" in collection.variables:')
        out.append(f'            v = collection.variables["{name}"]')
        out += _wrap(
            12, f'self._variables["{name}"] = v.with_codec(', [f"{record.name}.codec"], ")"
        )
    out += _objects_methods(cls)
    for name, attr in programs.items():
        ps = spec.programs[name]
        kind = program_type_name(ps.type)
        out += _property(
            attr,
            "Program",
            f"``{name}``: program of type ``{kind}``.",
            f'Its section: ``SEC("{ps.section}")``.',
            ["self.collection.programs", '"program"', f'"{name}"'],
        )
    for name, attr in maps.items():
        ms = spec.maps[name]
        key, value = key_types.get(name), value_types.get(name)
        typed = [f"Keys: {key.name}." if key else "", f"Values: {value.name}." if value else ""]
        detail = " ".join(t for t in typed if t)
        summary = f"``{name}``: map of type ``{map_type_name(ms.type)}``."
        out += _property(attr, "Map", summary, detail, ["self._maps", '"map"', f'"{name}"'])
    for name, attr in variables.items():
        vs = spec.variables[name]
        record = var_types.get(name)
        what = f" of type {record.name}" if record is not None else ""
        out += _property(
            attr,
            "Variable",
            f"``{name}``: a variable{what} in ``{vs.section}``.",
            "",
            ["self._variables", '"variable"', f'"{name}"'],
        )
    for name, method in readers.items():
        record = ring_record[name]
        arg = f"record={record.name}.codec" if record is not None else ""
        decoded = f"as :class:`{record.name}`" if record is not None else "as bytes"
        out += [
            "",
            f"    def {method}(self) -> RingBuffer:",
            f'        """A reader of the ring buffer ``{name}``: records come {decoded}."""',
            f"        return RingBuffer(self.{maps[name]}{', ' + arg if arg else ''})",
        ]
    return out


def _objects_methods(cls: str) -> list[str]:
    text = f'''
    @staticmethod
    def spec() -> CollectionSpec:
        """A fresh spec of the object, to change before loading (``.rodata`` constants)."""
        return load_collection_spec(_object())

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
        return cls(collection)

    def attach(self) -> list[Link]:
        """Attach every program whose section names its target; the caller closes the links."""
        from pybpf.link import attach_all  # noqa: PLC0415 (pybpf-link only when attaching)

        return attach_all(self.collection)

    def close(self) -> None:
        """Close every program, map and variable."""
        self.collection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{cls}({{self.collection!r}})"

    @staticmethod
    def _get(objects: dict[str, _T], kind: str, name: str) -> _T:
        try:
            return objects[name]
        except KeyError:
            raise LookupError(f"{{kind}} {{name!r}} was not loaded (see load())") from None
'''
    return text.splitlines()


def _wrap(
    indent: int, head: str, items: Sequence[str], tail: str, *, collection: bool = False
) -> list[str]:
    """``head`` + items + ``tail`` laid out as ``ruff format`` lays out brackets.

    Call arguments that fit on one line of their own stay together; the items
    of a ``collection`` literal go one per line.
    """
    pad = " " * indent
    one = f"{pad}{head}{', '.join(items)}{tail}"
    if len(one) <= _LINE:
        return [one]
    if not head.endswith(("(", "[", "{")):  # an import: parenthesized when it has to wrap
        head, tail = f"{head}(", f"{tail})"
    inner = f"{pad}    {', '.join(items)}"
    if len(inner) <= _LINE and not collection:
        return [f"{pad}{head}", inner, f"{pad}{tail}"]
    return [f"{pad}{head}", *(f"{pad}    {item}," for item in items), f"{pad}{tail}"]


def _string_call(indent: int, head: str, text: str) -> list[str]:
    """``head`` + a string literal + ``)``, the literal cut in pieces when it is long."""
    one = _wrap(indent, head, [f'"{text}"'], ")")
    if all(len(line) <= _LINE for line in one):
        return one
    pad = " " * indent
    pieces = [f'{pad}    "{text[i : i + _WRAP]}"' for i in range(0, len(text), _WRAP)]
    return [f"{pad}{head}", *pieces, f"{pad})"]


def _property(
    attr: str, annotation: str, summary: str, detail: str, get: Sequence[str]
) -> list[str]:
    """A property returning ``self._get(*get)``."""
    return [
        "",
        "    @property",
        f"    def {attr}(self) -> {annotation}:",
        *_docstring(8, summary, detail),
        *_wrap(8, "return self._get(", get, ")"),
    ]


def _docstring(indent: int, summary: str, detail: str = "") -> list[str]:
    """A docstring: one line when it fits, else the summary and the wrapped detail."""
    pad = " " * indent
    one = f'{pad}"""{summary} {detail}"""' if detail else f'{pad}"""{summary}"""'
    if len(one) <= _LINE:
        return [one]
    lines = [f'{pad}"""{summary}']
    if detail:
        width = _LINE - indent
        lines += [
            "",
            *(pad + line for line in textwrap.wrap(detail, width, break_long_words=False)),
        ]
    return [*lines, f'{pad}"""']


def _take(c_name: str, taken: set[str]) -> str:
    name = attribute_name(c_name, taken)
    taken.add(name)
    return name


def _dict(name: str, items: Mapping[str, str]) -> list[str]:
    entries = [f'"{k}": "{v}"' for k, v in items.items()]
    return _wrap(4, f"{name}: ClassVar[dict[str, str]] = {{", entries, "}", collection=True)


def _object_data(inputs: ModuleInputs) -> list[str]:
    out = [""]
    if inputs.object_files is not None:
        files = ", ".join(f'"{order}": "{f}"' for order, f in sorted(inputs.object_files.items()))
        out += [
            "",
            "#: The object files beside this module, by byte order.",
            f"_OBJECT_FILES = {{{files}}}",
            "",
            "",
            "def _object() -> bytes:",
            '    """The object for this machine\'s byte order."""',
            "    name = _OBJECT_FILES.get(sys.byteorder)",
            "    if name is None:",
            '        raise RuntimeError(f"no object for {sys.byteorder}-endian machines")',
            "    return (Path(__file__).parent / name).read_bytes()",
        ]
        return out
    out += [
        "",
        "#: The objects (zlib, base64), by byte order.",
        "_OBJECTS = {",
    ]
    for order, data in sorted(inputs.objects.items()):
        encoded = base64.b64encode(zlib.compress(data, 9)).decode("ascii")
        out.append(f'    "{order}": (')
        out += [f'        "{chunk}"' for chunk in textwrap.wrap(encoded, _WRAP)]
        out.append("    ),")
    out += [
        "}",
        "",
        "",
        "def _object() -> bytes:",
        '    """The object for this machine\'s byte order."""',
        "    data = _OBJECTS.get(sys.byteorder)",
        "    if data is None:",
        '        raise RuntimeError(f"no object for {sys.byteorder}-endian machines")',
        "    return zlib.decompress(base64.b64decode(data))",
    ]
    return out
