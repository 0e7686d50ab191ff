"""Attachments made by ``BPF_PROG_ATTACH``: a program on a target, with no bpf_link.

Cgroups before bpf_links (and for attach flags links do not take), sockmaps
before 6.10 and flow dissectors before 5.8 attach programs to a target fd
with ``BPF_PROG_ATTACH``; the kernel keeps the program there until
``BPF_PROG_DETACH``. A :class:`ProgAttachLink` holds the target and the
program (duplicated fds, so closing the caller's objects changes nothing)
and detaches exactly that program when it is closed.

Also the checks every attach call of this package makes before a syscall:
the program argument, the attach type a program's section implies, and a
target given as a path or fd (:func:`open_checked_target`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pybpf.core import BPFError
from pybpf.core import sys as bpf
from pybpf.link.link import Link

if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["ProgAttachLink"]


class ProgAttachLink(Link):
    """A program attached with ``BPF_PROG_ATTACH``; closing it detaches that program.

    No bpf_link is behind it: :attr:`type` is None, and it cannot be pinned,
    updated or asked for :meth:`info`. It owns a duplicate of the target's
    fd and of the program's, so it detaches the right program even when the
    caller has closed both. A program that someone else detached meanwhile is
    not an error.
    """

    __slots__ = ("_attach_type", "_program")

    def __init__(
        self, target: bpf.FD, program: bpf.FD, attach_type: bpf.AttachType, name: str
    ) -> None:
        """Take over ``target`` and ``program``, already attached (for the attach calls)."""
        super().__init__(target, name)
        self._program: bpf.FD | None = program
        self._attach_type = attach_type

    @property
    def attach_type(self) -> bpf.AttachType:
        """The attach type the program was attached with."""
        return self._attach_type

    def close(self) -> None:
        """Detach the program (``BPF_PROG_DETACH``) and close the fds; again: nothing."""
        program, self._program = self._program, None
        if program is None:
            return
        try:
            attr = bpf.new_attr("prog_attach")
            attr.target_fd = self._fd.number
            attr.attach_bpf_fd = program.number
            attr.attach_type = self._attach_type
            try:
                bpf.prog_detach(attr, f"detach {self._name}")
            except BPFError as e:
                if e.errno != errno.ENOENT:
                    raise
        finally:
            program.close()
            super().close()


def prog_attach(
    program: Program,
    target: bpf.FD,
    attach_type: bpf.AttachType,
    what: str,
    *,
    flags: int = 0,
    replace: Program | None = None,
) -> bpf.FD:
    """``BPF_PROG_ATTACH`` of ``program`` to ``target``: a duplicate of the program's fd.

    The duplicate is what a :class:`ProgAttachLink` detaches with; on failure
    nothing is attached and nothing is left open.
    """
    prog_fd = program.fd.dup()
    try:
        attr = bpf.new_attr("prog_attach")
        attr.target_fd = target.number
        attr.attach_bpf_fd = prog_fd.number
        attr.attach_type = attach_type
        attr.attach_flags = flags
        if replace is not None:
            attr.replace_bpf_fd = replace.fd.number
        bpf.prog_attach(attr, what)
    except BaseException:
        prog_fd.close()
        raise
    return prog_fd


def link_target(prog: Program, target: bpf.FD, attach_type: bpf.AttachType, name: str) -> bpf.FD:
    """``BPF_LINK_CREATE`` of ``prog`` on the object behind ``target`` (a cgroup, a netns).

    The bpf_link's fd; ``name`` says what is attached to, for the error.
    """
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog.fd.number
    attr.target_fd = target.number
    attr.attach_type = attach_type
    return bpf.link_create(attr, f"attach program {prog.name!r} to {name}")


def check_program(prog: object, call: str, argument: str = "prog") -> Program:
    """``prog`` if it is a loaded :class:`~pybpf.core.Program`, else a TypeError naming ``call``.

    ``argument`` is the parameter's name in ``call``, for the message.
    """
    # Imported here: a caller with a Program has loaded its module already.
    from pybpf.core import Program  # noqa: PLC0415

    if not isinstance(prog, Program):
        raise TypeError(f"{call}: {argument} must be a Program, not {type(prog).__name__}")
    return prog


def resolve_attach_type(
    prog: Program,
    given: object,
    allowed: Mapping[bpf.AttachType, bpf.ProgramType],
    call: str,
) -> bpf.AttachType:
    """The attach type for ``prog``: ``given``, else its section's; checked against ``allowed``.

    ``allowed`` maps each attach type ``call`` takes to the program type the
    kernel wants for it. Raises TypeError (``attach_type`` not an
    AttachType, or a program of another type) or ValueError (an attach type
    ``call`` does not take, or none known) before any syscall.
    """
    if given is None:
        spec = prog.spec
        given = spec.attach_type if spec is not None else None
        if given is None:
            names = ", ".join(sorted(t.name for t in allowed))
            raise ValueError(
                f"{call}: program {prog.name!r} names no attach type in its section: "
                f"pass attach_type= (one of {names})"
            )
    if not isinstance(given, bpf.AttachType):
        if not isinstance(given, int) or isinstance(given, bool):
            raise TypeError(
                f"{call}: attach_type must be an AttachType, not {type(given).__name__}"
            )
        try:
            given = bpf.AttachType(given)
        except ValueError:
            raise ValueError(f"{call}: attach_type {given} is not a known attach type") from None
    wanted = allowed.get(given)
    if wanted is None:
        raise ValueError(f"{call}: attach type {given.name} is not one {call} attaches")
    if prog.type != wanted:
        raise TypeError(
            f"{call}: program {prog.name!r} is a {_kind(prog)} program; "
            f"attach type {given.name} takes {wanted.name} programs"
        )
    return given


def check_program_type(prog: Program, wanted: bpf.ProgramType, call: str) -> None:
    """A TypeError naming ``call`` unless ``prog`` is a ``wanted`` program."""
    if prog.type != wanted:
        raise TypeError(
            f"{call}: program {prog.name!r} is a {_kind(prog)} program, not {wanted.name}"
        )


def _kind(prog: Program) -> str:
    """The name of ``prog``'s type (the number, for a type newer than this library)."""
    return prog.type.name if isinstance(prog.type, bpf.ProgramType) else str(prog.type)


