"""The text of a generated module: records, enums, and the ``<Name>Objects`` class.

The module declares only what is its own (its C types, its programs, maps and
variables, its object) and imports the rest from ``pybpf.core.generated``
(``pybpf.link`` inside ``attach()``). It passes ``mypy --strict`` and
``ruff``, and is a pure function of its inputs: the same object and options
give the same text, which is what ``pybpf gen --check`` compares.
"""

from __future__ import annotations

import base64
import re
import textwrap
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pybpf.btf.types import Type
from pybpf.elf import MapType, map_type_name, program_type_name
from pybpf.elf.gen.names import attribute_name, class_name
from pybpf.elf.gen.records import EnumClass, RecordClass, TypeRegistry
from pybpf.elf.spec import ByteOrder, CollectionSpec

__all__ = ["OBJECTS_RESERVED", "RUNTIME", "ModuleInputs", "render_module"]

_RING_BUFFERS = (MapType.RINGBUF,)
#: Maps whose values are not the data their BTF type describes: ids and fds of
#: programs and maps, or a struct_ops value the kernel lays out itself.
_NOT_DATA_VALUES = frozenset(
    {MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.STRUCT_OPS}
)
#: ``pybpf.core.generated``'s names: the runtime a module imports what it uses of.
RUNTIME = (
    "BytesLike",
    "GeneratedObjects",
    "MapField",
    "ProgramField",
    "RecordCodec",
    "VariableField",
    "c_string",
    "decode_records",
    "embedded_object",
    "encode_records",
    "enum_or_int",
    "fit_bytes",
    "object_beside",
)
#: The runtime's functions records call.
_RECORD_HELPERS = ("c_string", "decode_records", "encode_records", "enum_or_int", "fit_bytes")
#: What ``GeneratedObjects`` defines, which no object of the collection may
#: shadow; and the names the ``Objects`` class body reads, which an attribute
#: declared before their use would shadow.
OBJECTS_RESERVED = frozenset(
    {"attach", "close", "collection", "load", "object_bytes", "spec"}
    | {"MAPS", "PROGRAMS", "VARIABLES"}
    | {"Link", "MapField", "ProgramField", "RingBuffer", "VariableField"}
    | {"bytes", "classmethod", "list"}
)
#: The module's own global names, which no record or enum class may take.
_MODULE_NAMES = frozenset(
    {*RUNTIME, "Link", "RingBuffer", "TYPE_CHECKING", "ClassVar", "Self", "annotations"}
    | {"dataclasses", "enum", "struct", "_OBJECTS", "_OBJECT_FILES"}
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


@dataclass
class _Typed:
    """The record classes the objects' codecs use, by C name."""

    keys: dict[str, RecordClass | None]
    values: dict[str, RecordClass | None]
    variables: dict[str, RecordClass | None]
    #: Each ring buffer's record class, for its reader.
    rings: dict[str, RecordClass | None]


def render_module(inputs: ModuleInputs) -> str:
    """The generated module's text."""
    spec = inputs.spec
    objects = f"{class_name(inputs.name)}Objects"
    registry = None
    if spec.types is not None:
        registry = TypeRegistry(spec.types, reserved=_MODULE_NAMES | {objects})
    typed = _Typed({}, {}, {}, {})
    ring_types: dict[str, RecordClass | None] = {}
    extra: list[RecordClass | EnumClass] = []
    if registry is not None:
        for name, ms in spec.maps.items():
            if ms.section is not None:
                continue
            typed.keys[name] = _sized(registry.python_type(ms.key_type), ms.key_size)
            value = registry.python_type(ms.value_type)
            if ms.type in _RING_BUFFERS:
                ring_types[name] = _record(value)  # the records, not a map value
            elif ms.type not in _NOT_DATA_VALUES:
                typed.values[name] = _sized(value, ms.value_size)
        for name, vs in spec.variables.items():
            typed.variables[name] = _record(registry.python_type(vs.type))
        for t in inputs.extra_types:
            cls = registry.python_type(t)
            if cls is not None:
                extra.append(cls)
    declared = registry.declared if registry is not None else []
    typed.rings = _ring_record(spec, ring_types, extra)
    body: list[str] = []
    for cls in declared:
        body += _enum_text(cls) if isinstance(cls, EnumClass) else _record_text(cls)
    reserved = OBJECTS_RESERVED | {c.name for c in declared}
    body += _objects_text(inputs, objects, typed, reserved)
    body += _object_data(inputs)
    out = [f"# {line}".rstrip() for line in inputs.header]
    out += _module_head(inputs, objects, declared, bool(typed.rings), "\n".join(body))
    out += body
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


def _module_head(
    inputs: ModuleInputs,
    objects: str,
    declared: Sequence[RecordClass | EnumClass],
    readers: bool,
    body: str,
) -> list[str]:
    """The docstring and the imports: of the runtime, the names ``body`` uses."""
    records = any(isinstance(c, RecordClass) for c in declared)
    modules = []
    if records:
        modules += ["dataclasses", "struct"]
    if any(isinstance(c, EnumClass) for c in declared):
        modules.append("enum")
    imports = [f"import {m}" for m in sorted(modules)]
    typing = ["TYPE_CHECKING", *(["ClassVar", "Self"] if records else [])]
    imports.append(f"from typing import {', '.join(typing)}")
    pybpf = []
    if readers:
        pybpf.append("from pybpf.core import RingBuffer")
    spec = inputs.spec
    runtime = ["GeneratedObjects"]
    runtime += ["ProgramField"] if spec.programs else []
    runtime += ["MapField"] if any(ms.section is None for ms in spec.maps.values()) else []
    runtime += ["VariableField"] if spec.variables else []
    runtime += ["BytesLike", "RecordCodec"] if records else []
    runtime.append("embedded_object" if inputs.object_files is None else "object_beside")
    # The helpers records call: what their fields' encoding and decoding need.
    runtime += [n for n in _RECORD_HELPERS if re.search(rf"(?<![\w.]){n}\(", body)]
    runtime.sort(key=lambda n: (not n[0].isupper(), n))
    pybpf += _wrap(0, "from pybpf.core.generated import ", runtime, "", collection=True)
    about = (
        f"Built from ``{inputs.source}`` and generated by ``pybpf gen``: regenerate it "
        f"(the command is in the header) rather than editing it. ``{objects}.load()`` "
        "loads the object and gives its programs, maps and variables as attributes; "
        "the classes below are the C types its maps, variables and ring buffers hold."
    )
    about_text = "\n".join(textwrap.wrap(about, _WRAP, break_long_words=False))
    stdlib, ours = "\n".join(imports), "\n".join(pybpf)
    doc = f'''"""Typed access to a BPF object: its programs, maps, variables and C types.

{about_text}
"""

from __future__ import annotations

{stdlib}

{ours}

if TYPE_CHECKING:
    from pybpf.link import Link
'''
    return doc.splitlines()


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
        f"    codec: ClassVar[RecordCodec[{cls.name}]]",
    ]
    out += _string_call(4, "layout: ClassVar[struct.Struct] = struct.Struct(", cls.fmt)
    for f in cls.fields:
        if f.chars:
            out += [
                "",
                "    @property",
                f"    def {f.name}_str(self) -> str:",
                f'        """``{f.name}`` as text (up to the first NUL)."""',
                f"        return c_string(self.{f.name})",
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
        "    def decode(cls, data: BytesLike) -> Self:",
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
    out.append(f"{cls.name}.codec = RecordCodec({cls.name})")
    return out


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


def _take(c_name: str, taken: set[str]) -> str:
    name = attribute_name(c_name, taken)
    taken.add(name)
    return name


def _objects_text(
    inputs: ModuleInputs, objects: str, typed: _Typed, reserved: frozenset[str]
) -> list[str]:
    """The ``Objects`` class: a field per program, map and variable, a reader per ring buffer."""
    spec = inputs.spec
    taken = set(reserved)
    programs = {n: _take(n, taken) for n in spec.programs}
    maps = {n: _take(n, taken) for n, ms in spec.maps.items() if ms.section is None}
    variables = {n: _take(n, taken) for n in spec.variables}
    readers = {n: _take(f"{maps[n]}_reader", taken) for n in typed.rings}
    out = [
        "",
        "",
        f"class {objects}(GeneratedObjects):",
        f'    """The programs, maps and variables of ``{inputs.source}``, loaded.',
        "",
        f"    ``with {objects}.load() as objs:`` loads them; each is an attribute.",
        "    ``load(programs=[...])`` loads only those programs and what they use:",
        "    the attributes of what was left out raise ``LookupError``.",
        '    """',
        "",
    ]
    for name, attr in programs.items():
        ps = spec.programs[name]
        kind = program_type_name(ps.type)
        about = f'``{name}``: program of type ``{kind}``, in ``SEC("{ps.section}")``.'
        out += _field(attr, about, "ProgramField", [f'"{name}"'])
    for name, attr in maps.items():
        ms = spec.maps[name]
        key, value = typed.keys.get(name), typed.values.get(name)
        about = f"``{name}``: map of type ``{map_type_name(ms.type)}``."
        args = [f'"{name}"']
        if key is not None:
            about += f" Keys: {key.name}."
            args.append(f"key={key.name}.codec")
        if value is not None:
            about += f" Values: {value.name}."
            args.append(f"value={value.name}.codec")
        out += _field(attr, about, "MapField", args)
    for name, attr in variables.items():
        vs = spec.variables[name]
        record = typed.variables.get(name)
        what = f" of type {record.name}" if record is not None else ""
        args = [f'"{name}"', *([f"{record.name}.codec"] if record is not None else [])]
        out += _field(
            attr, f"``{name}``: a variable{what} in ``{vs.section}``.", "VariableField", args
        )
    for name, method in readers.items():
        record = typed.rings[name]
        arg = f", record={record.name}.codec" if record is not None else ""
        decoded = f"as :class:`{record.name}`" if record is not None else "as bytes"
        out += [
            "",
            f"    def {method}(self) -> RingBuffer:",
            f'        """A reader of the ring buffer ``{name}``: records come {decoded}."""',
            f"        return RingBuffer(self.{maps[name]}{arg})",
        ]
    where = (
        "embedded_object(_OBJECTS)"
        if inputs.object_files is None
        else "object_beside(__file__, _OBJECT_FILES)"
    )
    out += f'''
    def attach(self) -> list[Link]:
        """Attach every program whose section names its target; the caller closes the links."""
        from pybpf.link import attach_all  # noqa: PLC0415 (pybpf-link only when attaching)

        return attach_all(self.collection)

    @classmethod
    def object_bytes(cls) -> bytes:
        """The compiled object for this machine's byte order."""
        return {where}'''.splitlines()
    return out


def _field(attr: str, about: str, kind: str, args: Sequence[str]) -> list[str]:
    """``attr = kind(args)``, after a ``#:`` comment saying what it is."""
    lines = textwrap.wrap(about, _LINE - len("    #: "), break_long_words=False)
    return [*(f"    #: {line}" for line in lines), *_wrap(4, f"{attr} = {kind}(", args, ")")]


def _object_data(inputs: ModuleInputs) -> list[str]:
    out = [""]
    if inputs.object_files is not None:
        files = ", ".join(f'"{order}": "{f}"' for order, f in sorted(inputs.object_files.items()))
        return [
            *out,
            "",
            "#: The object files beside this module, by byte order.",
            f"_OBJECT_FILES = {{{files}}}",
        ]
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
    out.append("}")
    return out
