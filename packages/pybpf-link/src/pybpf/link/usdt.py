"""USDT probes without a kernel: the notes, their argument specs, libbpf's spec record.

A USDT probe (``DTRACE_PROBE``, systemtap's ``sys/sdt.h``) leaves one
``stapsdt`` note per call site in ``.note.stapsdt``: the site's address, the
address of ``.stapsdt.base`` at link time (to undo prelinking), the
semaphore's address, and a string saying where each argument lives at that
instruction (``-4@%edi 8@-16(%rbp) 4@$5``). A BPF program built with
libbpf's ``usdt.bpf.h`` reads its arguments through a ``struct
__bpf_usdt_spec`` that the loader stores in the ``__bpf_usdt_specs`` map;
this module computes everything that goes into it, the way libbpf's
``usdt.c`` does (``collect_usdt_targets``, ``parse_usdt_spec``).

>>> from pybpf.link import Executable
>>> entry = Executable("/usr/bin/python3").usdt_probe_sites("python", "function__entry")[0]
>>> entry.semaphore_offset > 0
True
>>> [a.size for a in entry.args]
[8, 8, 4]
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pybpf.asm.records import record
from pybpf.link.errors import USDTArgumentError

# The ELF reader and the BTF codecs are imported by the calls that use them:
# parsing an argument spec needs neither, and only an object's own
# struct __bpf_usdt_spec needs the codecs.
if TYPE_CHECKING:
    from enum import IntEnum

    from pybpf.asm import ByteOrder
    from pybpf.btf import Spec as BTFSpec
    from pybpf.btf import Struct
    from pybpf.elf.binary import Binary
else:
    from pybpf.asm.runtime_typing import IntEnum

__all__ = [
    "EM_X86_64",
    "USDT_MAX_ARGS",
    "X86_64_PT_REGS",
    "USDTArgKind",
    "USDTArgument",
    "USDTProbe",
    "encode_usdt_spec",
    "parse_usdt_args",
    "read_usdt_probes",
]

EM_X86_64 = 62

USDT_MAX_ARGS = 12
"""``BPF_USDT_MAX_ARG_CNT`` of ``usdt.bpf.h`` (the object's BTF says it too)."""

_NOTE_SECTION = ".note.stapsdt"
_BASE_SECTION = ".stapsdt.base"
_NOTE_OWNER = "stapsdt"
_NOTE_TYPE = 3

# Where each register sits in x86-64's struct pt_regs (UAPI asm/ptrace.h: 21
# 8-byte slots, r15 first), under every name an argument spec may use for it.
_X86_64_SLOTS = {
    ("r15", "r15d", "r15w", "r15b"): 0,
    ("r14", "r14d", "r14w", "r14b"): 8,
    ("r13", "r13d", "r13w", "r13b"): 16,
    ("r12", "r12d", "r12w", "r12b"): 24,
    ("rbp", "ebp", "bp", "bpl"): 32,
    ("rbx", "ebx", "bx", "bl"): 40,
    ("r11", "r11d", "r11w", "r11b"): 48,
    ("r10", "r10d", "r10w", "r10b"): 56,
    ("r9", "r9d", "r9w", "r9b"): 64,
    ("r8", "r8d", "r8w", "r8b"): 72,
    ("rax", "eax", "ax", "al"): 80,
    ("rcx", "ecx", "cx", "cl"): 88,
    ("rdx", "edx", "dx", "dl"): 96,
    ("rsi", "esi", "si", "sil"): 104,
    ("rdi", "edi", "di", "dil"): 112,
    ("rip", "eip"): 128,
    ("rsp", "esp", "sp", "spl"): 152,
}
X86_64_PT_REGS: dict[str, int] = {
    name: offset for names, offset in _X86_64_SLOTS.items() for name in names
}
"""Register name (any width: ``rax``, ``eax``, ``al``) to its offset in ``struct pt_regs``."""

# libbpf reads each argument with sscanf; these are the same formats, tried
# in the same order. Whitespace is allowed wherever a format has a space, a
# register name is at most 15 characters, numbers are decimal. (A SIB base
# register stops at ")" too, where sscanf's would run on into the next
# argument and fail on the register name.)
_NUM = r"([+-]?\d+)"
_SIB = re.compile(
    rf"\s*{_NUM}\s*@\s*(?:{_NUM})?\s*\(\s*%([^,)]{{1,15}})\s*,\s*%([^,)]{{1,15}})"
    rf"\s*(?:,\s*{_NUM}\s*)?\)\s*"
)
_DEREF = re.compile(rf"\s*{_NUM}\s*@\s*{_NUM}\s*\(\s*%([^)]{{1,15}})\s*\)\s*")
_DEREF0 = re.compile(rf"\s*{_NUM}\s*@\s*\(\s*%([^)]{{1,15}})\s*\)\s*")
_REG = re.compile(rf"\s*{_NUM}\s*@\s*%(\S{{1,15}})\s*")
_CONST = re.compile(rf"\s*{_NUM}\s*@\s*\$\s*{_NUM}\s*")

_U64 = (1 << 64) - 1


class USDTArgKind(IntEnum):
    """Where an argument lives: ``enum __bpf_usdt_arg_type`` of ``usdt.bpf.h``."""

    CONST = 0
    """A constant, held in ``value_offset`` (``4@$5``)."""
    REG = 1
    """A register's value (``-4@%edi``)."""
    REG_DEREF = 2
    """Memory at a register plus ``value_offset`` (``8@-16(%rbp)``)."""
    SIB = 3
    """Memory at base + index << scale + offset (``1@-96(%rbp,%rax,8)``); libbpf 1.7+."""


@record(frozen=True, slots=True)
class USDTArgument:
    """One argument of a probe site, as ``struct __bpf_usdt_arg_spec`` records it."""

    kind: USDTArgKind
    value_offset: int
    """The constant (``CONST``) or the displacement (``REG_DEREF``); 0 for ``REG``."""
    register: str | None
    """The register as the spec names it (``edi``), None for constants."""
    register_offset: int
    """The register's offset in ``struct pt_regs`` (0 for constants)."""
    size: int
    """1, 2, 4 or 8 bytes."""
    signed: bool
    bitshift: int
    """``64 - 8 * size``: how far ``usdt.bpf.h`` shifts to drop the bytes above ``size``."""
    index_register: str | None = None
    """``SIB`` only: the index register as the spec names it."""
    index_register_offset: int = 0
    """``SIB`` only: the index register's offset in ``struct pt_regs``."""
    scale_bitshift: int = 0
    """``SIB`` only: log2 of the scale (1, 2, 4 or 8)."""


@record(frozen=True, slots=True)
class USDTProbe:
    """One call site of a USDT probe, located in the file."""

    provider: str
    name: str
    address: int
    """The site's virtual address, corrected for prelinking (libbpf's ``abs_ip``)."""
    offset: int
    """The site's file offset: where the uprobe goes (libbpf's ``rel_ip``)."""
    semaphore_address: int
    """The semaphore's virtual address; 0 when the probe has none."""
    semaphore_offset: int
    """The semaphore's file offset: the uprobe's ``ref_ctr_offset``; 0 when none."""
    arg_spec: str
    """The arguments as the note spells them (``8@%r14 8@%rax -4@%ebp``)."""
    machine: int = EM_X86_64
    """``e_machine`` of the file, which decides the register names."""

    @property
    def args(self) -> tuple[USDTArgument, ...]:
        """The parsed arguments; :class:`~pybpf.link.USDTArgumentError` if unsupported."""
        return parse_usdt_args(self.arg_spec, machine=self.machine)


def parse_usdt_args(
    spec: str, *, machine: int = EM_X86_64, max_args: int = USDT_MAX_ARGS
) -> tuple[USDTArgument, ...]:
    """The arguments of a note's spec string, parsed as libbpf's ``parse_usdt_spec``.

    Only x86-64's register names are known so far. A spec that libbpf cannot
    express raises :class:`~pybpf.link.USDTArgumentError` naming the argument.

    >>> [(a.kind.name, a.register_offset, a.value_offset, a.size, a.signed)
    ...  for a in parse_usdt_args("-4@%edi 8@-16(%rbp) 4@$5")]
    [('REG', 112, 0, 4, True), ('REG_DEREF', 32, -16, 8, False), ('CONST', 0, 5, 4, False)]
    """
    if machine != EM_X86_64:
        raise USDTArgumentError(f"argument specs of machine {machine} are not supported", spec=spec)
    args: list[USDTArgument] = []
    pos = 0
    while pos < len(spec):
        index = len(args)
        if index >= max_args:
            raise USDTArgumentError(f"more than {max_args} arguments", spec=spec)
        arg, pos = _parse_x86_64_arg(spec, pos, index)
        args.append(arg)
    return tuple(args)


def _parse_x86_64_arg(spec: str, pos: int, index: int) -> tuple[USDTArgument, int]:
    register: str | None
    if m := _SIB.match(spec, pos):
        return _sib_arg(spec, m, index), m.end()
    if m := _DEREF.match(spec, pos):
        size, value, register = int(m[1]), int(m[2]), m[3]
        kind = USDTArgKind.REG_DEREF
    elif m := _DEREF0.match(spec, pos):
        size, value, register = int(m[1]), 0, m[2]
        kind = USDTArgKind.REG_DEREF
    elif m := _REG.match(spec, pos):
        size, value, register = int(m[1]), 0, m[2]
        kind = USDTArgKind.REG
    elif m := _CONST.match(spec, pos):
        size, value, register = int(m[1]), int(m[2]), None
        kind = USDTArgKind.CONST
    else:
        raise USDTArgumentError(f"unrecognized argument {spec[pos:]!r}", spec=spec, index=index)
    reg_off = 0 if register is None else _register_offset(spec, register, index)
    width = _width(spec, size, index)
    arg = USDTArgument(kind, value, register, reg_off, width, size < 0, 64 - width * 8)
    return arg, m.end()


def _width(spec: str, size: int, index: int) -> int:
    width = abs(size)
    if width not in (1, 2, 4, 8):
        raise USDTArgumentError(f"unsupported size {size}", spec=spec, index=index)
    return width


def _register_offset(spec: str, name: str, index: int) -> int:
    found = X86_64_PT_REGS.get(name)
    if found is None:
        raise USDTArgumentError(f"unknown register {name!r}", spec=spec, index=index)
    return found


def _sib_arg(spec: str, m: re.Match[str], index: int) -> USDTArgument:
    size = int(m[1])
    scale = int(m[5]) if m[5] is not None else 1
    if scale not in _SCALE_BITSHIFT:
        raise USDTArgumentError(f"scale {scale} is not 1, 2, 4 or 8", spec=spec, index=index)
    width = _width(spec, size, index)
    return USDTArgument(
        USDTArgKind.SIB,
        int(m[2]) if m[2] is not None else 0,
        m[3],
        _register_offset(spec, m[3], index),
        width,
        size < 0,
        64 - width * 8,
        m[4],
        _register_offset(spec, m[4], index),
        _SCALE_BITSHIFT[scale],
    )


_SCALE_BITSHIFT = {1: 0, 2: 1, 4: 2, 8: 3}


def read_usdt_probes(
    binary: Binary, provider: str | None = None, name: str | None = None
) -> list[USDTProbe]:
    """The USDT call sites of ``binary``, as libbpf's ``collect_usdt_targets`` finds them.

    The note's address is corrected by the distance between ``.stapsdt.base``
    now and when the note was written, then turned into a file offset through
    the executable ``PT_LOAD`` segment holding it; the semaphore likewise,
    through a non-executable one. A file without ``.note.stapsdt`` has no
    probes; a malformed note raises :class:`~pybpf.elf.ELFError`. Given
    ``provider`` and ``name``, only that probe's sites are placed, so that
    (as in libbpf) an unplaceable site of another probe does not stand in
    the way.
    """
    from pybpf.elf import ELFError  # noqa: PLC0415
    from pybpf.elf.binary import ET_DYN, ET_EXEC  # noqa: PLC0415

    notes = binary.section(_NOTE_SECTION)
    if notes is None:
        return []
    if binary.type not in (ET_EXEC, ET_DYN):
        raise ELFError(f"ELF type {binary.type} is neither an executable nor a shared object")
    base = binary.section(_BASE_SECTION)
    base_addr = base.addr if base is not None else 0
    addrs = struct.Struct(("<" if binary.byte_order == "little" else ">") + "QQQ")
    probes = []
    for note in binary.notes(notes):
        if note.name != _NOTE_OWNER or note.type != _NOTE_TYPE:
            raise ELFError(
                f"note {note.name!r} of type {note.type} is not a stapsdt probe",
                section=_NOTE_SECTION,
                offset=note.offset,
            )
        desc = note.desc
        # Three addresses, then three NUL-terminated strings (+3 at the least).
        if len(desc) < addrs.size + 3:
            raise ELFError("probe note too short", section=_NOTE_SECTION, offset=note.offset)
        loc, note_base, sema = addrs.unpack_from(desc)
        texts = desc[addrs.size :].split(b"\0", 2)
        if len(texts) < 3 or not texts[1]:
            raise ELFError(
                "probe note without provider, name and arguments",
                section=_NOTE_SECTION,
                offset=note.offset,
            )
        try:
            site_provider, site_name = texts[0].decode(), texts[1].decode()
            args = texts[2].split(b"\0", 1)[0].decode()
        except UnicodeDecodeError as e:
            raise ELFError(
                "probe note strings are not UTF-8", section=_NOTE_SECTION, offset=note.offset
            ) from e
        if args.startswith(":"):
            args = ""
        if name is not None and (site_provider, site_name) != (provider, name):
            continue
        where = f"USDT probe {site_provider}:{site_name}"
        address = loc
        if base_addr:
            address = (loc + base_addr - note_base) & _U64
        seg = binary.segment_at(address)
        if seg is None or not seg.executable:
            why = "no loadable segment holds" if seg is None else "a non-executable segment holds"
            raise ELFError(f"{why} its address {address:#x}", symbol=where)
        offset = address - seg.vaddr + seg.offset
        sema_offset = 0
        if sema:
            sseg = binary.segment_at(sema)
            if sseg is None or sseg.executable:
                why = "no loadable segment holds" if sseg is None else "an executable segment holds"
                raise ELFError(f"{why} its semaphore {sema:#x}", symbol=where)
            sema_offset = sema - sseg.vaddr + sseg.offset
        probes.append(
            USDTProbe(
                site_provider, site_name, address, offset, sema, sema_offset, args, binary.machine
            )
        )
    return probes


def encode_usdt_spec(
    args: Sequence[USDTArgument],
    cookie: int = 0,
    *,
    types: BTFSpec | None = None,
    byte_order: ByteOrder = "little",
) -> bytes:
    """The ``struct __bpf_usdt_spec`` value for one site: its arguments and the user's cookie.

    With ``types`` (the BPF object's BTF, ``CollectionSpec.types``), the
    layout is that object's own ``struct __bpf_usdt_spec``, so it always
    matches the ``usdt.bpf.h`` the program was compiled with; without, it is
    the layout every libbpf since 1.0 reads (208 bytes; 1.7 keeps it for all
    but scale-index-base arguments).

    >>> spec = encode_usdt_spec(parse_usdt_args("-4@%edi"), cookie=7)
    >>> len(spec), spec[8:16].hex(), spec[192:202].hex()
    (208, '0100000070000120', '07000000000000000100')
    """
    if types is not None:
        from pybpf.btf import Struct, TypeNotFoundError  # noqa: PLC0415

        try:
            t = types.type_by_name("__bpf_usdt_spec", Struct)
        except TypeNotFoundError:
            t = None
        if isinstance(t, Struct):
            return _encode_btf(t, args, cookie, byte_order)
    return _encode_builtin(args, cookie, byte_order)


_ARG_LAYOUT = struct.Struct("QIhbb")  # val_off, arg_type, reg_off, arg_signed, arg_bitshift
_BUILTIN_SIZE = USDT_MAX_ARGS * _ARG_LAYOUT.size + 16


def _encode_builtin(args: Sequence[USDTArgument], cookie: int, byte_order: str) -> bytes:
    if len(args) > USDT_MAX_ARGS:
        raise USDTArgumentError(f"{len(args)} arguments, at most {USDT_MAX_ARGS}")
    if any(a.kind == USDTArgKind.SIB for a in args):
        raise _sib_unsupported()
    end = "<" if byte_order == "little" else ">"
    arg = struct.Struct(end + _ARG_LAYOUT.format)
    buf = bytearray(_BUILTIN_SIZE)
    for i, a in enumerate(args):
        arg.pack_into(
            buf,
            i * arg.size,
            a.value_offset & _U64,
            a.kind,
            a.register_offset,
            a.signed,
            a.bitshift,
        )
    struct.pack_into(end + "Qh", buf, USDT_MAX_ARGS * arg.size, cookie & _U64, len(args))
    return bytes(buf)


def _encode_btf(t: Struct, args: Sequence[USDTArgument], cookie: int, byte_order: str) -> bytes:
    from pybpf.btf import Array, Struct, codec_for  # noqa: PLC0415
    from pybpf.btf.codec import resolve  # noqa: PLC0415

    members = {m.name: resolve(m.type) for m in t.members}
    array = members.get("args")
    element = resolve(array.type) if isinstance(array, Array) else None
    if (
        not isinstance(array, Array)
        or not isinstance(element, Struct)
        or not {"usdt_cookie", "arg_cnt"} <= members.keys()
    ):
        raise USDTArgumentError("struct __bpf_usdt_spec of the object: unknown layout")
    if len(args) > array.nelems:
        raise USDTArgumentError(f"{len(args)} arguments, at most {array.nelems}")
    names = {m.name for m in element.members}
    needed = {"val_off", "arg_type", "reg_off", "arg_signed", "arg_bitshift"}
    if not needed <= names:
        missing = ", ".join(sorted(needed - names))
        raise USDTArgumentError(f"struct __bpf_usdt_arg_spec lacks {missing}")
    sib = {"idx_reg_off", "scale_bitshift"} <= names
    if not sib and any(a.kind == USDTArgKind.SIB for a in args):
        raise _sib_unsupported()
    records = []
    for a in args:
        record = {
            "val_off": a.value_offset & _U64,
            "arg_type": int(a.kind),
            "reg_off": a.register_offset,
            "arg_signed": a.signed,
            "arg_bitshift": a.bitshift,
        }
        if sib:
            record["idx_reg_off"] = a.index_register_offset
            record["scale_bitshift"] = a.scale_bitshift
        records.append(record)
    value = {
        "args": records,
        "usdt_cookie": cookie & _U64,
        "arg_cnt": len(args),
    }
    encoded: bytes = codec_for(t, byte_order).encode(value)
    return encoded


def _sib_unsupported() -> USDTArgumentError:
    return USDTArgumentError(
        "a scale-index-base argument needs the struct __bpf_usdt_arg_spec of libbpf 1.7's "
        "usdt.bpf.h (idx_reg_off, scale_bitshift), which this object was not built with",
    )
