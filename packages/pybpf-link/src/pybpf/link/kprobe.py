"""Kernel probes: kprobes, kretprobes, syscall probes and multi-function kprobes.

- :func:`kprobe` puts a ``kprobe/…`` program on one kernel function (or
  address) through a perf event, made by the kprobe PMU or tracefs'
  ``kprobe_events`` (:func:`~pybpf.link.probes.open_probe`) and attached as
  every perf event is (a bpf_link from 5.15, the ioctl before).
- :func:`ksyscall` does the same for a system call, named as userspace knows
  it (``"openat"``): the kernel function behind it depends on the
  architecture and on whether the kernel wraps its syscalls, as libbpf finds.
- :func:`kprobe_multi` attaches one ``kprobe.multi``/``kprobe.session``
  program to many functions at once through one bpf_link of type
  ``KPROBE_MULTI`` (fprobe, Linux 5.18; sessions 6.10): a
  :class:`KprobeMultiLink`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from pybpf.core import NotSupportedError
from pybpf.core import sys as bpf
from pybpf.link._glob import glob_regex
from pybpf.link.errors import KernelSymbolNotFoundError
from pybpf.link.link import Link
from pybpf.link.perf_event import LegacyPerfEventLink, PerfEventLink, attach_perf_event
from pybpf.link.probes import Probe, open_probe
from pybpf.link.prog_attach import check_program
from pybpf.link.tracefs import tracefs_path

# Program is imported by the calls (the caller has loaded one by then); the
# assembler, program specs and regexes only by the calls that use them.
if TYPE_CHECKING:
    import re

    from pybpf.core import Program
    from pybpf.elf import AttachType

__all__ = ["KprobeMultiLink", "kprobe", "kprobe_multi", "ksyscall", "syscall_function"]

_KALLSYMS = "/proc/kallsyms"
#: The prefix of the syscall wrappers (``__x64_sys_openat``) per machine, as
#: ``uname -m`` says it.
_SYSCALL_PREFIXES = {
    "x86_64": "x64",
    "amd64": "x64",
    "i386": "ia32",
    "i686": "ia32",
    "aarch64": "arm64",
    "arm64": "arm64",
    "s390x": "s390x",
    "s390": "s390",
    "riscv64": "riscv",
    "mips": "mips",
    "mips64": "mips",
    "ppc64": "powerpc",
    "ppc64le": "powerpc",
    "loongarch64": "loongarch",
}
#: What ftrace lists in place of a function it could not name: never a target.
_FTRACE_INVALID = "__ftrace_invalid_address__"
#: The characters of a system call's name (``openat``, ``rt_sigaction``), at most 64.
_SYSCALL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")

_syscall_wrappers: bool | None = None
_multi_support: dict[AttachType, NotSupportedError | None] = {}


class KprobeMultiLink(Link, link_type=bpf.LinkType.KPROBE_MULTI):
    """One program on many kernel functions (or their returns): ``kprobe_multi``, Linux 5.18+.

    Made by :func:`kprobe_multi`. Closing it detaches the program from every
    function at once.
    """

    __slots__ = ()


# -- single kprobes ----------------------------------------------------------------


def kprobe(
    prog: Program,
    symbol: str | None = None,
    *,
    address: int | None = None,
    offset: int = 0,
    retprobe: bool = False,
    cookie: int = 0,
    maxactive: int = 0,
) -> PerfEventLink | LegacyPerfEventLink:
    """Attach ``prog`` to the kernel function ``symbol`` (a kretprobe with ``retprobe``).

    ``symbol`` is a function in kallsyms (``"do_sys_openat2"``, or
    ``"module:function"`` for a module's), probed ``offset`` bytes into it;
    or, instead of a symbol, a kernel ``address``. ``cookie`` is what
    ``bpf_get_attach_cookie()`` returns in the program (Linux 5.15+).
    ``maxactive`` bounds the instances of a kretprobe that may be pending at
    once (0: the kernel's default); only tracefs takes it, so it makes the
    probe through ``kprobe_events``.

    A function the kernel cannot probe raises
    :class:`~pybpf.link.KernelSymbolNotFoundError`; a kernel without kprobes,
    :class:`~pybpf.core.NotSupportedError`.
    """
    check_program(prog, "kprobe")
    if (symbol is None) == (address is None):
        raise TypeError("kprobe: give either a symbol or an address=, not both or neither")
    if symbol is not None:
        _check_symbol(symbol, "kprobe", "symbol")
        what = f"kprobe {symbol}"
    else:
        what = f"kprobe at {address!r}"
        address = bpf.check_uint(address, 64, "address", what)
        if offset:
            raise ValueError(f"{what}: offset= goes with a symbol, not an address")
    offset = bpf.check_uint(offset, 64, "offset", what)
    if offset and retprobe:
        raise ValueError(f"{what}: a kretprobe takes no offset (it fires at the return)")
    bpf.check_uint(cookie, 64, "cookie", what)
    maxactive = bpf.check_uint(maxactive, 31, "maxactive", what)
    if maxactive and not retprobe:
        raise ValueError(f"{what}: maxactive= is for kretprobes (retprobe=True)")
    probe = Probe(
        "kprobe",
        retprobe=bool(retprobe),
        symbol=symbol or "",
        address=address or 0,
        offset=offset,
        maxactive=maxactive,
    )
    event, cleanup = open_probe(probe)
    return attach_perf_event(prog, event, probe.describe(), cookie=cookie, cleanup=cleanup)


def ksyscall(
    prog: Program, syscall_name: str, *, retprobe: bool = False, cookie: int = 0
) -> PerfEventLink | LegacyPerfEventLink:
    """Attach ``prog`` to the system call ``syscall_name`` (``"openat"``), as libbpf's ksyscall.

    The kernel function probed is the architecture's syscall wrapper
    (``__x64_sys_openat``, ``__arm64_sys_openat``) on kernels that wrap their
    syscalls, ``__se_sys_openat`` on those that do not; :func:`syscall_function`
    says which. A ``ksyscall`` program reads the syscall's arguments through
    the wrapper's ``struct pt_regs`` (libbpf's ``BPF_KSYSCALL`` macro does
    that). Other options as :func:`kprobe`.
    """
    check_program(prog, "ksyscall")
    return kprobe(prog, syscall_function(syscall_name), retprobe=retprobe, cookie=cookie)


def syscall_function(syscall_name: str) -> str:
    """The kernel function a probe on the system call ``syscall_name`` goes to.

    ``__<arch>_sys_<name>`` where the kernel has syscall wrappers (it lists
    ``__<arch>_sys_bpf`` among its functions, which libbpf takes as the
    sign), else ``__se_sys_<name>``.
    """
    if not isinstance(syscall_name, str):
        raise TypeError(f"ksyscall: syscall_name must be a str, not {type(syscall_name).__name__}")
    if not 0 < len(syscall_name) <= 64 or not _SYSCALL_CHARS.issuperset(syscall_name):
        raise ValueError(f"ksyscall: {syscall_name!r} is not a system call name")
    prefix = _SYSCALL_PREFIXES.get(os.uname().machine)
    if prefix is not None and _has_syscall_wrappers(prefix):
        return f"__{prefix}_sys_{syscall_name}"
    return f"__se_sys_{syscall_name}"


def _has_syscall_wrappers(prefix: str) -> bool:
    """Whether the kernel names its syscalls ``__<prefix>_sys_*`` (cached)."""
    global _syscall_wrappers  # noqa: PLW0603 (the kernel does not change under us)
    if _syscall_wrappers is None:
        wanted = f"__{prefix}_sys_bpf"
        # ftrace may list the wrapper under an alias: kallsyms has every name.
        _syscall_wrappers = any(name == wanted for name, _ in _filter_functions()) or any(
            name == wanted for _, name in _kallsyms()
        )
    return _syscall_wrappers


def _filter_functions() -> Iterator[tuple[str, str]]:
    """``(name, module)`` of each function ftrace can trace (``available_filter_functions``)."""
    try:
        path = os.path.join(tracefs_path(), "available_filter_functions")
        f = open(path)  # noqa: SIM115 (a generator closes it below)
    except (OSError, NotSupportedError):
        return
    with f:
        for line in f:
            fields = line.split()
            if fields and not fields[0].startswith(_FTRACE_INVALID):
                yield fields[0], fields[1].strip("[]") if len(fields) > 1 else ""


def _kallsyms() -> Iterator[tuple[int, str]]:
    """``(address, name)`` of each text symbol in ``/proc/kallsyms``."""
    try:
        f = open(_KALLSYMS)  # noqa: SIM115 (a generator closes it below)
    except OSError:
        return
    with f:
        for line in f:
            fields = line.split(maxsplit=3)
            if len(fields) >= 3 and fields[1] in "tTwW":
                try:
                    yield int(fields[0], 16), fields[2]
                except ValueError:
                    continue


# -- kprobe_multi ------------------------------------------------------------------


def kprobe_multi(
    prog: Program,
    *,
    symbols: Sequence[str] | None = None,
    pattern: str | None = None,
    addresses: Sequence[int] | None = None,
    cookies: Sequence[int] | None = None,
    retprobe: bool = False,
    session: bool = False,
) -> KprobeMultiLink:
    """Attach ``prog`` to many kernel functions through one link (Linux 5.18+, fprobe).

    Give exactly one of ``symbols`` (function names), ``pattern`` (a glob
    with ``*`` and ``?``, matched against tracefs'
    ``available_filter_functions`` as libbpf does) or ``addresses``.
    ``cookies``, one per function in the order given, is what
    ``bpf_get_attach_cookie()`` returns in the program (not with a pattern).
    ``retprobe`` runs the program when the functions return;
    ``session`` (Linux 6.10+, a ``kprobe.session`` program) runs it at entry
    and, where the entry run returned 0, at return too.

    The program must have been loaded for this attach type
    (``SEC("kprobe.multi")``, ``SEC("kretprobe.multi")`` or
    ``SEC("kprobe.session")``). A kernel without kprobe_multi raises
    :class:`~pybpf.core.NotSupportedError`; functions it cannot find,
    :class:`~pybpf.link.KernelSymbolNotFoundError`.
    """
    check_program(prog, "kprobe_multi")
    choices = (("symbols", symbols), ("pattern", pattern), ("addresses", addresses))
    given = [name for name, value in choices if value is not None]
    if len(given) != 1:
        raise TypeError(
            "kprobe_multi: give exactly one of symbols=, pattern= or addresses= "
            f"(got {', '.join(given) or 'none'})"
        )
    if retprobe and session:
        raise ValueError("kprobe_multi: a session runs at entry and return: retprobe= goes without")
    what = f"attach program {prog.name!r} to kprobe_multi"
    names: list[str] = []
    addrs: list[int] = []
    if symbols is not None:
        names = _check_symbols(symbols)
        what += f" {_summary(names)}"
    elif addresses is not None:
        addrs = _check_addresses(addresses, what)
        what += f" of {len(addrs)} addresses"
    else:
        if not isinstance(pattern, str):
            raise TypeError(f"kprobe_multi: pattern must be a str, not {type(pattern).__name__}")
        if not pattern:
            raise ValueError("kprobe_multi: pattern is empty")
        if cookies is not None:
            raise ValueError("kprobe_multi: cookies= need symbols= or addresses=, not a pattern")
        what += f" {pattern!r}"
    count = len(names) or len(addrs)
    cookie_list = _check_cookies(cookies, count, what) if cookies is not None else []
    kinds = bpf.AttachType
    attach_type = kinds.TRACE_KPROBE_SESSION if session else kinds.TRACE_KPROBE_MULTI
    _require_multi(attach_type)
    if pattern is not None:
        addrs = _resolve_pattern(pattern)
    return _create(
        prog,
        attach_type,
        names=names,
        addrs=addrs,
        cookies=cookie_list,
        retprobe=bool(retprobe),
        what=what,
    )


def _create(
    prog: Program,
    attach_type: AttachType,
    *,
    names: list[str],
    addrs: list[int],
    cookies: list[int],
    retprobe: bool,
    what: str,
) -> KprobeMultiLink:
    """BPF_LINK_CREATE of a kprobe_multi link: the arrays stay alive through the call."""
    attr = bpf.new_attr("link_create")
    attr.prog_fd = prog.fd.number
    attr.attach_type = attach_type
    multi = attr.kprobe_multi
    multi.flags = bpf.KprobeMultiFlags.RETURN if retprobe else bpf.KprobeMultiFlags.NONE
    multi.cnt = len(names) or len(addrs)
    texts = [bpf.ffi.new("char[]", n.encode()) for n in names]
    syms = bpf.ffi.new("uint64_t[]", [bpf.addr(t) for t in texts]) if names else None
    addr_array = bpf.ffi.new("uint64_t[]", addrs) if addrs else None
    cookie_array = bpf.ffi.new("uint64_t[]", cookies) if cookies else None
    if syms is not None:
        multi.syms = bpf.addr(syms)
    if addr_array is not None:
        multi.addrs = bpf.addr(addr_array)
    if cookie_array is not None:
        multi.cookies = bpf.addr(cookie_array)
    rc = bpf.receive_fd(bpf.Command.LINK_CREATE, attr)
    del texts, syms, addr_array, cookie_array
    if isinstance(rc, bpf.FD):
        return KprobeMultiLink(rc, what.partition(" to ")[2])
    code = -rc
    if code in (errno.ENOENT, errno.ESRCH) and names:
        missing = _missing(names)
        if missing:
            raise KernelSymbolNotFoundError(missing[0], f"{what}: {os.strerror(code)}")
    raise bpf.error(code, what)


def _missing(names: list[str]) -> list[str]:
    """Which of ``names`` the kernel lists among neither its traceable functions nor kallsyms."""
    known = {name for name, _ in _filter_functions()} | {name for _, name in _kallsyms()}
    return [n for n in names if n not in known and n.partition(":")[2] not in known]


def _resolve_pattern(pattern: str) -> list[int]:
    """The addresses of the kernel functions ``pattern`` matches, sorted, each once.

    As libbpf: from ``available_filter_functions_addrs`` (Linux 6.5+), or
    the names in ``available_filter_functions`` looked up in
    ``/proc/kallsyms`` (a name with a ``.llvm.<hash>`` suffix in kallsyms
    matches its name without it). No match raises
    :class:`~pybpf.link.KernelSymbolNotFoundError`.
    """
    match = glob_regex(pattern)
    found = set(_matching_addresses(match))
    if not found:
        raise KernelSymbolNotFoundError(
            pattern, "no function in tracefs available_filter_functions matches the pattern"
        )
    return sorted(found)


def _matching_addresses(match: re.Pattern[str]) -> Iterator[int]:
    try:
        root = tracefs_path()
    except NotSupportedError:
        return
    try:
        with open(os.path.join(root, "available_filter_functions_addrs")) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 2 or fields[1].startswith(_FTRACE_INVALID):
                    continue
                if match.fullmatch(fields[1]):
                    try:
                        yield int(fields[0], 16)
                    except ValueError:
                        continue
            return
    except FileNotFoundError:
        pass
    wanted = {name for name, _module in _filter_functions() if match.fullmatch(name)}
    if not wanted:
        return
    for address, name in _kallsyms():
        if name in wanted or name.partition(".llvm.")[0] in wanted:
            yield address


def _require_multi(attach_type: AttachType) -> None:
    """Raise NotSupportedError unless the kernel makes kprobe_multi links of ``attach_type``.

    Decided once by trying: a kernel that has them copies the (bad) address
    array and answers EFAULT; one without them answers EINVAL (older than
    the feature) or EOPNOTSUPP (built without ``CONFIG_FPROBE``).
    """
    if attach_type not in _multi_support:
        _multi_support[attach_type] = _probe_multi(attach_type)
    answer = _multi_support[attach_type]
    if answer is not None:
        raise answer.with_traceback(None)


def _probe_multi(attach_type: AttachType) -> NotSupportedError | None:
    from pybpf.asm import Instructions, builder  # noqa: PLC0415
    from pybpf.asm.opcodes import Register  # noqa: PLC0415
    from pybpf.core import Program  # noqa: PLC0415
    from pybpf.elf import ProgramSpec, ProgramType  # noqa: PLC0415

    session = attach_type == bpf.AttachType.TRACE_KPROBE_SESSION
    feature = "kprobe_multi sessions" if session else "kprobe_multi links"
    since = "6.10" if session else "5.18"
    spec = ProgramSpec(
        name="kprobe_multi",
        section="kprobe.session" if session else "kprobe.multi",
        type=ProgramType.KPROBE,
        instructions=Instructions([builder.mov(Register.R0, 0), builder.exit()]),
        attach_type=attach_type,
        license="GPL",
    )
    try:
        probe = Program(spec)
    except NotSupportedError as e:
        return e
    with probe:
        attr = bpf.new_attr("link_create")
        attr.prog_fd = probe.fd.number
        attr.attach_type = attach_type
        attr.kprobe_multi.cnt = 1
        attr.kprobe_multi.addrs = 8  # unreadable: a kernel that has the feature says EFAULT
        rc = bpf.receive_fd(bpf.Command.LINK_CREATE, attr)
    if isinstance(rc, bpf.FD):
        rc.close()
        return None
    if rc == -errno.EFAULT:
        return None
    if rc == -errno.EOPNOTSUPP:
        return NotSupportedError(
            feature,
            min_version=since,
            code=errno.EOPNOTSUPP,
            reason="this kernel was built without CONFIG_FPROBE: "
            f"{os.strerror(errno.EOPNOTSUPP)} (EOPNOTSUPP)",
        )
    return NotSupportedError(feature, min_version=since, code=-rc)


# -- argument checks ---------------------------------------------------------------


def _check_symbol(symbol: object, where: str, label: str) -> str:
    if not isinstance(symbol, str):
        raise TypeError(f"{where}: {label} must be a str, not {type(symbol).__name__}")
    module, sep, name = symbol.rpartition(":")
    if not name or (sep and not module) or any(c.isspace() for c in symbol) or "\0" in symbol:
        raise ValueError(f"{where}: {label} {symbol!r} is not a kernel symbol (or module:symbol)")
    return symbol


def _check_symbols(symbols: Sequence[str]) -> list[str]:
    if isinstance(symbols, str) or not isinstance(symbols, Iterable):
        kind = type(symbols).__name__
        raise TypeError(f"kprobe_multi: symbols must be a sequence of str, not {kind}")
    names = [_check_symbol(s, "kprobe_multi", "symbol") for s in symbols]
    if not names:
        raise ValueError("kprobe_multi: symbols is empty")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"kprobe_multi: symbol {name!r} is given twice")
        seen.add(name)
    return names


def _check_addresses(addresses: Sequence[int], what: str) -> list[int]:
    if not isinstance(addresses, Iterable):
        kind = type(addresses).__name__
        raise TypeError(f"kprobe_multi: addresses must be a sequence of int, not {kind}")
    addrs = [bpf.check_uint(a, 64, "address", what) for a in addresses]
    if not addrs:
        raise ValueError("kprobe_multi: addresses is empty")
    if len(set(addrs)) != len(addrs):
        raise ValueError("kprobe_multi: an address is given twice")
    return addrs


def _check_cookies(cookies: Sequence[int], count: int, what: str) -> list[int]:
    if not isinstance(cookies, Iterable):
        kind = type(cookies).__name__
        raise TypeError(f"kprobe_multi: cookies must be a sequence of int, not {kind}")
    values = [bpf.check_uint(c, 64, "cookie", what) for c in cookies]
    if len(values) != count:
        raise ValueError(f"kprobe_multi: {len(values)} cookies for {count} functions (one each)")
    return values


def _summary(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else f"{names[0]}, … ({len(names)} functions)"
