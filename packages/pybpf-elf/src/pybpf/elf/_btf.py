"""The object's ``.BTF`` and ``.BTF.ext``, as the reader needs them.

Wraps :mod:`pybpf.btf` so that its errors come out as :class:`ELFError`
naming the section, and does what libbpf does to clang's BTF right after
opening (``btf_fixup_datasec``): clang leaves each ``DATASEC`` with size 0 and
its variables at offset 0, the ELF section and symbols have the real numbers,
and the variables get sorted by offset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter

from pybpf.asm import Instruction
from pybpf.asm.instruction import DeferredMetadata
from pybpf.btf import (
    EXCEPTION_CALLBACK_TAG,
    BTFError,
    Datasec,
    DeclTag,
    Func,
    Kind,
    Linkage,
    Spec,
    TypeNotFoundError,
    Var,
)
from pybpf.btf.ext.packed import PackedExtInfos, RecordTable, load_packed_ext_infos
from pybpf.btf.ext.records import CORERelocation, FuncInfo, LineInfo
from pybpf.elf._elffile import STT_SECTION, STV_HIDDEN, STV_INTERNAL, ElfFile, Section
from pybpf.elf.errors import ELFError
from pybpf.elf.spec import MapSpec, VariableSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.elf.programs import Function

__all__ = ["BTFInfo", "read_btf"]

_VIRTUAL = (".kconfig", ".ksyms")


class BTFInfo:
    """The object's BTF spec, its ext infos, and lookups the reader needs."""

    def __init__(
        self, spec: Spec, ext: PackedExtInfos | None, *, exception_tags: bool = False
    ) -> None:
        self.spec = spec
        self.ext = ext
        #: Whether the string table holds an exception callback tag at all:
        #: when not, no type needs a look.
        self.exception_tags = exception_tags
        self._datasecs: dict[str, Datasec | None] = {}
        self._datasec_index: dict[str, list[int]] | None = None
        self._fixed: set[int] = set()

    def exception_callbacks(self) -> dict[str, list[str]]:
        """Per global function: the exception callbacks its decl tags name, in id order.

        The tags libbpf reads (``bpf_prog_assign_exc_cb``): ``exception_callback:``
        on a global FUNC itself. libbpf refuses to load any program when such a
        tag sits elsewhere; those are left out here, for the loader to refuse.
        """
        found: dict[str, list[str]] = {}
        if not self.exception_tags:
            return found
        try:
            for t in self.spec.own_types():
                if not isinstance(t, DeclTag) or t.component_idx != -1:
                    continue
                if not t.value.startswith(EXCEPTION_CALLBACK_TAG):
                    continue
                func = t.type
                if isinstance(func, Func) and func.linkage == Linkage.GLOBAL:
                    found.setdefault(func.name, []).append(
                        t.value.removeprefix(EXCEPTION_CALLBACK_TAG)
                    )
        except BTFError as e:
            raise ELFError(f"bad BTF: {e}", section=".BTF") from e
        return found

    def datasec(self, name: str) -> Datasec | None:
        """The DATASEC called ``name`` (None for none or several)."""
        if name not in self._datasecs:
            found: Datasec | None = None
            try:
                if "\ufffd" in name:
                    # A name that decoding may have made: matched by its bytes.
                    t = self.spec.type_by_name(name, Datasec)
                    found = t if isinstance(t, Datasec) else None
                else:
                    # Every match is decoded, as type_by_name decodes them.
                    ids = self._datasec_ids().get(name, ())
                    types = [self.spec.type_by_id(type_id) for type_id in ids]
                    if len(types) == 1 and isinstance(types[0], Datasec):
                        found = types[0]
            except TypeNotFoundError:
                found = None
            except BTFError as e:
                raise ELFError(f"bad BTF for DATASEC {name!r}: {e}", section=".BTF") from e
            self._datasecs[name] = found
        return self._datasecs[name]

    def _datasec_ids(self) -> dict[str, list[int]]:
        """The ids of the DATASECs by name, found once for every section's lookup.

        A name offset outside the string table names nothing, as for
        :meth:`Spec.type_by_name <pybpf.btf.Spec.type_by_name>`.
        """
        index = self._datasec_index
        if index is None:
            index = self._datasec_index = {}
            spec = self.spec
            for type_id in spec.ids_of_kind(Kind.DATASEC):
                record = spec.raw_record(type_id)
                try:
                    name = (
                        spec.type_by_id(type_id).name if record is None else spec.string(record[0])
                    )
                except BTFError:
                    continue
                index.setdefault(name, []).append(type_id)
        return index

    def fixed_datasec(self, elf: ElfFile, section: Section) -> Datasec | None:
        """The section's DATASEC with libbpf's size and offset fixups applied.

        Its variables end up sorted by offset, as libbpf sorts them (and the
        kernel wants them): clang lists them in its own order, which a static
        link (``bpftool gen object``) can leave unsorted. A global variable of
        hidden or internal visibility becomes static, as libbpf's
        ``btf_fixup_datasec`` makes it: nothing outside the object sees it, and
        a section of such variables only is no ``BPF_F_MMAPABLE`` map.
        """
        ds = self.datasec(section.name)
        if ds is None or section.name in _VIRTUAL or section.index in self._fixed:
            return ds
        self._fixed.add(section.index)
        ds.size = section.size
        # The symbols' values by name (static variables of one name can be
        # several), and which of them are hidden: libbpf makes those static.
        offsets: dict[str, list[int]] = {}
        hidden: set[str] = set()
        for sym in elf.symbols_by_section.get(section.index, ()):
            if sym.type != STT_SECTION and sym.name:
                offsets.setdefault(sym.name, []).append(sym.value)
                if sym.visibility in (STV_HIDDEN, STV_INTERNAL):
                    hidden.add(sym.name)
        for vsi in ds.vars:
            var = _var(vsi.type, section.name)
            if var.name in hidden:
                var.linkage = Linkage.STATIC
            candidates = offsets.get(var.name)
            if not candidates:
                raise ELFError(
                    "BTF variable without an ELF symbol", section=section.name, symbol=var.name
                )
            # A static link can leave static variables of one name from several
            # files: the linker wrote each one's offset in the DATASEC, which
            # names which symbol is this variable's.
            offset = vsi.offset if vsi.offset in candidates else candidates[-1]
            vsi.offset = offset
            if offset + vsi.size > section.size:
                raise ELFError(
                    f"variable of {vsi.size} bytes past the section's end",
                    section=section.name,
                    symbol=var.name,
                    offset=offset,
                )
        ds.vars.sort(key=attrgetter("offset"))
        return ds

    def has_global_variables(self, elf: ElfFile, section: Section) -> bool:
        """Whether the section's DATASEC lists a non-static variable."""
        ds = self.fixed_datasec(elf, section)
        return ds is not None and any(
            isinstance(v.type, Var) and v.type.linkage != Linkage.STATIC for v in ds.vars
        )

    def variables(self, section: Section, spec: MapSpec, elf: ElfFile) -> list[VariableSpec]:
        """The variables of a section of globals held by ``spec``, from its DATASEC."""
        ds = self.fixed_datasec(elf, section)
        if ds is None:
            return []
        out = []
        for vsi in ds.vars:
            var = _var(vsi.type, section.name)
            out.append(
                VariableSpec(
                    var.name,
                    section.name,
                    vsi.offset,
                    vsi.size,
                    var.type,
                    map=spec,
                    byte_order=elf.byte_order,
                )
            )
        return out

    def attach_ext_info(
        self,
        functions: Mapping[str, Function],
        slot_code: Mapping[str, list[Instruction | None]],
    ) -> None:
        """Put func info, line info and CO-RE records on the instructions they describe.

        Each lands in ``insn.metadata`` under its record class (``FuncInfo``,
        ``LineInfo``, ``CORERelocation``), before programs are linked, so that
        every copy of a subprogram carries them. The records stay packed until
        an instruction's metadata is read (see :class:`DeferredMetadata`).
        ``slot_code`` gives, per code section, the instruction starting at
        each slot (None inside an LD_IMM64).
        """
        ext = self.ext
        if ext is None:
            return
        for name, by_slot in slot_code.items():
            # One per section: reading an instruction's metadata looks at its
            # section's (at most three) tables only.
            deferred = DeferredMetadata()
            for table in ext.tables(name):
                targets: list[Instruction | None]
                try:
                    targets = [by_slot[slot] for slot in table.offsets]
                except IndexError:  # a record past the section's code
                    end = len(by_slot)
                    targets = [by_slot[slot] if slot < end else None for slot in table.offsets]
                rows: Sequence[int] = range(len(targets))
                if not all(targets):  # instructions are true, a missing one None
                    rows = _covered_rows(name, table, targets, functions)
                    targets = [targets[row] for row in rows]
                # Every target left is an instruction (no typing.cast: a load imports no typing).
                deferred.add(table.kind, targets, rows, table.build)  # type: ignore[arg-type]
            deferred.attach()


