"""Kernel symbols (``__ksym``) and kfuncs, resolved in a program's instructions.

As libbpf's ``bpf_object__resolve_ksyms_btf_id`` and ``bpf_object__relocate_data``:

- a typed ksym is looked up as a VAR in vmlinux BTF, then in each module's
  own BTF (``find_ksym_btf_id``); its type must be compatible with the
  kernel VAR's (``bpf_core_types_are_compat``), weak or not. It becomes
  ``LD_IMM64 src=BTF_ID``: the VAR's id in the first immediate, the module
  BTF's fd in the second (0 for vmlinux). A weak one the kernel lacks is 0;
- an untyped one is a plain 64-bit constant, its address from ``/proc/kallsyms``;
  a weak one the kernel lacks is 0;
- a kfunc (its name without a ``___flavour`` suffix) is looked up as a FUNC
  the same way, and its local FUNC_PROTO must be compatible with the
  kernel's. A call gets the FUNC's id and, for a module, the index of the
  module BTF's fd in the program's ``fd_array`` (index 0 is reserved: it means
  vmlinux); an ``LD_IMM64`` of it (``bpf_ksym_exists``) gets the id and the
  module BTF's fd, like a typed ksym. A weak kfunc the kernel lacks, or whose
  prototype does not match, is poisoned as libbpf 1.2+ does: its calls become
  calls of the invalid helper ``2002000000 + n``, which the verifier accepts
  only as dead code (behind ``if (bpf_ksym_exists(f))``, whose load is 0).
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable, Iterable, MutableSequence

from pybpf.asm import Instruction
from pybpf.asm.opcodes import PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL, PSEUDO_NONE
from pybpf.btf import Func, FuncProto, Spec, Type, Var, Void, skip_qualifiers, underlying
from pybpf.core._closing import Closing
from pybpf.core._kernel_btf import ModuleBTF, ModuleBTFs
from pybpf.core.errors import BPFError, LimitError
from pybpf.elf.spec import Extern, ExternKind

KALLSYMS = "/proc/kallsyms"
#: libbpf's ``POISON_CALL_KFUNC_BASE``: an unresolved weak kfunc call becomes
#: a call of the helper with this id plus the extern's index.
KFUNC_POISON_BASE = 2002000000
#: ``insn->off`` is an s16: the largest ``fd_array`` index a call can name.
_MAX_FD_INDEX = 0x7FFF


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


class _Found:
    """Where a typed ksym or kfunc was found: its id, and the module (None: vmlinux)."""

    __slots__ = ("btf_id", "module")

    def __init__(self, btf_id: int, module: ModuleBTF | None) -> None:
        self.btf_id = btf_id
        self.module = module


class Resolver(Closing):
    """Resolves the ksyms and kfuncs of the programs of one load.

    As libbpf's object: each extern is looked up once, module BTF is opened
    only when vmlinux lacks a name (and closed with :meth:`close`), and the
    module BTF fds kfunc calls name are collected in one :attr:`fd_array`
    that every program of the load is given. ``modules``, when given, are
    the load's (shared with CO-RE and attach targets) and stay open: whoever
    opened them closes them.
    """

    def __init__(
        self,
        kernel: Spec | Callable[[], Spec | None] | None,
        modules: ModuleBTFs | None = None,
    ) -> None:
        # A function giving the kernel's BTF is called at the first extern
        # only: a load without externs does not read the kernel's BTF for them.
        self._kernel = kernel
        self._own_modules = modules is None
        self.modules = ModuleBTFs() if modules is None else modules
        #: The module BTF fds kfunc calls index; slot 0 is reserved.
        self.fd_array: list[int] = []
        self._slots: dict[int, int] = {}
        self._found: dict[tuple[str, ExternKind], _Found | None] = {}
        #: Poisoned kfunc call ids, to the name of the kfunc each stands for.
        self.poisoned: dict[int, str] = {}

    @property
    def kernel(self) -> Spec | None:
        """The kernel's BTF externs are looked up in (None: the kernel has none)."""
        kernel = self._kernel
        if kernel is not None and not isinstance(kernel, Spec):
            kernel = self._kernel = kernel()
        return kernel

    def close(self) -> None:
        """Close the module BTF fds it opened (loaded programs hold their own references)."""
        if self._own_modules:
            self.modules.close()

    def resolve(self, program: str, insns: MutableSequence[Instruction]) -> None:
        """Resolve every ksym and kfunc extern of ``insns`` in place."""
        for insn in insns:
            ext = insn.get_metadata(Extern)
            if not isinstance(ext, Extern) or ext.kind == ExternKind.KCONFIG:
                continue
            if ext.kind == ExternKind.KFUNC:
                self._kfunc(program, insn, ext)
            elif _typed(ext):
                self._typed_ksym(program, insn, ext)
            else:
                addr = kallsyms().get(ext.name)
                if addr is None and not ext.weak:
                    raise _missing(program, ext, KALLSYMS)
                insn.src = PSEUDO_NONE
                insn.constant = addr or 0

    def require(self, program: str, insns: Iterable[Instruction]) -> None:
        """Look up the strong ksyms and kfuncs of ``insns``; raise for one the kernel lacks.

        libbpf resolves every extern of an object before it loads a program
        (``bpf_object__resolve_externs``): one the kernel lacks, or of another
        type, fails the whole load, also where only a program left unloaded
        uses it. This changes no instruction.
        """
        for insn in insns:
            ext = insn.get_metadata(Extern)
            if not isinstance(ext, Extern) or ext.weak or ext.kind == ExternKind.KCONFIG:
                continue
            if ext.kind == ExternKind.KFUNC or _typed(ext):
                self._lookup(program, ext)
            elif ext.name not in kallsyms():
                raise _missing(program, ext, KALLSYMS)

    def _kfunc(self, program: str, insn: Instruction, ext: Extern) -> None:
        found = self._lookup(program, ext)
        if insn.is_call:
            if found is None:
                self._poison(insn, ext)
                return
            insn.src = PSEUDO_KFUNC_CALL
            insn.constant = found.btf_id
            insn.offset = self._fd_index(program, ext, found.module)
            return
        # An LD_IMM64 of the kfunc (bpf_ksym_exists): never an fd_array index.
        insn.offset = 0
        _load_btf_id(insn, found)

    def _typed_ksym(self, program: str, insn: Instruction, ext: Extern) -> None:
        _load_btf_id(insn, self._lookup(program, ext))

    def _lookup(self, program: str, ext: Extern) -> _Found | None:
        """The kernel's VAR or FUNC for ``ext``, checked; None for a weak one it lacks."""
        key = (ext.name, ext.kind)
        if key in self._found:
            return self._found[key]
        kernel = self.kernel
        if kernel is None:
            raise _unresolved(
                program, ext, "needs the kernel's BTF, which this kernel does not provide"
            )
        is_func = ext.kind == ExternKind.KFUNC
        kind: type[Func] | type[Var] = Func if is_func else Var
        if is_func:
            from pybpf.btf.corerelo import essential_name  # noqa: PLC0415 (kfuncs only)

            name = essential_name(ext.name)
        else:
            name = ext.name
        found = self._find(kernel, name, kind)
        if found is None:
            if not ext.weak:
                raise _missing(program, ext, "the kernel's BTF (vmlinux or a module's)")
        elif not self._compatible(ext, found, kernel):
            where = found.module.name if found.module is not None else "vmlinux"
            if not (is_func and ext.weak):
                raise BPFError(
                    errno.EINVAL,
                    f"program {program!r}: extern {ext.kind.value} {ext.name!r}",
                    reason=f"its type is incompatible with the one in {where}'s BTF",
                )
            found = None  # libbpf: a weak kfunc of another prototype is missing
        self._found[key] = found
        return found

    def _find(self, kernel: Spec, name: str, kind: type[Func] | type[Var]) -> _Found | None:
        """``find_ksym_btf_id``: vmlinux first, then each module's own types."""
        btf_id = _own_id(kernel, name, kind)
        if btf_id is not None:
            return _Found(btf_id, None)
        for module in self.modules:
            btf_id = _own_id(module.spec, name, kind)
            if btf_id is not None:
                return _Found(btf_id, module)
        return None

    def _compatible(self, ext: Extern, found: _Found, kernel: Spec) -> bool:
        spec = found.module.spec if found.module is not None else kernel
        target = spec.type_by_id(found.btf_id)
        local = ext.type
        if local is None:
            return True
        if isinstance(local, Func) and isinstance(target, Func):
            local_t: Type = local.type
            target_t: Type = target.type
            if not isinstance(local_t, FuncProto):
                return True  # nothing local to compare
        elif isinstance(target, Var):
            local_t = underlying(local)
            target_t = underlying(target.type)
        else:
            return False
        from pybpf.btf.corerelo import COREError, types_are_compat  # noqa: PLC0415

        try:
            return types_are_compat(local_t, target_t)
        except COREError:
            return False

    def _fd_index(self, program: str, ext: Extern, module: ModuleBTF | None) -> int:
        """The ``fd_array`` slot of a module's BTF fd (0 for vmlinux)."""
        if module is None:
            return 0
        slot = self._slots.get(module.id)
        if slot is not None:
            return slot
        if not self.fd_array:
            self.fd_array.append(0)  # slot 0 means vmlinux
        if len(self.fd_array) > _MAX_FD_INDEX:
            raise LimitError(
                errno.E2BIG,
                f"program {program!r}: extern kfunc {ext.name!r}",
                limit="fd_array index (s16)",
            )
        slot = self._slots[module.id] = len(self.fd_array)
        self.fd_array.append(module.fd.number)
        return slot

    def _poison(self, insn: Instruction, ext: Extern) -> None:
        """Turn a call of a missing weak kfunc into a call of an invalid helper."""
        names = {n: i for i, n in self.poisoned.items()}
        poison_id = names.get(ext.name, KFUNC_POISON_BASE + len(self.poisoned))
        self.poisoned[poison_id] = ext.name
        insn.src = PSEUDO_NONE
        insn.dst = 0
        insn.offset = 0
        insn.constant = poison_id

    def explain(self, log: str) -> str:
        """What a verifier log's poisoned kfunc call stands for, if it has one."""
        for poison_id, name in self.poisoned.items():
            if f"unknown#{poison_id}" in log:
                return f"kfunc {name!r} is called, but the kernel lacks it (weak, unresolved)"
        return ""


