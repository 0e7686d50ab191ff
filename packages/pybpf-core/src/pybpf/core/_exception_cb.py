"""The loads libbpf refuses for a bad ``exception_callback:`` decl tag.

The reader appends the subprogram a program's ``exception_callback:<name>``
tag names (:func:`pybpf.elf.programs.link_programs`); what it cannot append
is left out. libbpf (``bpf_prog_assign_exc_cb``, on kernels with decl tags)
then refuses the load: with EINVAL when such a tag sits on anything but a
global FUNC (every program of the object), names nothing or a static or
hidden subprogram; with ENOENT when no subprogram has the name. A program
with several such tags gets no callback and no refusal: the verifier judges.
libbpf appends a callback only for kernels with decl tags: for the others
(where the tag cannot reach the kernel, and code nothing calls is refused)
the loader drops what the reader appended.
"""

from __future__ import annotations

import errno
import itertools
from collections.abc import Iterable

from pybpf.asm import Instruction, Instructions
from pybpf.btf import EXCEPTION_CALLBACK_TAG, Kind, Linkage
from pybpf.btf.marshal_record import Record
from pybpf.core.errors import BPFError

__all__ = ["CallbackTags", "callback_tags"]

#: A DECL_TAG's component index for the type itself (-1, as the u32 of a record).
_WHOLE = 0xFFFFFFFF


class CallbackTags:
    """An object's ``exception_callback:`` tags, and what they sit on."""

    # A plain class: loading an object imports no dataclasses.
    __slots__ = ("global_funcs", "tags")

    def __init__(self, tags: list[tuple[str, str | None]], global_funcs: dict[str, bool]) -> None:
        #: Per tag, in id order: its value, and the FUNC it tags (None: not a global FUNC).
        self.tags = tags
        #: Per FUNC name: whether every FUNC of that name is global.
        self.global_funcs = global_funcs

    def check(self, program: str, instructions: Iterable[Instruction]) -> None:
        """Raise the :class:`BPFError` libbpf's load of ``program`` fails with, if any."""
        what = f"load program {program!r}"
        found = False
        for value, func in self.tags:
            if func is None:
                reason = f"decl tag {value!r} is not on a global function"
                raise BPFError(errno.EINVAL, what, reason=reason)
            if func != program:
                continue
            if found:
                return  # several callbacks: none appended, the verifier refuses
            callback = value.removeprefix(EXCEPTION_CALLBACK_TAG)
            if not callback:
                raise BPFError(errno.EINVAL, what, reason=f"decl tag {value!r} names no callback")
            if not self.global_funcs.get(callback, True):
                reason = f"exception callback {callback!r} must be a global, not hidden, function"
                raise BPFError(errno.EINVAL, what, reason=reason)
            # The program itself is no subprogram: its symbol heads its code.
            if not any(i.symbol == callback for i in itertools.islice(instructions, 1, None)):
                reason = f"cannot find exception callback {callback!r}"
                raise BPFError(errno.ENOENT, what, reason=reason)
            found = True

    def without_callback(self, program: str, insns: Instructions) -> Instructions:
        """``insns`` without the exception callback the reader appended to ``program``.

        The reader appends a callback nothing calls last, after the
        subprograms the program reaches, followed by those only it reaches:
        when nothing before it calls it or takes its address, everything
        from its first instruction on goes.
        """
        named = [value for value, func in self.tags if func == program]
        if len(named) != 1:
            return insns
        start = insns.symbols().get(named[0].removeprefix(EXCEPTION_CALLBACK_TAG))
        if not start:
            return insns
        start_slot = insns.slot_offset(start)
        for slot, insn in insns.offsets():
            if slot >= start_slot:
                return insns[:start]
            local = insn.is_function_call or insn.is_function_pointer
            if local and slot + insn.branch_offset + 1 == start_slot:
                return insns  # reached: not appended
        return insns


def callback_tags(recs: list[Record], first_id: int) -> CallbackTags | None:
    """The ``exception_callback:`` tags among ``recs`` (an object's BTF), or None."""
    prefix = EXCEPTION_CALLBACK_TAG
    tagged = [
        r
        for r in recs
        if r.kind == Kind.DECL_TAG and r.extra[0] == _WHOLE and r.name.startswith(prefix)
    ]
    if not tagged:
        return None
    tags: list[tuple[str, str | None]] = []
    for tag in tagged:
        index = tag.size_or_type - first_id
        func = recs[index] if 0 <= index < len(recs) else None
        global_func = func is not None and func.kind == Kind.FUNC and func.vlen == Linkage.GLOBAL
        tags.append((tag.name, func.name if global_func and func is not None else None))
    funcs: dict[str, bool] = {}
    for r in recs:
        if r.kind == Kind.FUNC and r.vlen != Linkage.EXTERN:
            funcs[r.name] = funcs.get(r.name, True) and r.vlen == Linkage.GLOBAL
    return CallbackTags(tags, funcs)