def _covered_rows(
    section: str,
    table: RecordTable[FuncInfo] | RecordTable[LineInfo] | RecordTable[CORERelocation],
    targets: list[Instruction | None],
    functions: Mapping[str, Function],
) -> list[int]:
    """The rows of records that name an instruction; the others must be outside any function.

    Code no symbol covers (a weak function another one overrode, kept by the
    static linker) is never loaded: libbpf ignores its records too. A record
    inside a function that starts no instruction is inside an LD_IMM64.
    """
    spans = sorted(
        (f.slot, f.slot + f.slots) for f in functions.values() if f.section.name == section
    )
    rows = []
    for row, target in enumerate(targets):
        if target is not None:
            rows.append(row)
            continue
        slot = table.offsets[row]
        if any(start <= slot < end for start, end in spans):
            raise ELFError(
                f"{table.kind.__name__} record of section {section!r} for slot "
                f"{slot}, inside an LD_IMM64",
                section=".BTF.ext",
            )
    return rows


def _var(t: object, section: str) -> Var:
    if not isinstance(t, Var):
        raise ELFError(f"DATASEC entry {t!r} is not a variable", section=section)
    return t


def read_btf(elf: ElfFile, btf: Section, ext: Section | None) -> BTFInfo:
    """Parse ``.BTF`` (and ``.BTF.ext`` when present) of ``elf``."""
    data = elf.section_data(btf)
    try:
        spec = Spec.from_bytes(data)
    except BTFError as e:
        raise ELFError(str(e), section=btf.name) from e
    infos = None
    if ext is not None:
        try:
            infos = load_packed_ext_infos(elf.section_data(ext), spec)
        except BTFError as e:
            raise ELFError(str(e), section=ext.name) from e
    return BTFInfo(spec, infos, exception_tags=EXCEPTION_CALLBACK_TAG.encode() in data)
