"""One eBPF instruction, with the names and metadata that travel with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pybpf.asm import opcodes
from pybpf.asm.opcodes import (
    ADDR_SPACE_CAST,
    ALU64,
    CALL,
    EXIT,
    JA,
    JMP,
    JMP32,
    LD_IMM64,
    MOV,
    PSEUDO_CALL,
    PSEUDO_FUNC,
    PSEUDO_KFUNC_CALL,
    PSEUDO_MAP_FD,
    PSEUDO_MAP_IDX,
    PSEUDO_MAP_IDX_VALUE,
    PSEUDO_MAP_VALUE,
    PSEUDO_NONE,
    X,
)

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pybpf.asm.byteorder import ByteOrder
    from pybpf.asm.opcodes import OpClass

__all__ = ["DeferredMetadata", "Instruction"]

_CALL = JMP | CALL
_EXIT = JMP | EXIT
_JA32 = JMP32 | JA
_MOV64_X = ALU64 | MOV | X
_JUMP_CLASSES = (JMP, JMP32)
_MAP_SOURCES = frozenset({PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE})
_MAP_WITH_VALUE = frozenset({PSEUDO_MAP_VALUE, PSEUDO_MAP_IDX_VALUE})


class _Names:
    """The rarely set part of an instruction, kept apart so decoding stays cheap."""

    __slots__ = ("label", "metadata", "reference", "symbol")

    def __init__(self) -> None:
        self.symbol: str | None = None
        self.label: str | None = None
        self.reference: str | None = None
        self.metadata: dict[object, Any] | None = None

    def copy(self) -> _Names:
        new = _Names()
        new.symbol, new.label, new.reference = self.symbol, self.label, self.reference
        if self.metadata:
            new.metadata = dict(self.metadata)
        return new

    def key(self) -> tuple[object, ...] | None:
        if (
            self.symbol is None
            and self.label is None
            and self.reference is None
            and not self.metadata
        ):
            return None
        return (self.symbol, self.label, self.reference, self.metadata or None)


#: What builds the metadata value of a row of a packed table.
Builder = Callable[[int], object]
#: Per metadata key: the row of each instruction (by identity), and what builds a row's value.
_Rows = list[tuple[object, dict[int, int], Builder]]
#: Per metadata key: the identities of instructions, the row of each (in the same
#: order), and the builder.
_Tables = list[tuple[object, list[int], Sequence[int], Builder]]


class _Unbuilt(_Names):
    """Names of an instruction whose metadata is still packed in a :class:`_Deferred`."""

    __slots__ = ()

    @property
    def shared(self) -> _Deferred:
        """Where the instruction's packed metadata is found."""
        raise NotImplementedError

    def take(self, insn: Instruction) -> _Names:
        """Give ``insn`` names of its own, holding its metadata built now."""
        return self.shared.take(insn, self)


