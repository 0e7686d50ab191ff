"""The records of ``.BTF.ext``: function starts, source lines and CO-RE relocations.

Every record names an instruction by ``offset``: its position in 8-byte slots
from the start of its ELF section (``.BTF.ext`` stores bytes; an LD_IMM64
counts as two slots, as in the kernel's own numbering).

Records are immutable values that point at types of their object's spec.
Copying a record, even deeply (as ``ProgramSpec.copy()`` copies instruction
metadata), returns the record itself: the types stay those of the spec.
"""

from __future__ import annotations

from pybpf.asm.records import record
from pybpf.btf.types import Func, Type

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from enum import IntEnum
    from typing import Any, Self
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = ["CORERelocKind", "CORERelocation", "FuncInfo", "LineInfo"]


class CORERelocKind(IntEnum):
    """What a CO-RE relocation asks for (``enum bpf_core_relo_kind``)."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field_based(self) -> bool:
        """True for the ``FIELD_*`` kinds, which follow an access path into a type."""
        return self <= CORERelocKind.FIELD_RSHIFT_U64

    @property
    def is_type_based(self) -> bool:
        """True for the ``TYPE_*`` kinds, which look at a whole type."""
        return self in _TYPE_BASED

    @property
    def is_enumval_based(self) -> bool:
        """True for the ``ENUMVAL_*`` kinds, which look at one enumerator."""
        return self in (CORERelocKind.ENUMVAL_EXISTS, CORERelocKind.ENUMVAL_VALUE)

    @property
    def libbpf_name(self) -> str:
        """The short name libbpf prints in its logs (``byte_off``, ``type_exists``...)."""
        return _LIBBPF_NAMES[self]


_TYPE_BASED = frozenset(
    {
        CORERelocKind.TYPE_ID_LOCAL,
        CORERelocKind.TYPE_ID_TARGET,
        CORERelocKind.TYPE_EXISTS,
        CORERelocKind.TYPE_SIZE,
        CORERelocKind.TYPE_MATCHES,
    }
)

_LIBBPF_NAMES = {
    CORERelocKind.FIELD_BYTE_OFFSET: "byte_off",
    CORERelocKind.FIELD_BYTE_SIZE: "byte_sz",
    CORERelocKind.FIELD_EXISTS: "field_exists",
    CORERelocKind.FIELD_SIGNED: "signed",
    CORERelocKind.FIELD_LSHIFT_U64: "lshift_u64",
    CORERelocKind.FIELD_RSHIFT_U64: "rshift_u64",
    CORERelocKind.TYPE_ID_LOCAL: "local_type_id",
    CORERelocKind.TYPE_ID_TARGET: "target_type_id",
    CORERelocKind.TYPE_EXISTS: "type_exists",
    CORERelocKind.TYPE_SIZE: "type_size",
    CORERelocKind.ENUMVAL_EXISTS: "enumval_exists",
    CORERelocKind.ENUMVAL_VALUE: "enumval_value",
    CORERelocKind.TYPE_MATCHES: "type_matches",
}


@record(frozen=True, slots=True)
class FuncInfo:
    """The function ``func`` starts at instruction ``offset``."""

    func: Func
    offset: int = 0

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


@record(frozen=True, slots=True)
class LineInfo:
    """The instruction at ``offset`` comes from ``line`` of ``file``.

    ``line`` is the text of the source line, ``line_number`` and ``column``
    count from 1 (0 when unknown). The kernel packs the two as
    ``line_number << 10 | column``, so columns above 1023 do not survive.
    """

    file: str
    line: str
    line_number: int
    column: int
    offset: int = 0

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    @property
    def line_col(self) -> int:
        """``line_number`` and ``column`` packed the kernel's way."""
        return (self.line_number << 10) | (self.column & 0x3FF)


@record(frozen=True, slots=True)
class CORERelocation:
    """A CO-RE relocation of the instruction at ``offset``.

    ``type`` is the local type the access starts from, ``accessor`` the access
    string as numbers (``"0:1:2"`` is ``(0, 1, 2)``: member and array indices
    for field kinds, the enumerator index for enum kinds, ``(0,)`` for type
    kinds).
    """

    type: Type
    accessor: tuple[int, ...]
    kind: CORERelocKind
    offset: int = 0

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    @property
    def access_string(self) -> str:
        """The accessor as ``.BTF.ext`` spells it: ``"0:1:2"``."""
        return ":".join(map(str, self.accessor))
