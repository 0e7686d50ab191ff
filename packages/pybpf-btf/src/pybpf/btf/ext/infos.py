"""``.BTF.ext`` with its strings and types resolved: :func:`load_ext_infos` and back."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pybpf.asm.records import field, record
from pybpf.btf._gc import gc_paused
from pybpf.btf.errors import BTFError
from pybpf.btf.ext.packed import load_packed_ext_infos
from pybpf.btf.ext.records import CORERelocation, FuncInfo, LineInfo
from pybpf.btf.ext.wire import RawExtInfos, RawSection, marshal_raw
from pybpf.btf.spec import Spec
from pybpf.btf.types import Type

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["ExtInfos", "SectionExtInfos", "load_ext_infos"]

_INSN_SIZE = 8


@record()
class SectionExtInfos:
    """The records of one ELF section, each list in file order."""

    func_infos: list[FuncInfo] = field(default_factory=list)
    line_infos: list[LineInfo] = field(default_factory=list)
    core_relocations: list[CORERelocation] = field(default_factory=list)


@record()
class ExtInfos:
    """Everything ``.BTF.ext`` says, per ELF section name (``"xdp"``, ``".text"``...)."""

    func_infos: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_infos: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relocations: dict[str, list[CORERelocation]] = field(default_factory=dict)
    byte_order: ByteOrder = "little"

    @property
    def sections(self) -> list[str]:
        """Every section with at least one record, in order of first appearance."""
        names = dict.fromkeys(self.func_infos)
        names.update(dict.fromkeys(self.line_infos))
        names.update(dict.fromkeys(self.core_relocations))
        return list(names)

    def section(self, name: str) -> SectionExtInfos:
        """The records of section ``name`` (empty lists when it has none)."""
        return SectionExtInfos(
            list(self.func_infos.get(name, ())),
            list(self.line_infos.get(name, ())),
            list(self.core_relocations.get(name, ())),
        )

    def strings(self) -> Iterator[str]:
        """Every string the records need in the BTF string table, with repeats.

        Section names, file names, source lines and access strings: a loader
        that marshals its own ``.BTF`` must put them in its string table.
        """
        yield from self.sections
        for lines in self.line_infos.values():
            for line in lines:
                yield line.file
                yield line.line
        for relos in self.core_relocations.values():
            for relo in relos:
                yield relo.access_string

    def marshal(
        self,
        type_id: Callable[[Type], int],
        string_offset: Callable[[str], int],
        byte_order: ByteOrder | None = None,
    ) -> bytes:
        """``.BTF.ext`` bytes, with ids and string offsets from the BTF it goes with.

        ``type_id`` maps a type to its id and ``string_offset`` a string to its
        offset in the marshalled ``.BTF`` (see :meth:`strings`); for the spec an
        object was loaded from, :meth:`marshal_for` provides both.
        """
        raw = RawExtInfos(byteorder=byte_order or self.byte_order)
        for name, funcs in self.func_infos.items():
            raw.func_info.append(
                RawSection(
                    string_offset(name),
                    [(f.offset * _INSN_SIZE, type_id(f.func)) for f in funcs],
                )
            )
        for name, lines in self.line_infos.items():
            raw.line_info.append(
                RawSection(
                    string_offset(name),
                    [
                        (
                            li.offset * _INSN_SIZE,
                            string_offset(li.file),
                            string_offset(li.line),
                            li.line_col,
                        )
                        for li in lines
                    ],
                )
            )
        for name, relos in self.core_relocations.items():
            raw.core_relo.append(
                RawSection(
                    string_offset(name),
                    [
                        (
                            r.offset * _INSN_SIZE,
                            type_id(r.type),
                            string_offset(r.access_string),
                            int(r.kind),
                        )
                        for r in relos
                    ],
                )
            )
        return marshal_raw(raw)

    def marshal_for(self, spec: Spec, byte_order: ByteOrder | None = None) -> bytes:
        """``.BTF.ext`` bytes against the string table and ids of the loaded ``spec``."""
        offsets = _StringOffsets(spec)
        return self.marshal(spec.type_id, offsets, byte_order)


class _StringOffsets:
    """The offset of a string in a loaded spec's string table (the first occurrence)."""

    def __init__(self, spec: Spec) -> None:
        raw = getattr(spec, "_raw", None)
        if raw is None:
            raise BTFError("marshal_for needs a spec loaded from BTF bytes")
        self._strings: bytes = raw.strings
        self._base: int = raw.base_strings_len
        self._cache: dict[str, int] = {"": 0}

    def __call__(self, s: str) -> int:
        offset = self._cache.get(s)
        if offset is None:
            needle = s.encode() + b"\0"
            pos = self._strings.find(needle)
            suffix = pos
            # Prefer a whole string (at 0 or after a NUL); the tail of a longer
            # string is a valid offset too, and records may point there.
            while pos > 0 and self._strings[pos - 1] != 0:
                pos = self._strings.find(needle, pos + 1)
            if pos < 0:
                pos = suffix
            if pos < 0:
                raise BTFError(f"string {s!r} is not in the spec's string table")
            offset = self._cache[s] = self._base + pos
        return offset


def load_ext_infos(data: bytes | bytearray | memoryview, spec: Spec) -> ExtInfos:
    """Parse ``.BTF.ext`` bytes, resolving names and types through the object's ``spec``.

    Raises :class:`BTFError` naming ``.BTF.ext``, the byte offset and the ELF
    section for any malformed record, unknown string or type, or a type of the
    wrong kind.
    """
    packed = load_packed_ext_infos(data, spec)
    infos = ExtInfos(byte_order=packed.byte_order)
    with gc_paused():
        for name, funcs in packed.func_infos.items():
            infos.func_infos[name] = funcs.records()
        for name, lines in packed.line_infos.items():
            infos.line_infos[name] = lines.records()
    for name, relos in packed.core_relocations.items():
        infos.core_relocations[name] = relos.records()
    return infos