class _Deferred(_Unbuilt):
    """The names of every instruction one :class:`DeferredMetadata` reached, shared.

    Such an instruction has no symbol, label or reference (one that has them
    holds a :class:`_Pending` instead); its metadata is found by the
    instruction's identity and built when first read, at which point the
    instruction gets names of its own. The ``metadata`` slot stays None: code
    that peeks at it sees no metadata, as for an instruction without names,
    and must go through :attr:`Instruction.metadata`.

    The lookup by identity is itself built at the first read: until then the
    tables hold identities and copies are noted in order, so that the lookup
    replays what happened (an identity a dead instruction left is given again
    only to a copy, which overwrites it). Holding identities rather than
    instructions keeps instructions and their metadata free of reference
    cycles: a dropped program is freed at once.
    """

    __slots__ = ("_built", "_copied_from", "_copied_to", "_tables")

    def __init__(self, tables: _Tables) -> None:
        super().__init__()
        self._tables = tables
        self._built: _Rows | None = None
        # The copies made so far, in order: the identity of each source, and of its copy.
        self._copied_from: list[int] = []
        self._copied_to: list[int] = []

    @property
    def shared(self) -> _Deferred:
        """Where the instruction's packed metadata is found: here."""
        return self

    @property
    def rows(self) -> _Rows:
        """Per key: each instruction's row by identity, and the builder; made at first use."""
        built = self._built
        if built is None:
            built = self._built = [
                (key, dict(zip(idents, rows, strict=True)), build)
                for key, idents, rows, build in self._tables
            ]
            for source, copy in zip(self._copied_from, self._copied_to, strict=True):
                self._share_built(built, source, copy)
            self._tables, self._copied_from, self._copied_to = [], [], []
        return built

    def holds(self, insn: Instruction, key: object) -> bool:
        """Whether ``insn`` has a still packed value under ``key``."""
        ident = id(insn)
        return any(k == key and ident in rows for k, rows, _ in self.rows)

    def take(self, insn: Instruction, names: _Names | None = None) -> _Names:
        """Give ``insn`` the names ``names`` has (none by default), its metadata built now."""
        own = _Names()
        metadata: dict[object, Any] = {}
        if names is not None and names is not self:
            own.symbol, own.label, own.reference = names.symbol, names.label, names.reference
            if names.metadata:
                metadata.update(names.metadata)
        ident = id(insn)
        for key, rows, build in self.rows:
            row = rows.pop(ident, None)
            if row is not None:
                metadata[key] = build(row)
        own.metadata = metadata
        insn._names = own
        return own

    def note_copy(self, source: Instruction, copy: Instruction) -> None:
        """Note that ``copy`` carries the packed metadata of ``source``."""
        if self._built is None:
            self._copied_from.append(id(source))
            self._copied_to.append(id(copy))
        else:
            self._share_built(self._built, id(source), id(copy))

    def copy(self) -> _Names:
        """What a copy of an instruction holding these names holds: the same, shared."""
        return self

    @staticmethod
    def _share_built(built: _Rows, source: int, copy: int) -> None:
        for _, rows, _ in built:
            row = rows.get(source)
            # A dead instruction's entry may linger under a reused id: overwrite it.
            if row is None:
                rows.pop(copy, None)
            else:
                rows[copy] = row


class _Pending(_Unbuilt):
    """The names of one instruction whose metadata is still packed in a :class:`_Deferred`.

    Such an instruction has a symbol, label or reference of its own, read and
    set in place. The ``metadata`` slot holds what the instruction had before
    the packed metadata was attached, merged with it when first read.
    """

    __slots__ = ("_shared",)

    def __init__(self, shared: _Deferred, names: _Names | None = None) -> None:
        # No chained __init__: linking makes one for every relocated
        # instruction of every copy of a subprogram.
        self._shared = shared
        if names is None:
            self.symbol = self.label = self.reference = self.metadata = None
        else:
            self.symbol, self.label, self.reference = names.symbol, names.label, names.reference
            self.metadata = names.metadata

    @property
    def shared(self) -> _Deferred:
        """Where the instruction's packed metadata is found."""
        return self._shared

    def copy(self) -> _Names:
        """The same names and metadata, for a copy (noted in the shared tables apart)."""
        new = _Pending(self._shared, self)
        if self.metadata:
            new.metadata = dict(self.metadata)
        return new


class DeferredMetadata:
    """Metadata for many instructions, kept packed and built only when it is read.

    The layers above attach records (line info, ...) to every instruction of
    an object; building a mapping per instruction costs more than reading the
    object. Each :meth:`add` names instructions, the row of each in some
    packed table, and a function that builds the value of a row;
    :meth:`attach` hands them over. ``insn.metadata`` is then exactly what
    setting ``insn.metadata[key] = build(row)`` would have made, built the
    first time the instruction's metadata is read or the instruction is
    compared; copies of the instruction carry it along unbuilt. Reading or
    setting an instruction's symbol, label or reference builds nothing.
    """

    __slots__ = ("_tables",)

    def __init__(self) -> None:
        self._tables: list[tuple[object, list[Instruction], Sequence[int], Builder]] = []

    def add(
        self,
        key: object,
        instructions: Iterable[Instruction],
        rows: Iterable[int],
        build: Callable[[int], object],
    ) -> None:
        """``instructions[k].metadata[key]`` will be ``build(rows[k])``.

        ``instructions`` and ``rows`` pair up in order; where an instruction
        comes twice for one key, its last row wins.
        """
        insns = instructions if isinstance(instructions, list) else list(instructions)
        rows = rows if isinstance(rows, list | range) else list(rows)
        if len(insns) != len(rows):
            raise ValueError(f"{len(insns)} instructions for {len(rows)} rows")
        self._tables.append((key, insns, rows, build))

    def attach(self) -> None:
        """Hand the metadata to its instructions (once, after every :meth:`add`)."""
        tables, self._tables = self._tables, []
        # The few instructions with names already (a reference, a symbol),
        # found in bulk before every instruction gets the shared names; metadata
        # still packed elsewhere is built first, so that each instruction's
        # packed metadata lives in one place.
        # Plain loops: the interpreter's specialized slot loads and stores cost
        # a fraction of calling the slot's descriptor through map().
        named: dict[int, tuple[Instruction, _Names]] = {}
        for _, insns, _, _ in tables:
            for insn in insns:
                names = insn._names
                if names is not None:
                    if isinstance(names, _Unbuilt):
                        names = names.take(insn)
                    named[id(insn)] = (insn, names)
        shared = _Deferred(
            [(key, list(map(id, insns)), rows, build) for key, insns, rows, build in tables]
        )
        for _, insns, _, _ in tables:
            for insn in insns:
                insn._names = shared
        for insn, names in named.values():
            insn._names = _Pending(shared, names)