def resolve(program: str, insns: MutableSequence[Instruction], kernel: Spec | None) -> None:
    """Resolve every ksym and kfunc extern of ``insns`` in place (one program alone).

    kfuncs of modules need an ``fd_array`` at load time: use :class:`Resolver`.
    """
    with Resolver(kernel) as resolver:
        resolver.resolve(program, insns)


def _own_id(spec: Spec, name: str, kind: type[Func] | type[Var]) -> int | None:
    """The first ``kind`` named ``name`` among ``spec``'s own types (not its base's)."""
    ids = [spec.type_id(t) for t in spec.types_by_name(name, kind)]
    own = [i for i in ids if i >= spec.start_id]
    return min(own) if own else None


def _load_btf_id(insn: Instruction, found: _Found | None) -> None:
    """Make the LD_IMM64 ``insn`` load ``found``'s BTF id and module fd, or 0 if missing."""
    if found is None:
        insn.src = PSEUDO_NONE
        insn.constant = 0
        return
    insn.src = PSEUDO_BTF_ID
    insn.constant = found.btf_id | _module_fd(found.module) << 32


def _module_fd(module: ModuleBTF | None) -> int:
    return module.fd.number if module is not None else 0


def _typed(ext: Extern) -> bool:
    """Whether a ksym has a type (a kernel VAR), not ``const void`` (an address)."""
    return ext.type is not None and not isinstance(skip_qualifiers(ext.type), Void)


def _missing(program: str, ext: Extern, where: str) -> BPFError:
    """A strong extern that ``where`` lacks."""
    return _unresolved(program, ext, f"not found in {where}")


def _unresolved(program: str, ext: Extern, reason: str) -> BPFError:
    """A strong extern nothing resolves: ``ESRCH``, libbpf's errno for it."""
    return BPFError(
        errno.ESRCH, f"program {program!r}: extern {ext.kind.value} {ext.name!r}", reason=reason
    )
