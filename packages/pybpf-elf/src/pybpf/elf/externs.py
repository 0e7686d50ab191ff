"""``extern`` symbols: ``__kconfig`` values, ``__ksym`` variables and kfuncs.

As libbpf (``bpf_object__collect_externs``): an extern is an undefined,
untyped, global or weak ELF symbol; BTF says what it is through the DATASEC
that lists it: ``.kconfig`` (a config value, given a place in the virtual
``.kconfig`` map, laid out by decreasing alignment, then increasing size, then
name) or ``.ksyms`` (a kernel variable, typed or ``void``, or a kernel
function). Resolving them against the running kernel is the loader's job; the
spec records what each instruction uses, as ``insn.metadata[Extern]``.
"""

from __future__ import annotations

from operator import attrgetter

from pybpf.asm import Instruction
from pybpf.asm.opcodes import PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL, PSEUDO_MAP_VALUE, PSEUDO_NONE
from pybpf.btf import (
    Array,
    BTFError,
    Datasec,
    Enum,
    Func,
    Int,
    IntEncoding,
    Linkage,
    Type,
    TypeNotFoundError,
    Var,
    Void,
    skip_qualifiers,
    underlying,
)
from pybpf.elf._btf import BTFInfo
from pybpf.elf._elffile import SHN_UNDEF, STB_GLOBAL, STB_WEAK, STT_NOTYPE, ElfFile, Symbol
from pybpf.elf._uapi import MapType
from pybpf.elf.datasecs import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG
from pybpf.elf.errors import ELFError, Where
from pybpf.elf.spec import Extern, ExternKind, MapSpec, VariableSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.asm import ByteOrder

__all__ = ["Externs", "collect"]

KCONFIG = ".kconfig"
KSYMS = ".ksyms"


class _Kconfig:
    """A ``.kconfig`` extern, its size and alignment, and its offset once laid out."""

    __slots__ = ("align", "extern", "offset", "size")

    def __init__(self, extern: Extern, size: int, align: int) -> None:
        self.extern = extern
        self.size = size
        self.align = align
        self.offset = 0


class Externs:
    """The object's externs by name, and the layout of the ``.kconfig`` map."""

    def __init__(self, btf: BTFInfo) -> None:
        self.btf = btf
        self.by_name: dict[str, Extern] = {}
        self.kconfig: dict[str, _Kconfig] = {}
        self.kconfig_size = 0

    def kconfig_map(self) -> MapSpec | None:
        """The virtual ``.kconfig`` map, when the object has kconfig externs."""
        if not self.kconfig:
            return None
        return MapSpec(
            name=KCONFIG,
            type=MapType.ARRAY,
            key_size=4,
            value_size=self.kconfig_size,
            max_entries=1,
            flags=BPF_F_MMAPABLE | BPF_F_RDONLY_PROG,
            contents=[(bytes(4), bytes(self.kconfig_size))],
            value_type=self.btf.datasec(KCONFIG),
            section=KCONFIG,
            readonly=True,
        )

    def kconfig_variables(self, m: MapSpec, byte_order: ByteOrder) -> list[VariableSpec]:
        """One variable per kconfig extern, at its place in the map."""
        return [
            VariableSpec(k.extern.name, KCONFIG, k.offset, k.size, k.extern.type, m, byte_order)
            for k in self.kconfig.values()
        ]

    def relocate(self, insn: Instruction, sym: Symbol, where: Where) -> None:
        """Point an instruction at the extern ``sym`` names."""
        ext = self.by_name.get(sym.name)
        if ext is None:
            raise where.error("reference to an undefined symbol that is no extern")
        insn.reference = ext.name
        insn.metadata[Extern] = ext
        if ext.kind is ExternKind.KCONFIG:
            if not insn.is_ld_imm64:
                raise where.error("kconfig extern used by a call")
            insn.src = PSEUDO_MAP_VALUE
            insn.constant = self.kconfig[ext.name].offset << 32
            insn.reference = KCONFIG
        elif ext.kind is ExternKind.KFUNC:
            if insn.is_call:
                insn.src = PSEUDO_KFUNC_CALL
                insn.constant = -1
            else:
                insn.src = PSEUDO_BTF_ID
                insn.constant = 0
        else:
            if insn.is_call:
                raise where.error("kernel variable used by a call")
            typed = ext.type is not None and not isinstance(skip_qualifiers(ext.type), Void)
            insn.src = PSEUDO_BTF_ID if typed else PSEUDO_NONE
            insn.constant = 0