class Instruction:
    """One eBPF instruction.

    The encoding fields are plain attributes: ``opcode`` (the whole opcode
    byte), ``dst`` and ``src`` (register numbers, or the pseudo source of an
    LD_IMM64 or CALL), ``offset`` (signed 16 bits) and ``constant`` (the signed
    32-bit immediate, or the full 64-bit value of an LD_IMM64, which is one
    instruction spanning two 8-byte slots).

    The names travel with the instruction, so they survive editing the list:

    - ``symbol``: the name of the function that starts here;
    - ``label``: a local jump target name;
    - ``reference``: the symbol, label or map this instruction points at
      (a jump or call target, or the map of an LD_IMM64);
    - ``metadata``: a mapping for the layers above (BTF func/line info, CO-RE
      relocations, ...), keyed by objects those layers define. Values are
      treated as immutable: :meth:`copy` copies the mapping, not the values.
    """

    __slots__ = ("_names", "constant", "dst", "offset", "opcode", "src")

    opcode: int
    dst: int
    src: int
    offset: int
    constant: int
    _names: _Names | None

    def __init__(self, opcode: int, dst: int = 0, src: int = 0, offset: int = 0, constant: int = 0):
        # Decoding builds thousands of these: plain stores, no checks and no
        # keyword arguments here (both cost measurably); encode() validates.
        self.opcode = opcode
        self.dst = dst
        self.src = src
        self.offset = offset
        self.constant = constant
        self._names = None

    def _writable_names(self) -> _Names:
        """The names, metadata included, this instruction alone holds: for editing metadata."""
        names = self._names
        if names is None:
            names = self._names = _Names()
        elif isinstance(names, _Unbuilt):
            names = names.take(self)
        return names

    def _renamable_names(self) -> _Names:
        """The names this instruction alone holds, metadata maybe still packed: for renaming."""
        names = self._names
        if names is None:
            names = self._names = _Names()
        elif names.__class__ is _Deferred:
            names = self._names = _Pending(names)
        return names

    def _own_names(self) -> _Names | None:
        """The names, with metadata still deferred built: for reading them whole."""
        names = self._names
        if isinstance(names, _Unbuilt):
            names = names.take(self)
        return names

    @property
    def symbol(self) -> str | None:
        """The name of the function that starts at this instruction."""
        names = self._names
        return None if names is None else names.symbol

    @symbol.setter
    def symbol(self, value: str | None) -> None:
        self._renamable_names().symbol = value

    @property
    def label(self) -> str | None:
        """The local jump-target name of this instruction."""
        names = self._names
        return None if names is None else names.label

    @label.setter
    def label(self, value: str | None) -> None:
        self._renamable_names().label = value

    @property
    def reference(self) -> str | None:
        """The symbol, label or map this instruction points at."""
        names = self._names
        return None if names is None else names.reference

    @reference.setter
    def reference(self, value: str | None) -> None:
        self._renamable_names().reference = value

    # -- derived views -------------------------------------------------------

    @property
    def op_class(self) -> OpClass:
        """The instruction class (the low three opcode bits)."""
        return opcodes.OpClass(self.opcode & 0x07)

    @property
    def immediate(self) -> int:
        """Alias of ``constant``."""
        return self.constant

    @immediate.setter
    def immediate(self, value: int) -> None:
        self.constant = value

    @property
    def slots(self) -> int:
        """How many 8-byte slots the encoding takes: 2 for LD_IMM64, else 1."""
        return 2 if self.opcode == LD_IMM64 else 1

    @property
    def metadata(self) -> dict[object, Any]:
        """Data the layers above attach, keyed by objects they define."""
        names = self._writable_names()
        if names.metadata is None:
            names.metadata = {}
        return names.metadata

    def get_metadata(self, key: object, default: Any = None) -> Any:
        """``metadata.get(key, default)``, building nothing this instruction does not hold.

        For scanning many instructions for one key: an instruction without
        metadata gets no empty mapping, and metadata still kept packed (see
        :class:`DeferredMetadata`) is built only when it holds ``key``.
        """
        names = self._names
        if names is None:
            return default
        if isinstance(names, _Unbuilt) and names.shared.holds(self, key):
            names = names.take(self)
        metadata = names.metadata
        return default if not metadata else metadata.get(key, default)

    @property
    def is_ld_imm64(self) -> bool:
        """True for the two-slot 64-bit immediate load."""
        return self.opcode == LD_IMM64

    @property
    def is_load_from_map(self) -> bool:
        """True for an LD_IMM64 of a map pointer or of a pointer into a map value."""
        return self.opcode == LD_IMM64 and self.src in _MAP_SOURCES

    @property
    def is_call(self) -> bool:
        """True for any CALL: helper, subprogram or kfunc."""
        return self.opcode == _CALL

    @property
    def is_helper_call(self) -> bool:
        """True for a call of a helper function by id."""
        return self.opcode == _CALL and self.src == PSEUDO_NONE

    @property
    def is_function_call(self) -> bool:
        """True for a bpf-to-bpf call of a subprogram."""
        return self.opcode == _CALL and self.src == PSEUDO_CALL

    @property
    def is_kfunc_call(self) -> bool:
        """True for a call of a kernel function by BTF id."""
        return self.opcode == _CALL and self.src == PSEUDO_KFUNC_CALL

    @property
    def is_function_pointer(self) -> bool:
        """True for an LD_IMM64 of a subprogram's address (``BPF_PSEUDO_FUNC``)."""
        return self.opcode == LD_IMM64 and self.src == PSEUDO_FUNC

    @property
    def is_exit(self) -> bool:
        """True for EXIT."""
        return self.opcode == _EXIT

    @property
    def is_addr_space_cast(self) -> bool:
        """True for ``addr_space_cast``: an ALU64 register move with offset 1.

        Its ``constant`` is ``dst_as << 16 | src_as``: ``0x1`` turns an arena
        pointer into a kernel one, ``0x10000`` the reverse.
        """
        return self.opcode == _MOV64_X and self.offset == ADDR_SPACE_CAST

    @property
    def is_jump(self) -> bool:
        """True for a branch (conditional, ``goto``, ``gotol``, ``may_goto``); not CALL/EXIT."""
        return (self.opcode & 0x07) in _JUMP_CLASSES and self.opcode not in (_CALL, _EXIT)

    @property
    def branch_in_immediate(self) -> bool:
        """True where the relative target lives in the immediate, not in ``offset``.

        That is ``gotol``, calls and function pointers; other branches use ``offset``.
        """
        return self.opcode in (_JA32, _CALL) or self.is_function_pointer

    @property
    def branch_offset(self) -> int:
        """The relative target of a branch or local call, in slots after this one.

        A function pointer keeps it in the first half's immediate, signed,
        with the second half zero (as libbpf writes it and the kernel reads it).
        """
        if self.is_function_pointer:
            low = self.constant & 0xFFFFFFFF
            return low - (1 << 32) if low & 0x80000000 else low
        return self.constant if self.branch_in_immediate else self.offset

    @branch_offset.setter
    def branch_offset(self, value: int) -> None:
        if self.is_function_pointer:
            self.constant = value & 0xFFFFFFFF
        elif self.branch_in_immediate:
            self.constant = value
        else:
            self.offset = value

    @property
    def map_fd(self) -> int:
        """The map fd (or ``fd_array`` index) an LD_IMM64 of a map carries."""
        self._require_map_load("map_fd")
        return self.constant & 0xFFFFFFFF

    @property
    def map_value_offset(self) -> int:
        """The offset into the map value of a ``MAP_VALUE``/``MAP_IDX_VALUE`` load."""
        self._require_map_load("map_value_offset")
        return (self.constant >> 32) & 0xFFFFFFFF

    def set_map_fd(self, fd: int) -> None:
        """Point this LD_IMM64 at the map ``fd``, as the kernel expects at load time.

        A pointer into a map value keeps its value offset and becomes
        ``MAP_VALUE``; anything else becomes ``MAP_FD``. The reference stays,
        so the instruction still says which map it is.
        """
        if self.opcode != LD_IMM64:
            raise ValueError(f"set_map_fd needs an LD_IMM64 instruction, not {self}")
        if not 0 <= fd <= 0x7FFFFFFF:
            raise ValueError(f"map fd {fd} out of range")
        if self.src in _MAP_WITH_VALUE:
            self.src = PSEUDO_MAP_VALUE
            self.constant = (self.map_value_offset << 32) | fd
        else:
            self.src = PSEUDO_MAP_FD
            self.constant = fd

    def _require_map_load(self, what: str) -> None:
        if not self.is_load_from_map:
            raise ValueError(f"{what} needs an LD_IMM64 of a map, not {self}")

    # -- copies and names ----------------------------------------------------

    def copy(self) -> Instruction:
        """An independent copy: editing it (metadata included) leaves this one alone."""
        new = Instruction(self.opcode, self.dst, self.src, self.offset, self.constant)
        if self._names is not None:
            self._copy_names_to(new)
        return new

    def _copy_names_to(self, new: Instruction) -> None:
        """Give ``new`` (a copy of this instruction) a copy of the names and metadata."""
        names = self._names
        if names.__class__ is _Deferred:  # most instructions of a program read from ELF
            names.note_copy(self, new)
            new._names = names
        elif names is not None:
            if isinstance(names, _Unbuilt):
                names.shared.note_copy(self, new)
            new._names = names.copy()

    def with_symbol(self, name: str | None) -> Instruction:
        """A copy that starts the function ``name``."""
        new = self.copy()
        new.symbol = name
        return new

    def with_label(self, name: str | None) -> Instruction:
        """A copy that is the jump target ``name``."""
        new = self.copy()
        new.label = name
        return new

    def with_reference(self, name: str | None) -> Instruction:
        """A copy that points at the symbol, label or map ``name``."""
        new = self.copy()
        new.reference = name
        return new

    # -- encoding and display ------------------------------------------------

    def encode(self, byteorder: ByteOrder = "little") -> bytes:
        """The 8 (or 16, for LD_IMM64) bytes of this instruction."""
        # The codec builds Instruction objects, so it can only be imported late.
        from pybpf.asm.codec import encode_instructions  # noqa: PLC0415

        return encode_instructions([self], byteorder)

    def _key(self) -> tuple[object, ...]:
        names = self._own_names()
        key = None if names is None else names.key()
        return (self.opcode, self.dst, self.src, self.offset, self.constant, key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        # Imported here: only printing needs the disassembler, and loading an
        # object prints nothing.
        from pybpf.asm.disasm import format_instruction  # noqa: PLC0415

        return format_instruction(self)

    def __repr__(self) -> str:
        parts = [
            f"opcode={self.opcode:#04x}",
            f"dst={self.dst}",
            f"src={self.src}",
            f"offset={self.offset}",
            f"constant={self.constant}",
        ]
        for name in ("symbol", "label", "reference"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        names = self._own_names()
        if names is not None and names.metadata:
            parts.append(f"metadata={names.metadata!r}")
        return f"Instruction({', '.join(parts)})"

    def __getstate__(self) -> tuple[None, dict[str, object]]:
        # Pickles and copy.deepcopy hold deferred metadata built: it is found
        # by the instruction's identity, which they do not keep.
        return (
            None,
            {
                "opcode": self.opcode,
                "dst": self.dst,
                "src": self.src,
                "offset": self.offset,
                "constant": self.constant,
                "_names": self._own_names(),
            },
        )


_new = object.__new__


def _copy_instructions(insns: list[Instruction]) -> list[Instruction]:
    """``[insn.copy() for insn in insns]``, at a fraction of the cost.

    Plain loops and slot stores, which the interpreter specializes, instead
    of a call of ``Instruction()`` and of :meth:`Instruction.copy` per
    instruction; the copies of instructions sharing packed metadata are
    noted in place (:meth:`_Deferred.note_copy`).
    """
    copies: list[Instruction] = []
    append = copies.append
    for insn in insns:
        new = _new(Instruction)
        new.opcode = insn.opcode
        new.dst = insn.dst
        new.src = insn.src
        new.offset = insn.offset
        new.constant = insn.constant
        names = insn._names
        if names is None:
            new._names = None
        elif names.__class__ is _Deferred and names._built is None:
            names._copied_from.append(id(insn))
            names._copied_to.append(id(new))
            new._names = names
        else:
            new._names = None
            insn._copy_names_to(new)
        append(new)
    return copies
