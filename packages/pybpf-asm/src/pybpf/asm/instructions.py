"""A program: a mutable list of instructions, with symbols, labels and references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSequence

from pybpf.asm.codec import decode_instructions, encode_instructions
from pybpf.asm.errors import InstructionError, UnresolvedReferenceError
from pybpf.asm.instruction import Instruction, _copy_instructions
from pybpf.asm.opcodes import LD_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, overload

    from pybpf.asm.builder import Label, Symbol  # where a marker turns up: loads build none
    from pybpf.asm.byteorder import ByteOrder

__all__ = ["Instructions", "decode"]

_TAG_ZEROED_SOURCES = (PSEUDO_MAP_FD, PSEUDO_MAP_VALUE)


def decode(
    data: bytes | bytearray | memoryview, byteorder: ByteOrder = "little", *, strict: bool = True
) -> Instructions:
    """Decode raw eBPF bytecode (a multiple of 8 bytes) into instructions.

    Raises :class:`InstructionError` (a ``ValueError``) naming the byte offset
    of the first bad instruction. ``strict=False`` rejects nothing but a
    partial slot: for the kernel's translated instructions, which may use
    encodings of its own (see :func:`pybpf.asm.codec.decode_instructions`).
    """
    return Instructions._wrap(decode_instructions(data, byteorder, strict=strict))


class Instructions(MutableSequence[Instruction]):
    """A program as a list of :class:`Instruction` objects.

    It behaves like a ``list``: indexing, slicing (a slice is an
    ``Instructions`` holding the same instruction objects), ``append``,
    ``insert``, ``extend``, ``del``, ``+``. ``len()`` counts instructions, so an
    LD_IMM64 counts once although it takes two 8-byte slots; :meth:`offsets`
    gives the slot offsets the kernel (and jump offsets) count in.

    The constructor and :meth:`extend` also take the :func:`label` and
    :func:`symbol` markers of the builder: each names the instruction after it.
    """

    __slots__ = ("_insns",)

    _insns: list[Instruction]

    def __init__(self, items: Iterable[Instruction | Label | Symbol] = ()):
        self._insns = []
        self.extend(items)

    @classmethod
    def _wrap(cls, insns: list[Instruction]) -> Instructions:
        new = cls.__new__(cls)
        new._insns = insns
        return new

    # -- the list protocol ---------------------------------------------------

    def __len__(self) -> int:
        return len(self._insns)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._insns)

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, index: int) -> Instruction: ...

        @overload
        def __getitem__(self, index: slice) -> Instructions: ...

    def __getitem__(self, index: int | slice) -> Instruction | Instructions:
        if isinstance(index, slice):
            return Instructions._wrap(self._insns[index])
        return self._insns[index]

    if TYPE_CHECKING:

        @overload
        def __setitem__(self, index: int, value: Instruction) -> None: ...

        @overload
        def __setitem__(self, index: slice, value: Iterable[Instruction]) -> None: ...

    def __setitem__(self, index: int | slice, value: Instruction | Iterable[Instruction]) -> None:
        if isinstance(index, slice):
            if isinstance(value, Instruction):
                raise TypeError("can only assign an iterable of instructions to a slice")
            self._insns[index] = [_checked(v) for v in value]
        else:
            self._insns[index] = _checked(value)

    def __delitem__(self, index: int | slice) -> None:
        del self._insns[index]

    def insert(self, index: int, value: Instruction) -> None:
        """Insert ``value`` before position ``index``."""
        self._insns.insert(index, _checked(value))

    def append(self, value: Instruction) -> None:
        """Add ``value`` at the end."""
        self._insns.append(_checked(value))

    def extend(self, values: Iterable[Instruction | Label | Symbol]) -> None:
        """Add instructions at the end; label and symbol markers name the next one."""
        if isinstance(values, Instructions):
            self._insns.extend(values._insns)
            return
        label: str | None = None
        symbol: str | None = None
        out = self._insns
        for value in values:
            if isinstance(value, Instruction):
                if label is not None or symbol is not None:
                    value = value.copy()
                    if label is not None:
                        value.label, label = label, None
                    if symbol is not None:
                        value.symbol, symbol = symbol, None
                out.append(value)
                continue
            from pybpf.asm.builder import Label, Symbol  # noqa: PLC0415 (see the top)

            if isinstance(value, Label):
                if label is not None:
                    raise ValueError(f"labels {label!r} and {value.name!r} name one instruction")
                label = value.name
            elif isinstance(value, Symbol):
                if symbol is not None:
                    raise ValueError(f"symbols {symbol!r} and {value.name!r} name one instruction")
                symbol = value.name
            else:
                raise TypeError(f"expected an Instruction, not {type(value).__name__}")
        dangling = label if label is not None else symbol
        if dangling is not None:
            raise ValueError(f"{dangling!r} names no instruction: nothing follows it")

    def __add__(self, other: Iterable[Instruction]) -> Instructions:
        if not isinstance(other, Instructions):
            other = Instructions(other)
        return Instructions._wrap(self._insns + other._insns)

    def __iadd__(self, other: Iterable[Instruction | Label | Symbol]) -> Instructions:
        self.extend(other)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instructions):
            return NotImplemented
        return self._insns == other._insns

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Instructions:
        """A deep copy: editing it, or its instructions, leaves this program alone."""
        return Instructions._wrap(_copy_instructions(self._insns))

    def __copy__(self) -> Instructions:
        # Like list.copy(): a new list of the same instruction objects.
        return Instructions._wrap(list(self._insns))

    # -- slots and names -----------------------------------------------------

    @property
    def slots(self) -> int:
        """The length of the encoded program in 8-byte slots."""
        insns = self._insns
        return len(insns) + [insn.opcode for insn in insns].count(LD_IMM64)

    def offsets(self) -> Iterator[tuple[int, Instruction]]:
        """Each instruction with its slot offset (multiply by 8 for bytes)."""
        slot = 0
        for insn in self._insns:
            yield slot, insn
            slot += 2 if insn.opcode == LD_IMM64 else 1

    def slot_offset(self, index: int) -> int:
        """The slot offset of the instruction at ``index``."""
        if not -len(self._insns) <= index < len(self._insns):
            raise IndexError(f"instruction index {index} out of range")
        index %= len(self._insns)
        return sum(2 if insn.opcode == LD_IMM64 else 1 for insn in self._insns[:index])

    def index_at_slot(self, slot: int) -> int:
        """The index of the instruction that starts at slot offset ``slot``.

        Raises ``ValueError`` when no instruction starts there (past the end, or
        in the middle of an LD_IMM64).
        """
        for index, (start, _) in enumerate(self.offsets()):
            if start == slot:
                return index
            if start > slot:
                break
        raise ValueError(f"no instruction starts at slot {slot}")

    def index_by_slot(self) -> dict[int, int]:
        """Map each instruction's slot offset to its index, for many lookups at once.

        Relocations and BTF line info name instructions by slot offset; this
        resolves all of them in one pass instead of one scan each.
        """
        return {slot: index for index, (slot, _) in enumerate(self.offsets())}

    def symbols(self) -> dict[str, int]:
        """Each function symbol with the index of its first instruction."""
        return {insn.symbol: i for i, insn in enumerate(self._insns) if insn.symbol is not None}

    def labels(self) -> dict[str, int]:
        """Each label with the index of the instruction it names."""
        return {insn.label: i for i, insn in enumerate(self._insns) if insn.label is not None}

    def functions(self) -> dict[str, Instructions]:
        """Split at symbols: each function's instructions, up to the next symbol.

        Instructions before the first symbol belong to no function and are left out.
        """
        result: dict[str, Instructions] = {}
        starts = [(i, insn.symbol) for i, insn in enumerate(self._insns) if insn.symbol]
        for k, (start, name) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else len(self._insns)
            result[name] = Instructions._wrap(self._insns[start:end])
        return result

    def resolve_references(self) -> None:
        """Point every branch, local call and function pointer at its reference.

        Sets the relative offsets of instructions whose ``reference`` names a
        symbol or label of this program. References of other instructions (maps,
        helpers, kfuncs) are left for the loader. Raises
        :class:`UnresolvedReferenceError` for a name this program does not define.
        """
        targets: dict[str, int] = {}
        placed = list(self.offsets())
        for index, (slot, insn) in enumerate(placed):
            for name in (insn.symbol, insn.label):
                if name is None:
                    continue
                if name in targets and targets[name] != slot:
                    raise InstructionError(
                        f"{name!r} is defined twice", offset=slot * 8, index=index
                    )
                targets[name] = slot
        for index, (slot, insn) in enumerate(placed):
            ref = insn.reference
            if ref is None or not (
                insn.is_jump or insn.is_function_call or insn.is_function_pointer
            ):
                continue
            target = targets.get(ref)
            if target is None:
                raise UnresolvedReferenceError(ref, offset=slot * 8, index=index)
            delta = target - slot - 1
            if not insn.branch_in_immediate and not -0x8000 <= delta <= 0x7FFF:
                raise InstructionError(
                    f"jump to {ref!r} is {delta} slots away, beyond a 16-bit offset",
                    offset=slot * 8,
                    index=index,
                )
            insn.branch_offset = delta

    # -- bytes ---------------------------------------------------------------

    def encode(self, byteorder: ByteOrder = "little", *, strict: bool = True) -> bytes:
        """The raw bytecode; raises :class:`InstructionError` for a field out of range.

        ``strict=False`` also writes what :func:`decode` with ``strict=False``
        read (an opcode or field combination the UAPI does not define) as it
        is; see :func:`pybpf.asm.codec.encode_instructions`.
        """
        return encode_instructions(self._insns, byteorder, strict=strict)

    def tag(
        self, byteorder: ByteOrder = "little", *, algorithm: Literal["sha256", "sha1"] = "sha256"
    ) -> str:
        """The program tag the kernel reports (``bpftool prog show``), as 16 hex digits.

        The kernel hashes the instructions as loaded, with the immediates of
        map-fd loads zeroed since fds differ per process. Linux 6.18 and later
        hash with SHA-256, older kernels with SHA-1 (``algorithm="sha1"``).
        References must be resolved and map fds set for the tag to match.
        """
        if algorithm not in ("sha256", "sha1"):
            raise ValueError(f"algorithm must be 'sha256' or 'sha1', not {algorithm!r}")
        data = bytearray(encode_instructions(self._insns, byteorder))
        # Only LD_IMM64 slots need a look: find them in the encoded opcodes.
        ops = data[0::8]
        slot = ops.find(LD_IMM64)
        while slot >= 0:
            regs = data[8 * slot + 1]
            src = regs >> 4 if byteorder == "little" else regs & 0x0F
            if src in _TAG_ZEROED_SOURCES:
                data[8 * slot + 4 : 8 * slot + 8] = bytes(4)
                data[8 * slot + 12 : 8 * slot + 16] = bytes(4)
            slot = ops.find(LD_IMM64, slot + 2)
        import hashlib  # noqa: PLC0415 (only the tag needs it: ~3 ms at start-up)

        return hashlib.new(algorithm, data).digest()[:8].hex()

    def matches_tag(self, tag: str, byteorder: ByteOrder = "little") -> bool:
        """True if ``tag`` (16 hex digits) is this program's tag on any kernel.

        Tells whether a loaded program was loaded from these instructions
        without knowing which hash the running kernel uses.
        """
        tag = tag.lower()
        return tag in (self.tag(byteorder), self.tag(byteorder, algorithm="sha1"))

    # -- text ----------------------------------------------------------------

    def __str__(self) -> str:
        placed = list(self.offsets())
        if not placed:
            return ""
        width = max(4, len(str(placed[-1][0])))
        lines = []
        for slot, insn in placed:
            if insn.symbol is not None:
                lines.append(f"{insn.symbol}:")
            if insn.label is not None:
                lines.append(f"{insn.label}:")
            lines.append(f"{slot:>{width}}: {insn}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Instructions({self._insns!r})"


def _checked(value: object) -> Instruction:
    if not isinstance(value, Instruction):
        raise TypeError(f"expected an Instruction, not {type(value).__name__}")
    return value