def _is_extern(sym: Symbol) -> bool:
    return (
        sym.shndx == SHN_UNDEF
        and sym.bind in (STB_GLOBAL, STB_WEAK)
        and sym.type == STT_NOTYPE
        and bool(sym.name)
    )


def collect(elf: ElfFile, btf: BTFInfo) -> Externs:
    """Every extern of the object, classified through BTF."""
    out = Externs(btf)
    wanted = [s for s in elf.symbols_by_section.get(SHN_UNDEF, ()) if _is_extern(s)]
    if not wanted:
        return out
    sections: dict[int, str] = {}
    for name in (KCONFIG, KSYMS):
        ds = btf.datasec(name)
        if ds is None:
            continue
        for vsi in ds.vars:
            sections[id(vsi.type)] = name
    kconfig: list[_Kconfig] = []
    for sym in wanted:
        t = _extern_type(btf, sym)
        sec = sections.get(id(t)) if t is not None else None
        if t is None or sec is None:
            raise ELFError("extern is not in the .kconfig or .ksyms DATASEC", symbol=sym.name)
        weak = sym.bind == STB_WEAK
        if sec == KCONFIG:
            assert isinstance(t, Var)
            size, align = _kconfig_layout(t.type, sym.name)
            ext = Extern(sym.name, ExternKind.KCONFIG, t.type, weak)
            kconfig.append(_Kconfig(ext, size, align))
        elif isinstance(t, Func):
            ext = Extern(sym.name, ExternKind.KFUNC, t, weak)
        else:
            assert isinstance(t, Var)
            ext = Extern(sym.name, ExternKind.KSYM, t.type, weak)
        out.by_name[sym.name] = ext
    kconfig.sort(key=lambda k: (-k.align, k.size, k.extern.name))
    offset = 0
    for k in kconfig:
        offset = (offset + k.align - 1) // k.align * k.align
        k.offset = offset
        offset += k.size
        out.kconfig[k.extern.name] = k
    out.kconfig_size = offset
    ds = btf.datasec(KCONFIG)
    if ds is not None and kconfig:
        # libbpf lays the section out itself and writes the result back to BTF,
        # variables sorted by offset.
        ds.size = offset
        for vsi in ds.vars:
            k2 = out.kconfig.get(vsi.type.name)
            if k2 is not None:
                vsi.offset = k2.offset
                vsi.size = k2.size
        ds.vars.sort(key=attrgetter("offset"))
    return out


def _extern_type(btf: BTFInfo, sym: Symbol) -> Type | None:
    """The BTF VAR or FUNC of an extern (libbpf's ``find_extern_btf_id``)."""
    try:
        candidates = btf.spec.types_by_name(sym.name)
    except TypeNotFoundError:
        return None
    except BTFError as e:
        raise ELFError(f"bad BTF: {e}", section=".BTF", symbol=sym.name) from e
    for t in candidates:
        if isinstance(t, Var | Func) and t.linkage == Linkage.EXTERN:
            return t
    return None


def _kconfig_layout(t: Type, name: str) -> tuple[int, int]:
    """Size and alignment of a kconfig value (libbpf's ``find_kcfg_type``)."""
    u = underlying(t)
    if isinstance(u, Int):
        if u.encoding & IntEncoding.BOOL and u.size == 1:
            return 1, 1
        if u.size in (1, 2, 4, 8) and u.bits == u.size * 8 and u.offset == 0:
            return u.size, u.size
    elif isinstance(u, Enum) and not isinstance(u, Datasec):
        if u.name == "libbpf_tristate" and u.size == 4:
            return 4, 4
    elif isinstance(u, Array):
        elem = underlying(u.type)
        if isinstance(elem, Int) and elem.size == 1 and u.nelems:
            return u.nelems, 1
    raise ELFError(f"unsupported kconfig type {u!r}", section=KCONFIG, symbol=name)
