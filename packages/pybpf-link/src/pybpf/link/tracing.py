"""Raw tracepoints and BTF-typed tracing: raw_tp, tp_btf, fentry/fexit, fmod_ret, LSM, freplace.

- :func:`raw_tracepoint` attaches a ``raw_tp/…`` (or writable ``raw_tp.w/…``)
  program to a tracepoint named at attach time (``BPF_RAW_TRACEPOINT_OPEN``,
  4.17+): a :class:`RawTracepointLink`.
- :func:`tracing` attaches the programs whose target was fixed when they were
  loaded (their ``attach_btf_id``): ``tp_btf`` (a :class:`RawTracepointLink`),
  ``fentry``/``fexit``/``fmod_ret`` and their sleepable ``.s`` forms, ``lsm``
  and ``lsm.s`` (a :class:`TracingLink`). ``BPF_LINK_CREATE`` with the
  program's expected attach type; kernels whose ``BPF_LINK_CREATE`` does not
  take them (EINVAL: before 5.19, 6.10 for tp_btf) get
  ``BPF_RAW_TRACEPOINT_OPEN`` with no name, as libbpf.
- :func:`freplace` replaces a function of another loaded program with a
  ``freplace/…`` (``BPF_PROG_TYPE_EXT``) program: a :class:`TracingLink`.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link.link import Link
from pybpf.link.prog_attach import check_program

# A caller has loaded its programs and maps before it attaches them: the
# checks import their classes then.
if TYPE_CHECKING:
    from pybpf.core import Program

__all__ = ["RawTracepointLink", "TracingLink", "freplace", "raw_tracepoint", "tracing"]

_T = bpf.ProgramType
_A = bpf.AttachType

#: What each attach type of :func:`tracing` is called in a section name.
_TRACING_KINDS = {
    _A.TRACE_RAW_TP: "tp_btf",
    _A.TRACE_FENTRY: "fentry",
    _A.TRACE_FEXIT: "fexit",
    _A.MODIFY_RETURN: "fmod_ret",
    _A.LSM_MAC: "lsm",
}
#: The attach types older kernels attach with BPF_RAW_TRACEPOINT_OPEN (libbpf's list).
_RAW_TP_FALLBACK = frozenset(_TRACING_KINDS)
#: The first kernel with attach cookies for each attach type.
_COOKIE_SINCE = {
    _A.TRACE_RAW_TP: "6.10",
    _A.TRACE_FENTRY: "5.19",
    _A.TRACE_FEXIT: "5.19",
    _A.MODIFY_RETURN: "5.19",
    _A.LSM_MAC: "5.19",
}


class RawTracepointLink(Link, link_type=bpf.LinkType.RAW_TRACEPOINT):
    """A ``raw_tp`` or ``tp_btf`` program on a kernel tracepoint.

    Closing the link detaches the program. The kernel cannot swap its
    program: :meth:`update` raises.
    """

    __slots__ = ()


class TracingLink(Link, link_type=bpf.LinkType.TRACING):
    """An fentry, fexit, fmod_ret, LSM or freplace program on its kernel function.

    Closing the link detaches the program (the trampoline goes when its last
    program does).
    """

    __slots__ = ()


def raw_tracepoint(prog: Program, name: str, *, cookie: int = 0) -> RawTracepointLink:
    """Attach the raw tracepoint program ``prog`` to the kernel tracepoint ``name``.

    ``name`` is the tracepoint's own name (``"sys_enter"``,
    ``"sched_switch"``), without a group. The program runs each time any CPU
    passes the tracepoint, with its raw arguments (``ctx->args[i]``).
    ``cookie`` is what ``bpf_get_attach_cookie()`` returns in the program
    (Linux 6.10+; a non-zero cookie on an older kernel raises
    :class:`~pybpf.core.NotSupportedError`). An unknown tracepoint raises
    :class:`~pybpf.core.BPFError` with ``errno`` ENOENT.

    For ``tp_btf/…`` programs, whose tracepoint was named at load, use
    :func:`tracing`.
    """
    prog = check_program(prog, "raw_tracepoint")
    if not isinstance(name, str):
        raise TypeError(f"raw_tracepoint: name must be a str, not {type(name).__name__}")
    if not name or "\0" in name or "/" in name:
        raise ValueError(f"raw_tracepoint: name {name!r} is not a tracepoint name")
    what = f"attach program {prog.name!r} to raw tracepoint {name!r}"
    cookie = bpf.check_uint(cookie, 64, "cookie", what)
    if prog.type not in (_T.RAW_TRACEPOINT, _T.RAW_TRACEPOINT_WRITABLE):
        raise ValueError(
            f"{what}: prog is a {_type_name(prog)} program, not a raw_tp one "
            "(tp_btf, fentry and LSM programs attach with tracing())"
        )
    text = bpf.ffi.new("char[]", name.encode())
    attr = bpf.new_attr("raw_tracepoint")
    attr.name = bpf.addr(text)
    attr.prog_fd = prog.fd.number
    attr.cookie = cookie
    got = bpf.receive_fd(bpf.Command.RAW_TRACEPOINT_OPEN, attr)
    if isinstance(got, int):
        if cookie and got == -errno.EINVAL:
            raise _no_cookies(what, "raw_tp", "6.10")
        raise bpf.error(-got, what)
    return RawTracepointLink(got, f"raw_tp {name}")


def tracing(prog: Program, *, cookie: int = 0) -> RawTracepointLink | TracingLink:
    """Attach ``prog`` (tp_btf, fentry, fexit, fmod_ret, LSM) to the target it was loaded for.

    The target (a tracepoint, a kernel function, an LSM hook) was fixed when
    the program was loaded, so nothing else is needed: ``tp_btf/…`` gives a
    :class:`RawTracepointLink`, the others a :class:`TracingLink`. ``cookie``
    is what ``bpf_get_attach_cookie()`` returns in the program (5.19+ for
    fentry/fexit/fmod_ret/LSM, 6.10+ for tp_btf; a non-zero cookie on an
    older kernel raises :class:`~pybpf.core.NotSupportedError`).

    Iterators attach with :func:`pybpf.link.iter`, ``lsm_cgroup`` programs
    with :mod:`pybpf.link.cgroup`, freplace programs with :func:`freplace`.
    A program opened from a pin or id (without its spec) is attached with
    ``BPF_RAW_TRACEPOINT_OPEN``, which needs no attach type and takes no
    cookie.
    """
    prog = check_program(prog, "tracing")
    spec = prog.spec
    attach_type = spec.attach_type if spec is not None else None
    kind = _TRACING_KINDS.get(attach_type) if attach_type is not None else None
    if spec is not None and kind is not None:
        target = f"{kind}{'.s' if spec.sleepable else ''}/{spec.attach_to}"
    else:
        target = f"the target of program {prog.name!r}"
    what = f"attach program {prog.name!r} to {target}"
    cookie = bpf.check_uint(cookie, 64, "cookie", what)
    if prog.type == _T.EXT:
        raise ValueError(f"{what}: prog is a freplace program: attach it with freplace()")
    if prog.type not in (_T.TRACING, _T.LSM):
        raise ValueError(
            f"{what}: prog is a {_type_name(prog)} program, not a tracing or LSM one "
            "(raw_tp programs attach with raw_tracepoint())"
        )
    if attach_type == _A.TRACE_ITER:
        raise ValueError(f"{what}: prog is an iterator: attach it with pybpf.link.iter()")
    if attach_type == _A.LSM_CGROUP:
        raise ValueError(
            f"{what}: an lsm_cgroup program attaches to a cgroup: use pybpf.link.cgroup"
        )
    if spec is None:
        if cookie:
            raise ValueError(
                f"{what}: a cookie needs the program's attach type, which a program "
                "opened without its spec does not know"
            )
        return _raw_tracepoint_open(prog, what, target)
    if attach_type is None or kind is None:
        raise ValueError(f"{what}: prog has no tracing attach type ({attach_type!r})")
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog.fd.number
    attr.attach_type = attach_type
    attr.tracing.cookie = cookie
    got = bpf.receive_fd(bpf.Command.LINK_CREATE, attr)
    if isinstance(got, int):
        # BPF_LINK_CREATE takes fentry/fexit/fmod_ret/LSM from 5.19 and tp_btf
        # from 6.10: older kernels answer EINVAL.
        if got != -errno.EINVAL or attach_type not in _RAW_TP_FALLBACK:
            raise bpf.error(-got, what)
        if cookie:
            raise _no_cookies(what, kind, _COOKIE_SINCE[attach_type])
        return _raw_tracepoint_open(prog, what, target)
    if attach_type == _A.TRACE_RAW_TP:
        return RawTracepointLink(got, target)
    return TracingLink(got, target)


def _raw_tracepoint_open(prog: Program, what: str, name: str) -> RawTracepointLink | TracingLink:
    """BPF_RAW_TRACEPOINT_OPEN with no name: the target is the one of the program's load."""
    attr = bpf.new_attr("raw_tracepoint")
    attr.prog_fd = prog.fd.number
    fd = bpf.raw_tracepoint_open(attr, what)
    try:
        raw = bpf.new_info("link")
        bpf.obj_info(fd, raw, what)
    except BaseException:
        fd.close()
        raise
    if raw.type == bpf.LinkType.RAW_TRACEPOINT:
        return RawTracepointLink(fd, name)
    return TracingLink(fd, name)


