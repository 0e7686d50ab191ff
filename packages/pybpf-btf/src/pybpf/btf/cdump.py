"""BTF as a compilable C header, the way ``bpftool btf dump file ... format c`` writes it.

The output follows libbpf's ``btf_dump`` (libbpf 1.1, bpftool 7.1) rule for
rule, so that a header made here and one made by bpftool are the same text:

- types are emitted in dependency order: a struct after every type it embeds
  by value, a type reached only through a pointer after a forward declaration
  at most (a depth-first walk that tells *strong* links from *weak* ones);
- anonymous structs, unions and enums are written inline where they are used;
  an anonymous enum nothing refers to is written on its own (global constants);
- a name used by two different types gets ``___2``, ``___3``... in the order
  the names are first written; enumerators share the namespace of typedefs;
- ``__attribute__((packed))`` where the member offsets or the size show that
  the struct cannot be naturally aligned, and explicit padding members
  (``long: 64;``, ``int: 0;``) where the compiler would not lay out the gaps
  by itself;
- functions, variables, data sections and declaration tags are not written.

Where libbpf's text would compile to a different layout, the dump departs
from it (bpftool's output for vmlinux and the testdata objects is unaffected):

- enums of 1 and 2 bytes get ``__attribute__((mode(byte)))`` /
  ``__attribute__((mode(HI)))`` (libbpf 1.1 writes neither, newer libbpf the
  first), or they would be 4 bytes;
- a union whose members do not give its size gets ``packed`` and/or
  ``aligned(N)``, or an unnamed bitfield where no alignment gives the size
  (an unnamed bitfield in the source: it adds size, not alignment);
- a struct with a bitfield straddling a unit of its type's alignment is
  packed, which libbpf's test (on non-bitfield members only) misses;
- the alignment a struct's padding counts on for a member is the alignment
  the member's own written definition has (libbpf's, but for those unions
  and structs), so that a struct holding one off that alignment is packed;
- a packed struct's padding relies on no alignment: its tail is computed
  with alignment 1, and a gap gets its ``long: 0`` mark before the whole
  ``long: 64`` units, which a packed struct would not move to the boundary;
- a gap before a bitfield (an unnamed ``int: 0`` in the source) gets its
  ``type: 0`` mark where the bitfield would otherwise fit in the gap.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Generator, Hashable, Iterable
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

from pybpf.asm.exports import compiled_module
from pybpf.btf.errors import BTFError
from pybpf.btf.layout import is_misaligned, layout_base, scalar_alignment, sizeof
from pybpf.btf.types import (
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    FwdKind,
    Int,
    Kind,
    Pointer,
    Qualifier,
    Restrict,
    Struct,
    Type,
    Typedef,
    Var,
    Void,
    Volatile,
)

if TYPE_CHECKING:
    from types import ModuleType

    from pybpf.btf.spec import Spec

__all__ = ["HEADER_GUARD", "MAX_NESTING", "dump_c", "format_c"]

HEADER_GUARD = "__VMLINUX_H__"

# Order and emit states of libbpf's walk.
_NOT_DONE, _IN_PROGRESS, _DONE = 0, 1, 2

# Built into the compiler: a definition would clash with it.
_BUILTIN = "__builtin_va_list"

# GCC's ARM SIMD typedefs name base types that clang does not have.
_MISSING_BASE_TYPES = {
    "__Poly8_t": "unsigned char",
    "__Poly16_t": "unsigned short",
    "__Poly64_t": "unsigned long long",
    "__Poly128_t": "unsigned __int128",
}

# Kinds that end a declaration's chain of pointers, arrays and qualifiers.
_TERMINAL = (Void, Int, Float, Enum, Fwd, Composite, Typedef)

# Declarations nested deeper than this (anonymous structs in anonymous structs,
# parentheses around pointers to arrays or functions) are refused: clang accepts
# 256 levels of brackets, and no real header comes near either number.
MAX_NESTING = 64

# Whole padding units written one per line, as bpftool writes them, up to this
# many (a gap before a page-aligned member takes 511 ``long: 64``); a longer run
# is one ``char`` array, so that a hostile size does not make gigabytes of text.
_MAX_PAD_UNITS = 512


def format_c(
    types: Spec | Iterable[Type],
    *,
    guard: str | None = HEADER_GUARD,
    preserve_access_index: bool = True,
    pointer_size: int | None = None,
) -> str:
    """A C header declaring ``types`` (a whole spec, or some types and what they need).

    With a spec the text is what ``bpftool btf dump file F format c`` prints for
    it. ``guard`` names the ``#ifndef`` include guard (``None``: no guard);
    ``preserve_access_index`` wraps the types in clang's
    ``#pragma clang attribute push (__attribute__((preserve_access_index)), ...)``
    so that CO-RE relocates every field access, unless the includer defines
    ``BPF_NO_PRESERVE_ACCESS_INDEX``.
    """
    body = dump_c(types, pointer_size=pointer_size)
    out: list[str] = []
    if guard:
        out.append(f"#ifndef {guard}\n#define {guard}\n\n")
    if preserve_access_index:
        out.append(
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
            "#pragma clang attribute push (__attribute__((preserve_access_index)), "
            "apply_to = record)\n"
            "#endif\n\n"
        )
    out.append(body)
    if preserve_access_index:
        out.append("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n")
    if guard:
        out.append(f"#endif /* {guard} */\n")
    return "".join(out)


def dump_c(types: Spec | Iterable[Type], *, pointer_size: int | None = None) -> str:
    """The C definitions of ``types`` and of the types they depend on, without a guard.

    Each definition ends with ``;`` and a blank line. ``pointer_size``
    defaults to the spec's (8 for BPF and 64-bit kernels).
    """
    if pointer_size is None:
        pointer_size = getattr(types, "pointer_size", None) or 8
    text = _compiled_dump(types, pointer_size)
    if text is not None:
        return text
    flags = _referenced_flags(types)
    roots = list(types)
    dumper = _Dumper(pointer_size)
    if flags is not None:
        # Type id i is roots[i - 1]: the referenced ones, picked at C speed.
        dumper.referenced = set(map(id, itertools.compress(roots, memoryview(flags)[1:])))
    else:
        dumper.mark_referenced(roots, whole=hasattr(types, "type_by_id"))
    for t in roots:
        dumper.dump_type(t)
    return "".join(dumper.out)


# The compiled dump's contract (see _compiled_module): the module and the
# version of its function this code calls.
_CDUMP_MODULE = "_pybpf_btf_cdump"
_CDUMP_VERSION = 1


@functools.cache
def _compiled_module() -> ModuleType | None:
    """The compiled dump, when installed and of this code's version.

    It is ``_pybpf_btf_cdump``, built from pybpf-core's C sources into its
    wheel. Its ``VERSION`` is 1 and its one function,
    ``dump_c(types, strings, count, pointer_size)``, takes a whole blob's type
    section (native-order words), its string table and its record count, and
    returns what :func:`dump_c` writes for it, or None for anything it does not
    handle or finds malformed (this module's code then runs, and says what is
    wrong). It follows this module's algorithm step by step: the Python code
    is the reference.
    """
    return compiled_module(_CDUMP_MODULE, _CDUMP_VERSION)


def _compiled_dump(types: Spec | Iterable[Type], pointer_size: int) -> str | None:
    """The compiled dump of a whole spec as read from its blob; None where it does not apply.

    ``PYBPF_BTF_CDUMP=python`` turns it off. Hand-picked types, and specs
    (or bases) whose types were decoded or edited, are dumped in Python.
    """
    if os.environ.get("PYBPF_BTF_CDUMP") == "python" or not hasattr(types, "type_by_id"):
        return None
    module = _compiled_module()
    if module is None:
        return None
    # Imported here: a dump of hand-picked types needs no records.
    from pybpf.btf.raw_records import _untouched  # noqa: PLC0415
    from pybpf.btf.spec import Spec  # noqa: PLC0415

    if not isinstance(types, Spec):
        return None
    raw = _untouched(types)
    if raw is None:
        return None
    if types.base is None:
        if raw.first_id != 1:
            return None
        text: str | None = module.dump_c(raw.words, raw.strings, raw.count, pointer_size)
        return text
    # Split BTF: the base's records and strings, then the blob's, make one id
    # and one string offset space, as they do for the decoder.
    base = types.base
    base_raw = _untouched(base) if base.base is None else None
    if (
        base_raw is None
        or base_raw.first_id != 1
        or raw.first_id != base_raw.count + 1
        or raw.base_strings_len != base_raw.strings_len
    ):
        return None
    # The words are a memoryview or an array of native uint32: bytes() copies their buffer.
    words = bytes(base_raw.words) + bytes(raw.words)
    strings = base_raw.strings + raw.strings
    text = module.dump_c(
        words,
        strings,
        base_raw.count + raw.count,
        pointer_size,
        base_raw.count,
        base_raw.strings_len,
    )
    return text


def _referenced_flags(types: Spec | Iterable[Type]) -> bytearray | None:
    """What a whole spec's records refer to (see :mod:`pybpf.btf.record_refs`), if known so."""
    if not hasattr(types, "type_by_id"):
        return None
    # Imported here: a dump of hand-picked types needs no records.
    from pybpf.btf.record_refs import referenced_flags  # noqa: PLC0415

    return referenced_flags(types)


