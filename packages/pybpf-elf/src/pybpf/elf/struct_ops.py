"""``SEC(".struct_ops")`` and ``SEC(".struct_ops.link")``: kernel structs of BPF programs.

As libbpf (``init_struct_ops_maps``, ``bpf_object__collect_st_ops_relos``):
each variable of the section's DATASEC is a ``struct_ops`` map named after it,
whose value is the variable's bytes and type the variable's struct; each
relocation of the section puts a ``struct_ops`` program into one of the
struct's function pointer members. ``.struct_ops.link`` maps get
``BPF_F_LINK``. As libbpf 1.4+, a ``?`` before either name (``?.struct_ops``)
makes optional maps: the loader creates them only when asked (``autocreate``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pybpf.btf import BTFError, FuncProto, Pointer, Struct, Var, underlying
from pybpf.elf._elffile import STT_FUNC, STT_SECTION, ElfFile, Relocation, Section
from pybpf.elf._uapi import MapType, ProgramType
from pybpf.elf.errors import ELFError, Where
from pybpf.elf.sections import STRUCT_OPS_LINK_SECTION, is_struct_ops_section, match_section
from pybpf.elf.spec import MapSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.elf._btf import BTFInfo
    from pybpf.elf.programs import Function

__all__ = ["BPF_F_LINK", "is_struct_ops_section", "read_struct_ops"]

#: ``BPF_F_LINK`` of ``include/uapi/linux/bpf.h`` (a #define, absent from BTF).
BPF_F_LINK = 1 << 13

_R_BPF_64_ABS64 = 2


def read_struct_ops(
    elf: ElfFile,
    section: Section,
    relocations: list[Relocation],
    btf: BTFInfo,
    functions: Mapping[str, Function],
) -> list[MapSpec]:
    """The struct_ops maps of one section, with their programs."""
    ds = btf.fixed_datasec(elf, section)
    if ds is None:
        raise ELFError("no DATASEC describes the section", section=section.name)
    data = elf.section_data(section)
    found: list[tuple[int, int, MapSpec, Struct]] = []
    for vsi in ds.vars:
        var = vsi.type
        if not isinstance(var, Var):
            raise ELFError(f"DATASEC entry {var!r} is not a variable", section=section.name)
        try:
            st = underlying(var.type)
        except BTFError as e:
            raise ELFError(f"bad BTF: {e}", section=section.name, symbol=var.name) from e
        if not isinstance(st, Struct):
            raise ELFError(
                f"struct_ops variable of type {st!r}, not a struct",
                section=section.name,
                symbol=var.name,
            )
        if st.size != vsi.size:
            raise ELFError(
                f"variable of {vsi.size} bytes holds a struct of {st.size}",
                section=section.name,
                symbol=var.name,
                offset=vsi.offset,
            )
        m = MapSpec(
            name=var.name,
            type=MapType.STRUCT_OPS,
            key_size=4,
            value_size=st.size,
            max_entries=1,
            flags=BPF_F_LINK if section.name.removeprefix("?") == STRUCT_OPS_LINK_SECTION else 0,
            contents=[(bytes(4), bytes(data[vsi.offset : vsi.offset + vsi.size]))],
            value_type=var.type,
            section=section.name,
            autocreate=not section.name.startswith("?"),
        )
        found.append((vsi.offset, vsi.size, m, st))
    for rel in relocations:
        sym = elf.symbol(rel.symbol, section=section.name, offset=rel.offset)
        where = Where(section.name, sym.name, rel.offset)
        if rel.type != _R_BPF_64_ABS64:
            raise where.error(f"relocation type {rel.type}")
        owner = next((f for f in found if f[0] <= rel.offset < f[0] + f[1]), None)
        if owner is None:
            raise where.error("relocation outside any struct_ops variable")
        start, _, m, st = owner
        bit = (rel.offset - start) * 8
        member = next((mb for mb in st.members if mb.offset == bit), None)
        if member is None:
            raise where.error("relocation of no member")
        ptr = underlying(member.type)
        if not isinstance(ptr, Pointer) or not isinstance(underlying(ptr.target), FuncProto):
            raise where.error(f"member {member.name!r} is no function pointer")
        if sym.type not in (STT_FUNC, STT_SECTION) or sym.value % 8:
            raise where.error("relocation against no function")
        func = next(
            (
                f
                for f in functions.values()
                if f.section.index == sym.shndx and f.slot == sym.value // 8
            ),
            None,
        )
        info = match_section(func.section.name) if func is not None else None
        if func is None or info is None or info.type != ProgramType.STRUCT_OPS:
            raise where.error(f"member {member.name!r} is not set to a struct_ops program")
        m.struct_ops_programs[member.name] = func.name
    return [m for _, _, m, _ in found]