def open_checked_target(
    target: object,
    call: str,
    argument: str,
    refuse: Callable[[str | int, str], Exception],
    check: Callable[[bpf.FD], str | None],
) -> tuple[bpf.FD, str]:
    """An owned fd of ``target`` (a path or fd number) that passes ``check``, and its label.

    For the attach calls whose target is a file (a cgroup directory, a
    namespace file). ``check`` returns None for a fitting target, else why it
    does not fit; that, and a path or fd that cannot be opened, raise
    ``refuse(target, reason)`` with nothing left open. A ``target`` of another
    kind raises TypeError. The label reads ``"<argument> PATH"`` or
    ``"<argument> fd N"``.
    """
    try:
        fd, opened = _open_target(target, call, argument)
    except OSError as e:
        raise refuse(_target_label(target), e.strerror or str(e)) from None
    try:
        reason = check(fd)
    except BaseException:
        fd.close()
        raise
    if reason is not None:
        fd.close()
        raise refuse(opened, reason)
    return fd, (f"{argument} fd {opened}" if isinstance(opened, int) else f"{argument} {opened}")


def _open_target(target: object, call: str, argument: str) -> tuple[bpf.FD, str | int]:
    """An owned fd for ``target``, a path (str or PathLike) or an fd number, and its label.

    A path is opened read-only (a directory too); an fd number is duplicated,
    so the caller's stays theirs. Raises TypeError for another kind of
    ``argument``, and :class:`OSError` (``FileNotFoundError``...) for a path
    that cannot be opened or a number that is no open fd.
    """
    if isinstance(target, int) and not isinstance(target, bool):
        if target < 0:
            raise ValueError(f"{call}: {argument} fd {target} is negative")
        return bpf.FD.duplicate(target), target
    if isinstance(target, str | os.PathLike):
        path = os.fspath(target)
        if not isinstance(path, str):
            raise TypeError(f"{call}: {argument} path must be text, not bytes")
        return bpf.FD(os.open(path, os.O_RDONLY | os.O_CLOEXEC)), path
    raise TypeError(f"{call}: {argument} must be a path or an fd, not {type(target).__name__}")


def _target_label(target: object) -> str | int:
    """How an error names ``target``, a path or fd argument that could not be opened."""
    if isinstance(target, int):
        return target
    if isinstance(target, str | os.PathLike):
        return str(os.fspath(target))
    return repr(target)