class _UnionLayout(NamedTuple):
    """What a union's definition needs to get the size it has in BTF."""

    attrs: list[str]
    align: int
    #: Bits of one unnamed bitfield that gives the size, 0 for none.
    pad_bits: int


class _Dumper:
    """One dump: per-type order/emit state, name counters and the output."""

    def __init__(self, pointer_size: int) -> None:
        self.ptr_size = pointer_size
        self.out: list[str] = []
        self.order_state: dict[int, int] = {}
        self.emit_state: dict[int, int] = {}
        self.fwd_emitted: set[int] = set()
        self.referenced: set[int] = set()
        self.names: dict[int, str] = {}
        self.type_names: dict[str, int] = {}
        self.ident_names: dict[str, int] = {}
        self.aligns: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.packed: dict[int, bool] = {}
        self.queue: list[Type] = []
        #: How deeply the declaration being written nests (see MAX_NESTING).
        self.nesting = 0

    # -- what is referenced ------------------------------------------------

    def mark_referenced(self, roots: list[Type], *, whole: bool) -> None:
        """Note every type another type refers to (as libbpf does, over the whole BTF).

        An anonymous enum nothing refers to holds global constants and is
        written on its own; a referenced one is written inline where used.
        For a hand-picked list of types, everything they reach counts.
        """
        todo = roots if whole else _reachable(roots)
        referenced = self.referenced
        for t in todo:
            for r in _referenced_by(t):
                referenced.add(id(r))

    # -- ordering (libbpf's btf_dump_order_type) ---------------------------

    def dump_type(self, t: Type) -> None:
        """Order ``t`` and its dependencies, then write those not yet written."""
        code = _CODES.get(t.__class__) or _code(t.__class__)
        if code == _OTHER:
            return  # functions, variables...: nothing to order or write
        if self.order_state.get(id(t)) == _DONE:
            return  # ordered (and written) as another type's dependency
        if code == _PROTO and self.proto_ordered(t):  # type: ignore[arg-type]
            return
        self.queue = []
        self.order(t, through_ptr=False)
        for q in self.queue:
            self.emit_type(q, None)

    def order(self, t: Type, through_ptr: bool) -> bool:
        """Queue the definitions ``t`` needs; True when ``t`` must be fully defined first.

        A chain from one type to another is *weak* (a forward declaration is
        enough) when it passes through a pointer and reaches a named type,
        otherwise *strong*. The walk keeps its own stack: its depth is the
        input's.
        """
        return _walk(self._order(t, through_ptr), self._order_step)

    def proto_ordered(self, t: FuncProto) -> bool:
        """True when ``t``'s return and parameter types are all ordered: its walk does nothing.

        (Prototypes have no state of their own: they are walked whenever met.)
        """
        order_state = self.order_state
        if order_state.get(id(t.return_type)) != _DONE:
            return False
        return all(order_state.get(id(p.type)) == _DONE for p in t.params)

    def _order_step(self, call: tuple[Type, bool]) -> _Step[tuple[Type, bool], bool]:
        t, through_ptr = call
        if self.order_state.get(id(t)) == _DONE:
            return _ORDERED  # most calls: no walk to start
        if isinstance(t, FuncProto) and self.proto_ordered(t):
            return _ORDERED  # the walk would find every type ordered: strong
        # Only a struct or union has a state that ends a walk coming back to it;
        # anything else met again on the same walk would be walked forever.
        guard = None if isinstance(t, Composite) else (id(t), through_ptr)
        return self._order(t, through_ptr), guard

    def _order(self, t: Type, through_ptr: bool) -> _Walk[tuple[Type, bool], bool]:
        key = id(t)
        state = self.order_state.get(key)
        if state is not None:
            if state == _DONE:
                return True
            if isinstance(t, Composite) and through_ptr and t.name:
                return False
            raise BTFError(f"unsatisfiable type cycle at {t!r}: a type contains itself")
        code = _CODES.get(t.__class__) or _code(t.__class__)
        if code == _PTR:
            strong = yield (t.target, True)  # type: ignore[attr-defined]
            self.order_state[key] = _DONE
            return strong
        if code == _COMPOSITE:
            if through_ptr and t.name:
                return False
            self.order_state[key] = _IN_PROGRESS
            order_state = self.order_state
            for m in t.members:  # type: ignore[attr-defined]
                member_type = m.type
                # Most members are of types ordered already: no call for those.
                if order_state.get(id(member_type)) != _DONE:
                    yield (member_type, False)
            if t.name:
                self.queue.append(t)
            self.order_state[key] = _DONE
            return True
        if code == _QUALIFIER:
            return (yield (t.type, through_ptr))  # type: ignore[attr-defined]
        if code == _TYPEDEF:
            strong = yield (t.type, through_ptr)  # type: ignore[attr-defined]
            if through_ptr and not strong:
                return False
            self.queue.append(t)
            self.order_state[key] = _DONE
            return True
        if code == _PROTO:
            strong = yield (t.return_type, through_ptr)  # type: ignore[attr-defined]
            for p in t.params:  # type: ignore[attr-defined]
                if (yield (p.type, through_ptr)):
                    strong = True
            return strong
        if code == _ARRAY:
            return (yield (t.type, False))  # type: ignore[attr-defined]
        if code == _ENUM_OR_FWD:
            if t.name or key not in self.referenced:
                self.queue.append(t)
            self.order_state[key] = _DONE
            return True
        # Base types need no definition; functions, variables, data sections
        # and declaration tags are not written.
        self.order_state[key] = _DONE
        return False

    # -- emitting (libbpf's btf_dump_emit_type) ----------------------------

    def emit_type(self, t: Type, container: Type | None) -> None:
        """Write ``t`` (top level when ``container`` is None), forward-declaring as needed."""
        _walk(self._emit(t, container), self._emit_step)

    def _emit_step(self, call: tuple[Type, Type | None]) -> _Step[tuple[Type, Type | None], None]:
        t, container = call
        emit_state = self.emit_state
        if emit_state.get(id(t)) == _DONE:
            return _EMITTED
        # Most calls are for pointers, qualifiers and arrays of a type written
        # already: their walk would only reach it and stop, so it is not made.
        target = t
        for _ in range(_SHORTCUT_STEPS):
            k = target.kind
            if k == _K_PTR:
                target = target.target  # type: ignore[attr-defined]
            elif k in _K_FOLLOW_TYPE:
                target = target.type  # type: ignore[attr-defined]
            else:
                break
            if emit_state.get(id(target)) == _DONE:
                return _EMITTED
        if (
            container is not None
            and id(target) in self.fwd_emitted
            and isinstance(target, Composite)
            and target.name
        ):
            # Declared already and written inside something: nothing more to write.
            return _EMITTED
        # Structs, unions and typedefs end a walk coming back to them with a
        # forward declaration; anything else would be walked forever.
        stateful = isinstance(t, Composite | Typedef)
        guard = None if stateful else (id(t), id(container))
        return self._emit(t, container), guard

    def _emit(self, t: Type, container: Type | None) -> _Walk[tuple[Type, Type | None], None]:
        key = id(t)
        state = self.emit_state.get(key, _NOT_DONE)
        if state == _DONE:
            return
        write = self.out.append
        if state == _IN_PROGRESS:
            # A type refers back to one being written: a forward declaration breaks the cycle.
            if key in self.fwd_emitted:
                return
            if isinstance(t, Composite):
                if t is container or not t.name:
                    return
                self.struct_fwd(t)
                write(";\n\n")
                self.fwd_emitted.add(key)
            elif isinstance(t, Typedef):
                if t.name != _BUILTIN:
                    self.typedef_def(t, 0)
                    write(";\n\n")
                self.fwd_emitted.add(key)
            return

        k = t.kind
        if k == _K_PTR:
            yield (t.target, container)  # type: ignore[attr-defined]
        elif k in (_K_STRUCT, _K_UNION):
            assert isinstance(t, Composite)
            self.emit_state[key] = _IN_PROGRESS
            top_level = container is None
            if top_level or not t.name:
                # Its members are written out here: their types need declaring first.
                inner = t if t.name else container
                emit_state = self.emit_state
                for m in t.members:
                    member_type = m.type
                    if emit_state.get(id(member_type)) != _DONE:
                        yield (member_type, inner)
            elif key not in self.fwd_emitted and t is not container:
                self.struct_fwd(t)
                write(";\n\n")
                self.fwd_emitted.add(key)
            if top_level:
                self.struct_def(t, 0)
                write(";\n\n")
                self.emit_state[key] = _DONE
            else:
                self.emit_state[key] = _NOT_DONE
        elif k == _K_TYPEDEF:
            assert isinstance(t, Typedef)
            self.emit_state[key] = _IN_PROGRESS
            yield (t.type, t)
            # Someone may have needed the typedef as a forward declaration already.
            if key not in self.fwd_emitted and t.name != _BUILTIN:
                self.typedef_def(t, 0)
                write(";\n\n")
            self.emit_state[key] = _DONE
        elif k in _K_FOLLOW_TYPE:
            yield (t.type, container)  # type: ignore[attr-defined]
        elif k == _K_FUNC_PROTO:
            assert isinstance(t, FuncProto)
            yield (t.return_type, container)
            for p in t.params:
                yield (p.type, container)
        elif k == _K_INT:
            alias = _MISSING_BASE_TYPES.get(self.type_name(t))
            if alias is not None:
                write(f"typedef {alias} {t.name};\n\n")
            self.emit_state[key] = _DONE
        elif k in (_K_ENUM, _K_ENUM64):
            if container is None:
                self.enum_def(t, 0)  # type: ignore[arg-type]
                write(";\n\n")
            self.emit_state[key] = _DONE
        elif k == _K_FWD:
            self.fwd_def(t)  # type: ignore[arg-type]
            write(";\n\n")
            self.emit_state[key] = _DONE

    # -- names -------------------------------------------------------------

    def resolve_name(self, t: Type, counts: dict[str, int]) -> str:
        """``t``'s name, with ``___N`` when an earlier written type took it."""
        name = t.name
        if not name:
            return ""
        key = id(t)
        cached = self.names.get(key)
        if cached is not None:
            return cached
        if isinstance(t, Fwd) or (type(t) is Enum and not t.values):
            self.names[key] = name
            return name
        count = counts.get(name, 0) + 1
        counts[name] = count
        resolved = f"{name}___{count}" if count > 1 else name
        self.names[key] = resolved
        return resolved

    def type_name(self, t: Type) -> str:
        """The name of a struct, union, enum or forward declaration."""
        return self.resolve_name(t, self.type_names)

    def ident_name(self, t: Type) -> str:
        """The name of a typedef (it shares its namespace with enumerators)."""
        return self.resolve_name(t, self.ident_names)

    def enumerator_name(self, name: str) -> str:
        """An enumerator's name, with ``___N`` for the N-th of that name written."""
        count = self.ident_names.get(name, 0) + 1
        self.ident_names[name] = count
        return f"{name}___{count}" if count > 1 else name

    # -- definitions -------------------------------------------------------

    def struct_fwd(self, t: Composite) -> None:
        """``struct name`` / ``union name``."""
        keyword = "struct" if isinstance(t, Struct) else "union"
        name = self.type_name(t)
        self.out.append(f"{keyword} {name}" if t.name else keyword)

    def fwd_def(self, t: Fwd) -> None:
        """A forward declaration's ``struct name`` / ``union name``."""
        keyword = "union" if t.fwd_kind == FwdKind.UNION else "struct"
        self.out.append(f"{keyword} {self.type_name(t)}")

    def typedef_def(self, t: Typedef, lvl: int) -> None:
        """``typedef <declaration of name>``."""
        name = self.ident_name(t)
        if isinstance(t.type, Void) and name == "__gnuc_va_list":
            # Old GCCs describe it as a typedef of void, which does not compile.
            self.out.append("typedef __builtin_va_list __gnuc_va_list")
            return
        self.out.append("typedef ")
        self.type_decl(t.type, name, lvl)

    def enum_def(self, t: Enum, lvl: int) -> None:
        """``enum name { A = 1, ... }`` with a mode attribute for unusual sizes."""
        write = self.out.append
        name = self.type_name(t)
        write(f"enum {name}" if t.name else "enum")
        if not t.values:
            return
        write(" {")
        indent = "\t" * (lvl + 1)
        wide = isinstance(t, Enum64)
        bits = 64 if wide else 32
        mask = (1 << bits) - 1
        suffix = ("LL" if t.signed else "ULL") if wide else ""
        for v in t.values:
            value = v.value & mask
            if t.signed and value >> (bits - 1):
                value -= 1 << bits
            write(f"\n{indent}{self.enumerator_name(v.name)} = {value}{suffix},")
        write(f"\n{_indent(lvl)}}}")
        if t.size == 1:
            write(" __attribute__((mode(byte)))")
        elif t.size == 2:
            # libbpf writes nothing here and the enum grows to 4 bytes; HImode
            # is the 2-byte integer mode of GCC and clang.
            write(" __attribute__((mode(HI)))")
        elif (
            t.size == 8
            and self.ptr_size == 8
            # An 8-byte enum is natural when a value needs the upper 32 bits.
            and (not wide or not any((v.value & mask) >> 32 for v in t.values))
        ):
            write(" __attribute__((mode(word)))")

    def struct_def(self, t: Composite, lvl: int) -> None:
        """``struct name { members; }`` with padding members and ``packed`` as needed."""
        self.nest(t)
        self._struct_def(t, lvl)
        self.nesting -= 1

    def nest(self, t: Type) -> None:
        """Enter one more level of braces or parentheses; BTFError past MAX_NESTING."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise BTFError(f"{t!r}: declaration nested more than {MAX_NESTING} levels deep")

    def _struct_def(self, t: Composite, lvl: int) -> None:
        write = self.out.append
        is_struct = isinstance(t, Struct)
        align = self.align_of(t)
        packed = is_struct and self.is_packed(t)
        keyword = "struct" if is_struct else "union"
        name = self.type_name(t)
        write(f"{keyword} {name} {{" if t.name else f"{keyword} {{")
        indent = _indent(lvl + 1)
        offset = 0
        prev_bitfield = False
        for m in t.members:
            bits = m.bitfield_size
            member_type = m.type
            member_offset = m.offset
            lands = self.lands_at(offset, member_type, bits, packed)
            if offset < member_offset:
                in_bitfield = prev_bitfield and bits != 0
                self.bit_padding(
                    offset,
                    member_offset,
                    lands,
                    in_bitfield=in_bitfield,
                    packed=packed,
                    lvl=lvl + 1,
                )
            write(f"\n{indent}")
            self.type_decl(member_type, m.name, lvl + 1)
            if bits:
                write(f": {bits};")
                offset = member_offset + bits
                prev_bitfield = True
            else:
                write(";")
                offset = member_offset + self.size_of(member_type) * 8
                prev_bitfield = False
        attrs = ["packed"] if packed else []
        if is_struct:
            # The compiler rounds the size up to the struct's alignment (1 when packed).
            lands = _roundup(offset, max(align, 1) * 8)
            self.bit_padding(
                offset, t.size * 8, lands, in_bitfield=False, packed=packed, lvl=lvl + 1
            )
        else:
            layout = self.union_layout(t)
            attrs = layout.attrs
            self.bit_padding(0, layout.pad_bits, 0, in_bitfield=False, packed=False, lvl=lvl + 1)
        if t.members or t.size:
            write(f"\n{_indent(lvl)}}}")
        else:
            write("}")
        if attrs:
            write(f" __attribute__(({', '.join(attrs)}))")

    def lands_at(self, cur: int, t: Type, bits: int, packed: bool) -> int:
        """The bit at which the compiler puts a member of type ``t`` declared at bit ``cur``.

        A packed struct aligns nothing but bytes, and bitfields not even
        those. Otherwise a member goes to its type's alignment; a bitfield
        stays at ``cur`` unless it would straddle a unit of that alignment.
        """
        unit = 8 if packed else max(self.align_of(t), 1) * 8
        if not bits:
            return _roundup(cur, unit)
        if packed or cur // unit == (cur + bits - 1) // unit:
            return cur
        return _roundup(cur, unit)

    def union_layout(self, t: Composite) -> _UnionLayout:
        """The attributes and padding a union needs for its size, and its alignment then.

        A union has no padding members between its members, and libbpf writes
        no attribute on one: a union declared ``aligned(16)`` around a
        ``char`` would come out 1 byte long, a packed one around a ``short``
        bitfield 2. A size no attribute gives (an unnamed bitfield in the
        source, ``union { char c; int: 24; }``) gets such a bitfield back; it
        adds size but no alignment.
        """
        align = max([1, *(self.align_of(m.type) for m in t.members)])
        if not t.members or not t.size:
            # As libbpf writes it (vmlinux's transparent union release_pages_arg).
            return _UnionLayout([], align, 0)
        widest = max(self.size_of(m.type) for m in t.members)
        natural = _roundup(widest, align)
        attrs = []
        if natural > t.size or t.size % align:
            attrs.append("packed")
            natural = max((m.bitfield_size + 7) // 8 or self.size_of(m.type) for m in t.members)
            align = 1
        pad_bits = 0
        if natural < t.size:
            grow = align
            while _roundup(max(natural, 1), grow) < t.size:
                grow *= 2
            if natural and _roundup(natural, grow) == t.size:
                attrs.append(f"aligned({grow})")
                align = grow
            elif t.size <= self.ptr_size:
                pad_bits = t.size * 8
        return _UnionLayout(attrs, align, pad_bits)

    def bit_padding(
        self, cur: int, nxt: int, lands: int, *, in_bitfield: bool, packed: bool, lvl: int
    ) -> None:
        """Padding members that make the compiler put the next member at bit ``nxt``.

        ``lands`` is where the compiler would put the next member without
        padding. First the widest of long/int/short/char whose natural
        alignment lands within the gap (marked with ``type: 0`` when the
        compiler would not align there by itself), then whole units of it,
        then the smallest type that covers the rest. In a packed struct no
        padding member is aligned for us, so the mark is always needed before
        whole units (a zero-width bitfield aligns even there).
        """
        if cur >= nxt:
            return
        pads = (("long", self.ptr_size * 8), ("int", 32), ("short", 16), ("char", 8))
        write = self.out.append
        indent = _indent(lvl)
        if (nxt - cur) // (self.ptr_size * 8) > _MAX_PAD_UNITS:
            # A char array adds no alignment, as an unnamed bitfield does not;
            # the bits before it close the byte a bitfield left open.
            if cur % 8:
                write(f"\n{indent}char: {8 - cur % 8};")
                cur += 8 - cur % 8
            write(f"\n{indent}char __pad_{cur // 8}[{(nxt - cur) // 8}];")
            cur += (nxt - cur) // 8 * 8
            if cur == nxt:
                return
        pad_type, pad_bits, new = "char", 8, cur
        for pad_type, pad_bits in pads:  # noqa: B007  (the last one tried is used below)
            new = _roundup(cur, pad_bits)
            if new <= nxt:
                break
        if cur < new <= nxt:
            if (
                in_bitfield
                or (new == nxt and lands != new)
                or (new != nxt and (packed or nxt - new <= new - cur))
            ):
                write(f"\n{indent}{pad_type}: {new - cur if in_bitfield else 0};")
            cur = new
        while cur != nxt:
            bits = min(nxt - cur, pad_bits)
            if bits == pad_bits:
                write(f"\n{indent}{pad_type}: {pad_bits};")
                cur += bits
                continue
            for pad_type, pad_bits in reversed(pads):
                if pad_bits < bits:
                    continue
                write(f"\n{indent}{pad_type}: {bits};")
                cur += bits
                break

    # -- declarations (libbpf's btf_dump_emit_type_decl) -------------------

    def type_decl(self, t: Type, fname: str, lvl: int) -> None:
        """Declare ``fname`` of type ``t``: ``const char *(*fname[4])(int)``.

        The chain from ``t`` down to a named or base type is a stack; C writes
        qualifiers of a base type before it and pointer qualifiers after ``*``,
        and wraps pointers to arrays and functions in parentheses.
        """
        if self.nesting < MAX_NESTING:
            # Most declarations name a type, or point at one: written at once.
            k = t.kind
            if k == _K_PTR:
                plain = self.plain_name(t.target)  # type: ignore[attr-defined]
                if plain is not None:
                    self.out.append(f"{plain} *{fname}")
                    return
            else:
                plain = self.plain_name(t)
                if plain is not None:
                    self.out.append(f"{plain} {fname}" if fname else plain)
                    return
        stack: list[Type] = []
        seen: set[int] = set()
        while True:
            if id(t) in seen:
                raise BTFError(f"{t!r}: declaration refers to itself")
            seen.add(id(t))
            stack.append(t)
            if isinstance(t, _TERMINAL):
                break
            if isinstance(t, Pointer):
                t = t.target
            elif isinstance(t, Qualifier):
                t = t.type
            elif isinstance(t, FuncProto):
                t = t.return_type
            elif isinstance(t, Array):
                t = t.type
            else:
                break
        self.type_chain(stack, fname, lvl)

    def plain_name(self, t: Type) -> str | None:
        """How a declaration names ``t`` when that takes one word or two (``struct s``), else None.

        For a typedef, a base type, void, and a named struct, union or enum.
        """
        k = t.kind
        if k == _K_TYPEDEF:
            return self.ident_name(t)
        if k in (_K_INT, _K_FLOAT):
            return t.name
        if k == _K_VOID:
            return "void"
        if not t.name:
            return None
        if k == _K_STRUCT:
            return f"struct {self.type_name(t)}"
        if k == _K_UNION:
            return f"union {self.type_name(t)}"
        if k in (_K_ENUM, _K_ENUM64):
            return f"enum {self.type_name(t)}"
        return None

    def emit_mods(self, stack: list[Type]) -> None:
        """Write the qualifiers on top of the stack in front of a base type."""
        write = self.out.append
        while stack:
            top = stack[-1]
            if isinstance(top, Volatile):
                write("volatile ")
            elif isinstance(top, Const):
                write("const ")
            elif isinstance(top, Restrict):
                write("restrict ")
            else:
                return
            stack.pop()

    def type_chain(self, stack: list[Type], fname: str, lvl: int) -> None:
        """Write a declaration from its stack (see :meth:`type_decl`)."""
        self.nest(stack[-1])
        self._type_chain(stack, fname, lvl)
        self.nesting -= 1

    def _type_chain(self, stack: list[Type], fname: str, lvl: int) -> None:
        write = self.out.append
        last_was_ptr = True
        while stack:
            t = stack.pop()
            k = t.kind
            if k == _K_TYPEDEF:
                self.emit_mods(stack)
                write(self.ident_name(t))
            elif k == _K_PTR:
                write("*" if last_was_ptr else " *")
            elif k in (_K_INT, _K_FLOAT):
                self.emit_mods(stack)
                write(t.name)
            elif k in (_K_STRUCT, _K_UNION):
                self.emit_mods(stack)
                if t.name:
                    self.struct_fwd(t)  # type: ignore[arg-type]
                else:
                    self.struct_def(t, lvl)  # type: ignore[arg-type]
            elif k == _K_CONST:
                write(" const")
            elif k == _K_ARRAY:
                # Qualifiers of an array (a GCC quirk) mean nothing in C: drop them.
                _drop_mods(stack)
                nelems = t.nelems  # type: ignore[attr-defined]
                if not stack:
                    self.emit_name(fname, last_was_ptr)
                    write(f"[{nelems}]")
                    return
                multidim = stack[-1].kind == _K_ARRAY
                if fname and not last_was_ptr:
                    write(" ")
                if not multidim:
                    write("(")
                self.type_chain(stack, fname, lvl)
                if not multidim:
                    write(")")
                write(f"[{nelems}]")
                return
            elif k == _K_FUNC_PROTO:
                # GCC's volatile on noreturn function pointers: dropped likewise.
                _drop_mods(stack)
                if stack:
                    write(" (")
                    self.type_chain(stack, fname, lvl)
                    write(")")
                else:
                    self.emit_name(fname, last_was_ptr)
                self.params(t, lvl)  # type: ignore[arg-type]
                return
            elif k in (_K_ENUM, _K_ENUM64):
                self.emit_mods(stack)
                if t.name:
                    write(f"enum {self.type_name(t)}")
                else:
                    self.enum_def(t, lvl)  # type: ignore[arg-type]
            elif k == _K_VOID:
                self.emit_mods(stack)
                write("void")
                last_was_ptr = False
                continue
            elif k == _K_VOLATILE:
                write(" volatile")
            elif k == _K_RESTRICT:
                write(" restrict")
            elif k == _K_FWD:
                self.emit_mods(stack)
                self.fwd_def(t)  # type: ignore[arg-type]
            elif k == _K_TYPE_TAG:
                self.emit_mods(stack)
                write(f' __attribute__((btf_type_tag("{t.value}")))')  # type: ignore[attr-defined]
            else:
                return
            last_was_ptr = k == _K_PTR
        self.emit_name(fname, last_was_ptr)

    def params(self, t: FuncProto, lvl: int) -> None:
        """``(int a, char *b, ...)``; ``(void)`` for none."""
        write = self.out.append
        params = t.params
        if not params or (len(params) == 1 and isinstance(params[0].type, Void)):
            write("(void)")
            return
        write("(")
        last = len(params) - 1
        for i, p in enumerate(params):
            if i:
                write(", ")
            if i == last and isinstance(p.type, Void):
                write("...")
                break
            self.type_decl(p.type, p.name, lvl)
        write(")")

    def emit_name(self, name: str, last_was_ptr: bool) -> None:
        """The declared name, after a space unless it follows a ``*``."""
        if name:
            self.out.append(name if last_was_ptr else f" {name}")

    # -- layout (libbpf's btf__align_of / btf__resolve_size) ---------------

    def align_of(self, t: Type) -> int:
        """The alignment ``t`` has once its definition is written out, 0 if none.

        libbpf's (1 for a struct that must be packed), except where the dump
        writes attributes libbpf does not: a union's ``aligned(N)`` or
        ``packed``, and a struct packed for a straddling bitfield. The padding
        of every struct that holds ``t`` is computed from this alignment.
        """
        cached = self.aligns.get(id(t))
        if cached is not None:
            return cached
        base = layout_base(t)
        if not isinstance(base, Composite) or all(id(m.type) in self.aligns for m in base.members):
            align = self.aligns[id(t)] = self._align_of(t)
            return align
        # Members first, on an explicit stack, so that structs nested by value
        # as deep as the input likes cost no Python stack.
        todo = [t]
        expanded: set[int] = set()
        while todo:
            top = todo[-1]
            key = id(top)
            if key in self.aligns:
                todo.pop()
                continue
            base = layout_base(top)
            if isinstance(base, Composite) and key not in expanded:
                expanded.add(key)
                todo.extend(m.type for m in base.members if id(m.type) not in self.aligns)
                continue
            todo.pop()
            pending = isinstance(base, Composite) and any(
                id(m.type) not in self.aligns for m in base.members
            )
            if pending:
                # Its members were expanded after it and should all be done: one
                # of them is still on the stack below, so it holds itself by value.
                raise BTFError(f"unsatisfiable type cycle at {top!r}: a type contains itself")
            self.aligns[key] = self._align_of(top)
        return self.aligns[id(t)]

    def _align_of(self, t: Type) -> int:
        t = layout_base(t)
        scalar = scalar_alignment(t, self.ptr_size)
        if scalar is not None:
            return scalar
        if isinstance(t, Composite):
            aligns = [self.align_of(m.type) for m in t.members]
            for align in aligns:
                if align <= 0:
                    return align
            if not isinstance(t, Struct):
                return self.union_layout(t).align
            if self.is_packed(t):
                return 1
            return max(aligns, default=1)
        return 0

    def is_packed(self, t: Composite) -> bool:
        """True when a member sits off its natural alignment, or the size is no multiple of it.

        Beyond libbpf's rules: a bitfield that straddles a unit of its type's
        alignment can only come from a packed struct too (libbpf misses it and
        the compiler moves the bitfield to the next unit).
        """
        cached = self.packed.get(id(t))
        if cached is None:
            cached = self.packed[id(t)] = self._is_packed(t)
        return cached

    def _is_packed(self, t: Composite) -> bool:
        max_align = 1
        for m in t.members:
            align = self.align_of(m.type)
            bits = m.bitfield_size
            if is_misaligned(m, align):
                return True
            if align and bits and m.offset // (8 * align) != (m.offset + bits - 1) // (8 * align):
                return True
            max_align = max(max_align, align)
        return t.size % max_align != 0

    def size_of(self, t: Type) -> int:
        """``sizeof``, 0 where there is none (libbpf's resolve_size, clamped)."""
        size = self.sizes.get(id(t))
        if size is None:
            try:
                size = sizeof(t, self.ptr_size)
            except BTFError:
                size = 0
            self.sizes[id(t)] = size
        return size


# BTF kinds as plain ints, to dispatch on ``Type.kind`` in the hot loops.
_K_VOID = int(Kind.UNKN)
_K_INT = int(Kind.INT)
_K_PTR = int(Kind.PTR)
_K_ARRAY = int(Kind.ARRAY)
_K_STRUCT = int(Kind.STRUCT)
_K_UNION = int(Kind.UNION)
_K_ENUM = int(Kind.ENUM)
_K_FWD = int(Kind.FWD)
_K_TYPEDEF = int(Kind.TYPEDEF)
_K_VOLATILE = int(Kind.VOLATILE)
_K_CONST = int(Kind.CONST)
_K_RESTRICT = int(Kind.RESTRICT)
_K_FUNC_PROTO = int(Kind.FUNC_PROTO)
_K_FLOAT = int(Kind.FLOAT)
_K_TYPE_TAG = int(Kind.TYPE_TAG)
_K_ENUM64 = int(Kind.ENUM64)
# Kinds whose ``type`` the emit walk goes through: qualifiers, type tags, arrays.
_K_FOLLOW_TYPE = frozenset({_K_CONST, _K_VOLATILE, _K_RESTRICT, _K_TYPE_TAG, _K_ARRAY})

# How far the emit walk looks down a chain of pointers, qualifiers and arrays
# for a type written already (a longer chain is walked).
_SHORTCUT_STEPS = 8

# Kind codes for the walk's dispatch: a dict lookup by class beats a chain of isinstance.
_PTR, _COMPOSITE, _QUALIFIER, _TYPEDEF, _PROTO, _ARRAY, _ENUM_OR_FWD, _BASE, _OTHER = range(1, 10)
_CODES: dict[type, int] = {}


def _code(cls: type) -> int:
    for base, code in (
        (Pointer, _PTR),
        (Composite, _COMPOSITE),
        (Qualifier, _QUALIFIER),
        (Typedef, _TYPEDEF),
        (FuncProto, _PROTO),
        (Array, _ARRAY),
        (Enum, _ENUM_OR_FWD),
        (Fwd, _ENUM_OR_FWD),
        (Int, _BASE),
        (Float, _BASE),
        (Void, _BASE),
    ):
        if issubclass(cls, base):
            _CODES[cls] = code
            return code
    _CODES[cls] = _OTHER
    return _OTHER


_Call = TypeVar("_Call")
_Result = TypeVar("_Result")
#: One step of a walk over the type graph: it yields the calls it needs made
#: and is sent their results, so that the walk's depth costs no Python stack.
_Walk = Generator[_Call, _Result, _Result]


class _Ready(NamedTuple, Generic[_Result]):
    """A call's result known without walking."""

    value: _Result


_ORDERED = _Ready(True)
_EMITTED = _Ready(None)
# Below this depth a walk does not look for cycles: a cycle nothing ends
# deepens the walk forever, so it is still caught, at a cost only on deep input.
_GUARD_DEPTH = 256

#: What a walk's ``step`` makes of a call: a walk and its cycle key, or the result.
_Step = tuple[_Walk[_Call, _Result], Hashable | None] | _Ready[_Result]


def _walk(
    root: _Walk[_Call, _Result],
    step: Callable[[_Call], _Step[_Call, _Result]],
) -> _Result:
    """Run ``root`` and every call it yields, depth first, on an explicit stack.

    ``step`` makes the walk of one call and a key for it (None: no check),
    or its result when no walk is needed. Past ``_GUARD_DEPTH``, a call whose
    key is already on the stack is a walk around a cycle that nothing ends,
    and raises BTFError.
    """
    stack: list[tuple[_Walk[_Call, _Result], Hashable | None]] = [(root, None)]
    active: set[Hashable] = set()
    result: _Result | None = None
    while True:
        walk, key = stack[-1]
        try:
            call = walk.send(result)  # type: ignore[arg-type]
        except StopIteration as done:
            stack.pop()
            if key is not None:
                active.discard(key)
            result = done.value
            if not stack:
                return result
            continue
        made = step(call)
        if isinstance(made, _Ready):
            result = made.value
            continue
        inner, inner_key = made
        if inner_key is not None and len(stack) < _GUARD_DEPTH:
            inner_key = None
        if inner_key is not None:
            if inner_key in active:
                what = call[0] if isinstance(call, tuple) else call
                raise BTFError(f"unsatisfiable type cycle at {what!r}: no struct or union ends it")
            active.add(inner_key)
        stack.append((inner, inner_key))
        result = None


def _indent(lvl: int) -> str:
    return "\t" * lvl


def _roundup(x: int, y: int) -> int:
    return (x + y - 1) // y * y


def _drop_mods(stack: list[Type]) -> None:
    while stack and isinstance(stack[-1], Qualifier):
        stack.pop()


def _referenced_by(t: Type) -> Iterable[Type]:
    """The types libbpf counts as referenced by ``t`` (a prototype's return type is not)."""
    if isinstance(t, Pointer):
        return (t.target,)
    if isinstance(t, Qualifier | Typedef | Func | Var | DeclTag):
        return (t.type,)
    if isinstance(t, Array):
        return (t.index, t.type)
    if isinstance(t, Composite):
        return [m.type for m in t.members]
    if isinstance(t, FuncProto):
        return [p.type for p in t.params]
    if isinstance(t, Datasec):
        return [v.type for v in t.vars]
    return ()


def _reachable(roots: list[Type]) -> list[Type]:
    """``roots`` and every type they refer to, each once."""
    seen: set[int] = set()
    out: list[Type] = []
    todo = list(roots)
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        todo.extend(t.references())
    return out
