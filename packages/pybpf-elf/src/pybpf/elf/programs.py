"""Code sections: split into functions, resolve relocations, link subprograms.

The rules are libbpf's (``bpf_object__add_programs``,
``bpf_program__record_reloc``, ``bpf_object__reloc_code``):

- every ``STT_FUNC`` symbol of a code section is a function; those of
  ``.text`` are subprograms, the others are programs, and a program may not be
  ``static``;
- a relocated ``call`` must target ``.text``; the target's slot is the
  symbol's value (in slots) plus the immediate plus one; a function pointer
  (``LD_IMM64`` of ``BPF_PSEUDO_FUNC``) has its byte offset in the immediate;
- each program gets a copy of every subprogram it reaches, appended depth
  first in the order the calls appear, as libbpf appends them.

What the relocations point at (maps, data sections, externs) is decided by the
reader, through the ``resolve`` callback, so this module knows only code.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable

from pybpf.asm import Instruction, InstructionError, Instructions, decode
from pybpf.asm.opcodes import (
    CALL,
    JMP,
    LD_IMM64,
    PSEUDO_CALL,
    PSEUDO_FUNC,
    PSEUDO_NONE,
)
from pybpf.elf._elffile import (
    STB_LOCAL,
    STT_FUNC,
    STT_SECTION,
    ElfFile,
    Relocation,
    Section,
    Symbol,
)
from pybpf.elf.errors import ELFError, Where

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["R_BPF_64_32", "R_BPF_64_64", "CodeReader", "Function", "link_programs"]

R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10

_CALL = JMP | CALL


class Function:
    """One function of a code section: its name, place and decoded code.

    ``slot`` is the first slot of the function in its section, ``slots`` its
    length; ``callees`` the functions it calls or takes the address of, in
    order, and ``sites`` where it does (instruction index, slot offset in
    the function, callee).
    """

    # A plain class: a dataclass costs a few hundred microseconds to define,
    # at every start of a process that reads an object.
    __slots__ = ("callees", "instructions", "name", "section", "sites", "slot", "slots", "symbol")

    def __init__(
        self,
        name: str,
        section: Section,
        slot: int,
        slots: int,
        symbol: Symbol,
        *,
        instructions: Instructions,
    ) -> None:
        self.name = name
        self.section = section
        self.slot = slot
        self.slots = slots
        self.symbol = symbol
        self.instructions = instructions
        self.callees: list[str] = []
        self.sites: list[tuple[int, int, str]] = []


#: Given (instruction, symbol, relocation, section, byte offset), rewrite the
#: instruction to refer to what the symbol names. Returns False when the
#: symbol is not data the reader knows (then it must be code).
Resolver = Callable[[Instruction, Symbol, Relocation, Section, int], bool]


class CodeReader:
    """Reads every code section of an object into functions."""

    def __init__(self, elf: ElfFile, text: Section | None) -> None:
        self.elf = elf
        self.text = text
        self.functions: dict[str, Function] = {}
        #: Per code section name: its decoded instructions, and the slots where
        #: its LD_IMM64 instructions start (see :func:`_index_at`).
        self.section_code: dict[str, tuple[Instructions, list[int]]] = {}
        #: Per code section name: the instruction that starts at each slot
        #: (None for the second half of an LD_IMM64).
        self.slot_code: dict[str, list[Instruction | None]] = {}
        self._at: dict[tuple[int, int], Function] = {}
        # Per section added: its functions, relocations and local CALL slots.
        self._pending: list[tuple[Section, list[Function], list[Relocation], list[int]]] = []

    def add_section(self, section: Section, relocations: list[Relocation]) -> list[Function]:
        """Decode one code section and split it into its functions."""
        elf = self.elf
        data = elf.section_data(section)
        if len(data) % 8:
            raise ELFError(f"size {len(data)} is not a multiple of 8", section=section.name)
        try:
            insns = decode(data, elf.byte_order)
        except InstructionError:
            insns = _decode_as_is(data, elf.byte_order, section.name)
        total_slots = len(data) // 8
        wides, by_slot = _layout(data, insns)
        funcs: list[Function] = []
        names: set[str] = set()
        for sym in elf.symbols_by_section.get(section.index, ()):
            if sym.type != STT_FUNC:
                continue
            if sym.value % 8 or sym.size % 8:
                raise _symbol_at(section, sym).error("function not aligned to instructions")
            start, count = sym.value // 8, sym.size // 8
            if start + count > total_slots or count == 0:
                raise _symbol_at(section, sym).error("function size out of the section")
            first = _index_at(wides, start)
            last = _index_at(wides, start + count)
            if first is None or last is None:
                raise _symbol_at(section, sym).error("function boundary inside an LD_IMM64")
            if section is not self.text and sym.bind == STB_LOCAL:
                raise _symbol_at(section, sym).error("a program may not be static")
            name = sym.name
            if name in self.functions or name in names:
                if sym.bind != STB_LOCAL:
                    raise _symbol_at(section, sym).error("function defined twice")
                # Statically linked objects can hold several static functions
                # of one name; references need one name per function.
                n = 1
                while f"{sym.name}#{n}" in self.functions or f"{sym.name}#{n}" in names:
                    n += 1
                name = f"{sym.name}#{n}"
            func = Function(name, section, start, count, sym, instructions=insns[first:last])
            # Named now, before ext infos are attached: the symbol linking
            # sets later then builds none of the metadata kept packed.
            insns[first].symbol = name
            names.add(name)
            funcs.append(func)
        funcs.sort(key=lambda f: f.slot)
        for a, b in itertools.pairwise(funcs):
            if a.slot + a.slots > b.slot:
                raise ELFError(
                    f"functions {a.name!r} and {b.name!r} overlap",
                    section=section.name,
                    offset=b.slot * 8,
                )
        for func in funcs:
            self.functions[func.name] = func
            self._at[(section.index, func.slot)] = func
        self._pending.append((section, funcs, relocations, _local_calls(data, elf.byte_order)))
        self.section_code[section.name] = (insns, wides)
        self.slot_code[section.name] = by_slot
        return funcs

    def resolve(self, resolver: Resolver) -> None:
        """Apply relocations and name call targets, once every section is added."""
        for section, funcs, relocations, calls in self._pending:
            by_slot: dict[int, Relocation] = {}
            for rel in relocations:
                if rel.offset % 8:
                    raise ELFError(
                        "relocation not at an instruction", section=section.name, offset=rel.offset
                    )
                by_slot[rel.offset // 8] = rel
            _, wides = self.section_code[section.name]
            code_at = self.slot_code[section.name]
            # Only relocated instructions and calls need a look: visit those
            # slots in order, not every instruction.
            slots = set(by_slot)
            slots.update(calls)
            func_starts = [func.slot for func in funcs]
            covered: set[int] = set()
            for slot in sorted(slots):
                k = bisect.bisect_right(func_starts, slot) - 1
                if k < 0 or slot >= func_starts[k] + funcs[k].slots:
                    continue
                # Inside a function, so inside the section's code.
                insn = code_at[slot]
                if insn is None:
                    continue  # inside an LD_IMM64
                func = funcs[k]
                found = by_slot.get(slot)
                target = None
                if found is not None:
                    covered.add(slot)
                    target = self._relocate(func, insn, found, slot, resolver)
                elif insn.opcode == _CALL and insn.src == PSEUDO_CALL:
                    target = self._function_at(section, slot + insn.constant + 1, slot)
                if target is not None:
                    insn.reference = target.name
                    if target.name not in func.callees:
                        func.callees.append(target.name)
                    # Both are instructions' slots: neither is inside an LD_IMM64
                    # (no typing.cast: a load imports no typing).
                    index: int = _index_at(wides, slot) - _index_at(wides, func.slot)  # type: ignore[operator]
                    func.sites.append((index, slot - func.slot, target.name))
            stray = set(by_slot) - covered
            if stray:
                _check_stray(section, stray, funcs, len(self.slot_code[section.name]))
        self._pending.clear()

    def _relocate(
        self, func: Function, insn: Instruction, rel: Relocation, slot: int, resolver: Resolver
    ) -> Function | None:
        """Apply one relocation; the function it targets, for code references."""
        section = func.section
        offset = slot * 8
        sym = self.elf.symbol(rel.symbol, section=section.name, offset=offset)
        is_call = insn.opcode == _CALL
        if is_call:
            wrong = None if rel.type == R_BPF_64_32 else f"type {rel.type} on a call"
        elif insn.opcode == LD_IMM64:
            wrong = None if rel.type == R_BPF_64_64 else f"type {rel.type} on an LD_IMM64"
        else:
            wrong = f"of instruction {insn}"
        if wrong is not None:
            raise _at(section, sym, offset).error(f"relocation {wrong}")
        if resolver(insn, sym, rel, section, offset):
            return None
        # Code references, the few left: the place is worth making now.
        where = _at(section, sym, offset)
        text = self.text
        if text is None or sym.shndx != text.index or sym.type not in (STT_FUNC, STT_SECTION):
            target_sec = (
                self.elf.sections[sym.shndx].name
                if 0 < sym.shndx < len(self.elf.sections)
                else None
            )
            raise where.error(f"relocation against unsupported section {target_sec!r}")
        if sym.value % 8:
            raise where.error("function symbol not aligned to instructions")
        if is_call:
            if insn.src != PSEUDO_CALL:
                raise where.error("call relocation of a helper call")
            target_slot = sym.value // 8 + insn.constant + 1
        else:
            if insn.src not in (PSEUDO_NONE, PSEUDO_FUNC):
                raise where.error(f"code address loaded with pseudo source {insn.src}")
            # clang leaves the source 0; libbpf marks the load BPF_PSEUDO_FUNC.
            insn.src = PSEUDO_FUNC
            if insn.constant % 8:
                raise where.error("function pointer not aligned to instructions")
            target_slot = sym.value // 8 + insn.constant // 8
        return self._function_at(text, target_slot, slot)

    def _function_at(self, section: Section, slot: int, source_slot: int) -> Function:
        target = self._at.get((section.index, slot))
        if target is None:
            raise ELFError(
                f"call to slot {slot}, where no function starts",
                section=section.name,
                offset=source_slot * 8,
            )
        return target


def _check_stray(section: Section, stray: set[int], funcs: list[Function], slots: int) -> None:
    """Refuse the relocations no function applied, but those of code no symbol covers.

    When two linked objects define one weak function, libbpf's static linker
    keeps the losing copy's code and relocations in the section but drops its
    symbol: no program can reach that code, and libbpf skips its relocations
    ("probably overridden weak function"). A relocation past the section's end,
    or inside a function but not at an instruction, is a broken object.
    """
    for slot in sorted(stray):
        if slot >= slots:
            raise ELFError(
                "relocation past the end of the section", section=section.name, offset=slot * 8
            )
        if any(f.slot <= slot < f.slot + f.slots for f in funcs):
            raise ELFError("relocation inside an LD_IMM64", section=section.name, offset=slot * 8)


def _symbol_at(section: Section, sym: Symbol) -> Where:
    """The place of a function symbol, for its errors (made only for one)."""
    return Where(section.name, sym.name, sym.value)


def _at(section: Section, sym: Symbol, offset: int) -> Where:
    """The place of a relocation, for its errors."""
    return Where(section.name, sym.name or None, offset)


def _decode_as_is(data: bytes, byte_order: ByteOrder, section: str) -> Instructions:
    """A section with instructions the kernel refuses, decoded field by field.

    The verifier tests put such words in on purpose (an ALU offset the kernel
    reserves, an opcode it does not know) and expect the kernel, not the
    loader, to refuse the one program holding them: libbpf opens the object
    and loads the others. Only a broken LD_IMM64 pair stays an error here: the
    instructions after it would not start where the section's slots say.
    """
    insns = decode(data, byte_order, strict=False)
    slot = 0
    for insn in insns:
        if insn.opcode == LD_IMM64 and data[slot * 8 + 8 : slot * 8 + 12] != b"\0\0\0\0":
            try:
                decode(data[slot * 8 : slot * 8 + 16], byte_order)
            except InstructionError as e:
                where = InstructionError(e.message, offset=slot * 8 + (e.offset or 0))
                raise ELFError(
                    f"bad instruction: {where}", section=section, offset=where.offset
                ) from e
        slot += insn.slots
    return insns


def _layout(data: bytes, insns: Instructions) -> tuple[list[int], list[Instruction | None]]:
    """The slots where LD_IMM64 instructions start, and the instruction at each slot.

    Decoding checked that every LD_IMM64 opcode starts an instruction whose
    second slot has opcode 0; only those few are looked at, the runs of
    one-slot instructions between them are copied whole.
    """
    opcodes = data[0::8]
    code = list(insns)
    wides: list[int] = []
    by_slot: list[Instruction | None] = []
    index = slot = 0
    wide = opcodes.find(LD_IMM64)
    while wide >= 0:
        # Instructions index..up to the LD_IMM64 at slot ``wide`` are one slot each.
        end = index + wide - slot + 1
        wides.append(wide)
        by_slot += code[index:end]
        by_slot.append(None)
        index, slot = end, wide + 2
        wide = opcodes.find(LD_IMM64, slot)
    by_slot += code[index:]
    return wides, by_slot


def _index_at(wides: list[int], slot: int) -> int | None:
    """The index of the instruction starting at ``slot``, None inside an LD_IMM64.

    ``wides`` are the slots where LD_IMM64 instructions start (from
    :func:`_layout`); the section's end slot gives the instruction count.
    Each LD_IMM64 before ``slot`` takes one slot more than an instruction.
    """
    before = bisect.bisect_left(wides, slot)
    if before and wides[before - 1] + 1 == slot:
        return None
    return slot - before


def _local_calls(data: bytes, byte_order: str) -> list[int]:
    """The slots of a section's code that call a function of the object (not a helper).

    Read from the raw bytes: the CALL opcodes, then the source register
    nibble of the byte after each (high in little-endian code, low in
    big-endian) is ``BPF_PSEUDO_CALL``. Helper calls, most of the calls,
    then need no look at all.
    """
    opcodes, registers = data[0::8], data[1::8]
    shift = 4 if byte_order == "little" else 0
    found = []
    slot = opcodes.find(_CALL)
    while slot >= 0:
        if (registers[slot] >> shift) & 0xF == PSEUDO_CALL:
            found.append(slot)
        slot = opcodes.find(_CALL, slot + 1)
    return found


def link_programs(
    functions: dict[str, Function],
    mains: list[Function],
    callbacks: dict[str, str] | None = None,
) -> list[Instructions]:
    """Each main function's code followed by every subprogram it needs, libbpf's order.

    ``callbacks`` names, per main function, a subprogram it needs without
    calling it (its exception callback): libbpf appends it, and what it
    calls, after the subprograms the main function reaches.

    Every program gets its own instructions: a main function's are used as
    they are (a program is never called, so nothing else holds them), and a
    subprogram is copied into each program that needs it but the last, which
    takes the decoded instructions themselves (read for no other use after
    linking). A program that another program calls is copied every time.
    Calls and function pointers get their final relative offsets.
    """
    extra = callbacks or {}
    orders = [_link_order(functions, main, extra.get(main.name)) for main in mains]
    last_user: dict[str, int] = {}
    for user, order in enumerate(orders):
        for func in order[1:]:
            last_user[func.name] = user
    for main in mains:
        last_user.pop(main.name, None)
    return [
        _link(main, order, {name for name, user in last_user.items() if user == n})
        for n, (main, order) in enumerate(zip(mains, orders, strict=True))
    ]


def _link_order(
    functions: dict[str, Function], main: Function, callback: str | None = None
) -> list[Function]:
    """``main`` then the subprograms it calls, directly or not, depth first (libbpf's order).

    ``callback``, when not reached already, comes last with its own callees,
    as libbpf's ``bpf_object__relocate`` appends an exception callback once
    the calls are relocated.
    """
    order: list[Function] = [main]
    seen = {main.name}
    # A stack of where each function's callees were left, not a recursive
    # closure: that would refer to itself, and every function through it,
    # leaving the whole spec to the cyclic collector.
    pending = [iter(main.callees if callback is None else [*main.callees, callback])]
    while pending:
        for name in pending[-1]:
            if name not in seen:
                seen.add(name)
                callee = functions[name]
                order.append(callee)
                pending.append(iter(callee.callees))
                break
        else:
            pending.pop()
    return order


def _link(main: Function, order: list[Function], taken: set[str]) -> Instructions:
    """``order``'s code in one program; the subprograms named in ``taken`` are not copied."""
    linked = main.instructions
    if linked:
        linked[0].symbol = main.name
    if len(order) == 1 and not main.sites:
        return linked
    starts = {main.name: 0}
    placed: list[tuple[Function, int, Instructions]] = [(main, 0, linked)]
    # A function's code takes the slots its symbol spans (add_section cut it there).
    slot = main.slots
    for func in order[1:]:
        copies = func.instructions if func.name in taken else func.instructions.copy()
        copies[0].symbol = func.name
        starts[func.name] = slot
        placed.append((func, slot, copies))
        slot += func.slots
        linked.extend(copies)
    for func, start, insns in placed:
        for index, rel_slot, target in func.sites:
            target_start = starts.get(target)
            if target_start is None:
                raise ELFError(
                    f"call of {target!r}, which is not linked",
                    section=main.section.name,
                    symbol=main.name,
                )
            insns[index].branch_offset = target_start - (start + rel_slot) - 1
    return linked