def freplace(prog: Program, target_program: Program, function_name: str) -> TracingLink:
    """Replace ``function_name`` of the loaded ``target_program`` with the freplace ``prog``.

    ``prog`` is a ``freplace/…`` (``BPF_PROG_TYPE_EXT``) program, loaded
    with a target program of the same shape (``attach_target=``); it may
    replace the function of another program than the one it was loaded
    against, as long as the function has the same BTF signature. The target
    must have been loaded with BTF: its function is looked up in the BTF the
    kernel holds for it (a missing one raises :class:`~pybpf.core.BPFError`
    with ``errno`` ESRCH). While the link is open, every call of the function
    runs ``prog`` instead.
    """
    prog = check_program(prog, "freplace")
    from pybpf.core import Program  # noqa: PLC0415 (loaded by the caller's program)

    if not isinstance(target_program, Program):
        kind = type(target_program).__name__
        raise TypeError(f"freplace: target_program must be a Program, not {kind}")
    if not isinstance(function_name, str):
        kind = type(function_name).__name__
        raise TypeError(f"freplace: function_name must be a str, not {kind}")
    if not function_name or "\0" in function_name:
        raise ValueError(f"freplace: function_name {function_name!r} is not a function name")
    name = f"freplace {target_program.name}/{function_name}"
    what = f"attach program {prog.name!r} as {name}"
    if prog.type != _T.EXT:
        raise ValueError(f"{what}: prog is a {_type_name(prog)} program, not a freplace one")
    target_fd = target_program.fd
    btf_id = bpf.program_func_id(target_fd, function_name, what)
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog.fd.number
    attr.target_fd = target_fd.number
    attr.target_btf_id = btf_id
    return TracingLink(bpf.link_create(attr, what), name)


def _type_name(prog: Program) -> str:
    kind = prog.type
    return kind.name if isinstance(kind, bpf.ProgramType) else f"type {kind}"


def _no_cookies(what: str, kind: str, since: str) -> NotSupportedError:
    return NotSupportedError(
        f"{what}: an attach cookie on {kind} programs", min_version=since, code=errno.EINVAL
    )
