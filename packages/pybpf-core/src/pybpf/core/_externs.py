"""Kernel symbols (``__ksym``) and kfuncs, resolved in a program's instructions.

As libbpf's ``bpf_object__resolve_externs`` and ``bpf_object__relocate_data``:
a typed ksym becomes ``LD_IMM64 src=BTF_ID`` with the id of its VAR in vmlinux
BTF (the second immediate is a module BTF fd; vmlinux needs 0); an untyped one
becomes a plain 64-bit constant, its address from ``/proc/kallsyms``; a weak
one the kernel lacks becomes 0. A kfunc call gets the id of its FUNC.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import MutableSequence

from pybpf.asm import Instruction
from pybpf.asm.opcodes import PseudoSource
from pybpf.btf import Func, Spec, TypeNotFoundError, Var, Void, skip_qualifiers
from pybpf.core.errors import BPFError
from pybpf.elf.spec import Extern, ExternKind

KALLSYMS = "/proc/kallsyms"


@functools.cache
def kallsyms() -> dict[str, int]:
    """Addresses of the kernel's symbols (the first one of each name)."""
    out: dict[str, int] = {}
    with open(KALLSYMS, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] not in out:
                out[parts[2]] = int(parts[0], 16)
    return out


def _missing(program: str, ext: Extern, where: str) -> BPFError:
    return BPFError(
        errno.ENOENT,
        f"program {program!r}: extern {ext.kind.value} {ext.name!r}",
        reason=f"not found in {where}",
    )


def _typed_id(kernel: Spec, name: str, kind: type[Var] | type[Func]) -> int | None:
    try:
        return kernel.type_id(kernel.type_by_name(name, kind))
    except TypeNotFoundError:
        return None


def resolve(program: str, insns: MutableSequence[Instruction], kernel: Spec | None) -> None:
    """Resolve every ksym and kfunc extern of ``insns`` in place."""
    for insn in insns:
        names = insn._names
        if names is None or not names.metadata:
            continue
        ext = names.metadata.get(Extern)
        if not isinstance(ext, Extern) or ext.kind == ExternKind.KCONFIG:
            continue
        if ext.kind == ExternKind.KFUNC:
            btf_id = _typed_id(_need(kernel, program, ext), ext.name, Func)
            if btf_id is None and not ext.weak:
                raise _missing(program, ext, "the kernel's BTF")
            insn.constant = btf_id or 0
            insn.offset = 0
            continue
        typed = ext.type is not None and not isinstance(skip_qualifiers(ext.type), Void)
        if typed:
            btf_id = _typed_id(_need(kernel, program, ext), ext.name, Var)
            if btf_id is not None:
                insn.src = PseudoSource.BTF_ID
                insn.constant = btf_id
                continue
            if not ext.weak:
                raise _missing(program, ext, "the kernel's BTF")
            insn.src = PseudoSource.IMM
            insn.constant = 0
            continue
        addr = kallsyms().get(ext.name)
        if addr is None and not ext.weak:
            raise _missing(program, ext, KALLSYMS)
        insn.src = PseudoSource.IMM
        insn.constant = addr or 0


def _need(kernel: Spec | None, program: str, ext: Extern) -> Spec:
    if kernel is None:
        raise BPFError(
            errno.ENOENT,
            f"program {program!r}: extern {ext.kind.value} {ext.name!r}",
            reason="needs the kernel's BTF, which this kernel does not provide",
        )
    return kernel
