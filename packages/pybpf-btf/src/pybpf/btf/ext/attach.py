"""Ext infos as instruction metadata, so that they follow instructions through edits.

:func:`attach_ext_infos` puts each record of a section on the instruction it
names; :func:`collect_ext_infos` reads them back from an edited program with
fresh offsets. In between, instructions may be inserted, removed, copied or
moved (bpf-to-bpf calls appended, functions split): records stay with their
instruction.
"""

from __future__ import annotations

from collections.abc import Iterable

from pybpf.asm.instruction import Instruction
from pybpf.asm.records import replace
from pybpf.btf.errors import BTFError
from pybpf.btf.ext.infos import SectionExtInfos
from pybpf.btf.ext.records import CORERelocation, FuncInfo, LineInfo

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, TypeVar

    _R = TypeVar("_R", FuncInfo, LineInfo, CORERelocation)

__all__ = [
    "CORE_RELOCATION_KEY",
    "FUNC_INFO_KEY",
    "LINE_INFO_KEY",
    "attach_ext_infos",
    "collect_ext_infos",
    "core_relocation",
    "func_info",
    "line_info",
]


# The record classes are the metadata keys: ``insn.metadata[CORERelocation]``.
# Classes survive copies and pickling as themselves, and say what they hold.

#: Metadata key of the :class:`FuncInfo` of the instruction that starts a function.
FUNC_INFO_KEY: Final = FuncInfo
#: Metadata key of the :class:`LineInfo` of an instruction.
LINE_INFO_KEY: Final = LineInfo
#: Metadata key of the :class:`CORERelocation` of an instruction.
CORE_RELOCATION_KEY: Final = CORERelocation

_Records = list[FuncInfo] | list[LineInfo] | list[CORERelocation]


def func_info(insn: Instruction) -> FuncInfo | None:
    """The function that starts at ``insn``; its ``offset`` is where it was read."""
    return _get(insn, FuncInfo)


def line_info(insn: Instruction) -> LineInfo | None:
    """The source line of ``insn``; its ``offset`` is where it was read."""
    return _get(insn, LineInfo)


def core_relocation(insn: Instruction) -> CORERelocation | None:
    """The CO-RE relocation of ``insn``; its ``offset`` is where it was read."""
    return _get(insn, CORERelocation)


def _get(insn: Instruction, cls: type[_R]) -> _R | None:
    value = insn.get_metadata(cls)
    return value if isinstance(value, cls) else None


def attach_ext_infos(
    instructions: Iterable[Instruction], infos: SectionExtInfos, *, first_slot: int = 0
) -> None:
    """Put each record of ``infos`` on the instruction at its offset, as metadata.

    ``instructions`` start at slot ``first_slot`` of their ELF section (0 for a
    whole section). A record that falls outside the instructions or inside an
    LD_IMM64, or two records of one kind on one instruction, raise
    :class:`BTFError`.
    """
    by_slot: dict[int, Instruction] = {}
    slot = first_slot
    for insn in instructions:
        by_slot[slot] = insn
        slot += insn.slots
    groups: tuple[tuple[type, str, _Records], ...] = (
        (FUNC_INFO_KEY, "func_info", infos.func_infos),
        (LINE_INFO_KEY, "line_info", infos.line_infos),
        (CORE_RELOCATION_KEY, "core_relo", infos.core_relocations),
    )
    for key, what, records in groups:
        for record in records:
            target = by_slot.get(record.offset)
            if target is None:
                raise BTFError(
                    f"{what} record at instruction {record.offset} does not start an instruction "
                    f"of slots {first_slot}..{slot - 1}"
                )
            metadata = target.metadata
            if key in metadata:
                raise BTFError(f"two {what} records at instruction {record.offset}")
            metadata[key] = record


def collect_ext_infos(instructions: Iterable[Instruction]) -> SectionExtInfos:
    """The records carried by ``instructions``, with offsets counted from their first slot."""
    out = SectionExtInfos()
    slot = 0
    for insn in instructions:
        metadata = insn.metadata
        if metadata:
            value = metadata.get(FUNC_INFO_KEY)
            if isinstance(value, FuncInfo):
                out.func_infos.append(_at(value, slot))
            value = metadata.get(LINE_INFO_KEY)
            if isinstance(value, LineInfo):
                out.line_infos.append(_at(value, slot))
            value = metadata.get(CORE_RELOCATION_KEY)
            if isinstance(value, CORERelocation):
                out.core_relocations.append(_at(value, slot))
        slot += insn.slots
    return out


def _at(record: _R, slot: int) -> _R:
    return record if record.offset == slot else replace(record, offset=slot)
