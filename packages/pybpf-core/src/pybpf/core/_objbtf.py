"""An object's BTF, loaded into the kernel once for its maps and programs.

Programs need it for func and line info, some maps for their key and value
types. Line info names its file and source line by offsets into the loaded
string table, so every program's strings are added before the one load.
Like libbpf, a kernel that rejects the BTF gets none: objects load without
func/line info and maps without BTF types.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from pybpf.asm import Instruction, Instructions
from pybpf.btf import (
    ARG_CTX_TAG,
    EXCEPTION_CALLBACK_TAG,
    BTFError,
    Datasec,
    Func,
    IntEncoding,
    Kind,
    LineInfo,
    Linkage,
    SanitizeOptions,
    Spec,
    Type,
    Var,
    add_strings,
    collect_ext_infos,
    encode_func_infos,
    encode_line_infos,
)
from pybpf.btf.marshal import encode, records
from pybpf.btf.marshal_record import Record
from pybpf.btf.sanitize import sanitize_records
from pybpf.core import _btf_probes, _cmds
from pybpf.core.errors import BPFError
from pybpf.core.fd import FD

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.core._exception_cb import CallbackTags


class ObjectBTF:
    """The loaded BTF of one object: its fd and where its strings landed."""

    def __init__(
        self,
        types: Spec,
        programs: Iterable[Iterable[Instruction]],
        sanitize: SanitizeOptions,
        *,
        kinds: Sequence[tuple[str, int]] = (),
        native_arg_ctx: bool | None = None,
    ) -> None:
        """Load ``types`` for ``programs`` (instructions), sanitized as ``sanitize`` says.

        ``kinds`` names each of ``programs`` and gives its type: a program
        named there whose global subprograms take an ``__arg_ctx`` argument
        gets its own retyped copies on kernels that do not read the tag
        (:mod:`pybpf.core._arg_ctx`), which :meth:`ext_infos` then names.
        ``native_arg_ctx`` is the kernel's answer to that question, probed
        when None (and only when some argument has the tag): tests pass False
        to see the rewrite on a kernel that would not need it.
        """
        self.types = types
        self.fd: FD | None = None
        #: Why the kernel refused the BTF, if it did.
        self.error: BPFError | BTFError | None = None
        self._strings: dict[str, int] = {}
        # Without FUNC kinds (before 4.20) func and line info cannot refer to anything.
        self._ext_ok = sanitize.func
        # As libbpf: only kernels with decl tags hear of exception callbacks.
        self._decl_tags = sanitize.decl_tag
        #: Per program name: the ids of FUNCs replaced by their retyped copies.
        self.arg_ctx_funcs: dict[str, dict[int, int]] = {}
        strings: list[str] = []
        funcs: list[Sequence[int]] = []
        for insns in programs:
            infos = collect_ext_infos(insns)
            for rec in infos.line_infos:
                strings.append(rec.file)
                strings.append(rec.line)
            if kinds:
                funcs.append([types.type_id(r.func) for r in infos.func_infos])
        self._callbacks: CallbackTags | None = None
        try:
            recs = _fixed_records(types)
            # Most objects have no decl tags libbpf acts on: one look, and the
            # modules that act on them are imported only for those that do.
            tags = {r.name for r in recs if r.kind == Kind.DECL_TAG}
            if any(t.startswith(EXCEPTION_CALLBACK_TAG) for t in tags):
                from pybpf.core._exception_cb import callback_tags  # noqa: PLC0415 (tagged objects only)

                self._callbacks = callback_tags(recs, types.start_id)
            if kinds and self._ext_ok and ARG_CTX_TAG in tags:
                if native_arg_ctx is None:
                    native_arg_ctx = _btf_probes.native_arg_ctx()
                if not native_arg_ctx:
                    from pybpf.core._arg_ctx import rewrite  # noqa: PLC0415 (tagged objects only)

                    named = [(n, t, f) for (n, t), f in zip(kinds, funcs, strict=True)]
                    self.arg_ctx_funcs = rewrite(recs, types.start_id, named)
            if sanitize.needed:  # a kernel that lacks some kind: copies, rewritten
                recs = sanitize_records(recs, sanitize, first_id=types.start_id)
            blob = encode(recs, sys.byteorder)
            blob, self._strings = add_strings(blob, strings)
            self.fd = _cmds.btf_load(blob, "load the object's BTF")
        except (BPFError, BTFError) as exc:
            self.error = exc

    def type_id(self, t: Type) -> int:
        """The id of ``t`` in the loaded BTF."""
        return self.types.type_id(t)

    def ext_infos(
        self, insns: Iterable[Instruction], program: str = ""
    ) -> tuple[bytes, bytes, list[LineInfo]]:
        """The ``func_info`` and ``line_info`` arrays of a program, and its line records.

        ``program`` is its name, as given in ``kinds``: its func info names
        its own retyped copies of ``__arg_ctx`` subprograms, if it has any.
        """
        infos = collect_ext_infos(insns)
        if self.fd is None or not self._ext_ok:
            return b"", b"", infos.line_infos
        copies = self.arg_ctx_funcs.get(program, {})

        def type_id(t: Type) -> int:
            own = self.types.type_id(t)
            return copies.get(own, own)

        func = encode_func_infos(infos.func_infos, type_id)
        lines = [r for r in infos.line_infos if r.file in self._strings and r.line in self._strings]
        line = encode_line_infos(lines, self._strings.__getitem__)
        return func, line, infos.line_infos

    def exception_callback(self, program: str, insns: Instructions) -> Instructions:
        """``insns`` as libbpf loads them for ``program``'s exception callback tags.

        Kernels with decl tags: a wrong tag refuses the load (a
        :class:`BPFError`, see :mod:`pybpf.core._exception_cb`). Kernels
        without them: the callback the reader appended is dropped.
        """
        if self._callbacks is None:
            return insns
        if not self._decl_tags:
            return self._callbacks.without_callback(program, insns)
        self._callbacks.check(program, insns)
        return insns

    def close(self) -> None:
        """Close the BTF fd (programs and maps keep their own reference)."""
        if self.fd is not None:
            self.fd.close()


def _needs_fixing(t: Type) -> bool:
    if isinstance(t, Datasec):
        offsets = [v.offset for v in t.vars]
        return (not t.size and bool(t.vars)) or t.name == ".ksyms" or offsets != sorted(offsets)
    return isinstance(t, Var | Func) and t.linkage == Linkage.EXTERN


def _fixed_records(types: Spec) -> list[Record]:
    """The records of ``types`` as the kernel accepts them, as libbpf fixes an object's BTF.

    clang leaves some DATASEC sizes 0 (``license``, ``.kconfig``) for the
    loader to fill; extern VARs and FUNCs become global ones (a FUNC's
    anonymous arguments named, as the kernel wants them); the ``.ksyms``
    section's entries (kernel variables and kfuncs, which the kernel cannot
    take there) become variables of an appended ``int`` placeholder.
    Datasec entries are sorted by offset, as the kernel wants them. Only
    records are rewritten: the types are neither copied nor changed.
    """
    recs = records(types)
    if not any(_needs_fixing(t) for t in types.own_types()):
        return recs
    first = types.start_id
    placeholder = first + len(recs)
    recs.append(Record(Kind.INT, "int", 4, extra=[int(IntEncoding.SIGNED) << 24 | 32]))
    own = len(recs) - 1
    for r in recs[:own]:
        if r.kind == Kind.VAR and r.extra[0] == Linkage.EXTERN:
            r.extra[0] = int(Linkage.GLOBAL)
        elif r.kind == Kind.FUNC and r.vlen == Linkage.EXTERN:
            r.vlen = int(Linkage.GLOBAL)
            proto = recs[r.size_or_type - first] if r.size_or_type >= first else None
            if proto is not None and proto.kind == Kind.FUNC_PROTO:
                params = proto.extra
                for i in range(0, len(params), 2):
                    if not params[i] and params[i + 1]:
                        params[i] = f"arg{i // 2}"
        elif r.kind == Kind.DATASEC and r.name == ".ksyms":
            entries: list[int | str] = []
            for i in range(r.vlen):
                entry = r.extra[3 * i]
                assert isinstance(entry, int)
                target = recs[entry - first]
                if target.kind == Kind.VAR:
                    target.size_or_type = placeholder
                else:
                    name = target.name or f"ksym{i}"
                    recs.append(Record(Kind.VAR, name, placeholder, extra=[int(Linkage.GLOBAL)]))
                    entry = first + len(recs) - 1
                entries += [entry, 4 * i, 4]
            r.extra = entries
            r.size_or_type = 4 * r.vlen
        elif r.kind == Kind.DATASEC:
            secinfos = sorted(zip(*[iter(r.extra)] * 3, strict=True), key=lambda v: v[1])
            r.extra = [word for secinfo in secinfos for word in secinfo]
            if not r.size_or_type and secinfos:
                r.size_or_type = max(int(offset) + int(size) for _, offset, size in secinfos)
    return recs
