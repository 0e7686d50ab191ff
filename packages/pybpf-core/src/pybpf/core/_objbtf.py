"""An object's BTF, loaded into the kernel once for its maps and programs.

Programs need it for func and line info, some maps for their key and value
types. Line info names its file and source line by offsets into the loaded
string table, so every program's strings are added before the one load.
Like libbpf, a kernel that rejects the BTF gets none: objects load without
func/line info and maps without BTF types.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from pybpf.asm import Instruction
from pybpf.btf import (
    BTFError,
    Datasec,
    Func,
    FuncProto,
    Int,
    IntEncoding,
    LineInfo,
    Linkage,
    SanitizeOptions,
    Spec,
    Type,
    Var,
    VarSecinfo,
    Void,
    add_strings,
    collect_ext_infos,
    encode_func_infos,
    encode_line_infos,
    marshal,
)
from pybpf.core import _cmds
from pybpf.core.errors import BPFError
from pybpf.core.fd import FD


class ObjectBTF:
    """The loaded BTF of one object: its fd and where its strings landed."""

    def __init__(
        self, types: Spec, programs: Iterable[Iterable[Instruction]], sanitize: SanitizeOptions
    ) -> None:
        self.types = types
        self.fd: FD | None = None
        #: Why the kernel refused the BTF, if it did.
        self.error: BPFError | BTFError | None = None
        self._strings: dict[str, int] = {}
        # Without FUNC kinds (before 4.20) func and line info cannot refer to anything.
        self._ext_ok = sanitize.func
        strings: list[str] = []
        for insns in programs:
            for rec in collect_ext_infos(insns).line_infos:
                strings.append(rec.file)
                strings.append(rec.line)
        try:
            blob = marshal(_fixed_datasecs(types), byte_order=sys.byteorder, sanitize=sanitize)
            blob, self._strings = add_strings(blob, strings)
            self.fd = _cmds.btf_load(blob, "load the object's BTF")
        except (BPFError, BTFError) as exc:
            self.error = exc

    def type_id(self, t: Type) -> int:
        """The id of ``t`` in the loaded BTF."""
        return self.types.type_id(t)

    def ext_infos(self, insns: Iterable[Instruction]) -> tuple[bytes, bytes, list[LineInfo]]:
        """The ``func_info`` and ``line_info`` arrays of a program, and its line records."""
        infos = collect_ext_infos(insns)
        if self.fd is None or not self._ext_ok:
            return b"", b"", infos.line_infos
        func = encode_func_infos(infos.func_infos, self.type_id)
        lines = [r for r in infos.line_infos if r.file in self._strings and r.line in self._strings]
        line = encode_line_infos(lines, self._strings.__getitem__)
        return func, line, infos.line_infos

    def close(self) -> None:
        """Close the BTF fd (programs and maps keep their own reference)."""
        if self.fd is not None:
            self.fd.close()


def _needs_fixing(t: Type) -> bool:
    if isinstance(t, Datasec):
        offsets = [v.offset for v in t.vars]
        return (not t.size and bool(t.vars)) or t.name == ".ksyms" or offsets != sorted(offsets)
    return isinstance(t, Var | Func) and t.linkage == Linkage.EXTERN


def _fixed_datasecs(types: Spec) -> Spec:
    """``types`` as the kernel accepts it, as libbpf fixes an object's BTF before loading.

    clang leaves some DATASEC sizes 0 (``license``, ``.kconfig``) for the
    loader to fill; extern VARs become global ones; the ``.ksyms`` section's
    entries (kernel variables and kfuncs, which the kernel cannot take there)
    become ``int`` placeholders.
    Datasec entries are sorted by offset, as the kernel wants them.
    """
    if not any(_needs_fixing(t) for t in types.own_types()):
        return types
    fixed = types.copy()
    placeholder = Int("int", 4, encoding=IntEncoding.SIGNED)
    fixed.add(placeholder)
    for t in list(fixed.own_types()):
        if isinstance(t, Var) and t.linkage == Linkage.EXTERN:
            t.linkage = Linkage.GLOBAL
        elif isinstance(t, Func) and t.linkage == Linkage.EXTERN:
            t.linkage = Linkage.GLOBAL
            proto = t.type
            if isinstance(proto, FuncProto):
                # The kernel wants every argument of a FUNC named; kfunc
                # declarations may leave them anonymous.
                for i, param in enumerate(proto.params):
                    if not param.name and not isinstance(param.type, Void):
                        param.name = f"arg{i}"
        if not isinstance(t, Datasec):
            continue
        if t.name == ".ksyms":
            entries = []
            for i, v in enumerate(t.vars):
                var = v.type
                if not isinstance(var, Var):
                    var = Var(var.name or f"ksym{i}", placeholder, Linkage.GLOBAL)
                    fixed.add(var)
                var.type = placeholder
                entries.append(VarSecinfo(var, 4 * i, 4))
            t.vars = entries
            t.size = 4 * len(entries)
            continue
        t.vars = sorted(t.vars, key=lambda v: v.offset)
        if not t.size and t.vars:
            t.size = max(v.offset + v.size for v in t.vars)
    return fixed
