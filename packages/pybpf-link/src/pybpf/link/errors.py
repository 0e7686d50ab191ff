"""The link layer's own errors: missing binaries, symbols, probes, tracepoints; bad targets.

The kernel's refusals are core's typed errors (:class:`~pybpf.core.BPFError`
and its subclasses); these name what was not found before the kernel was asked.
"""

from __future__ import annotations

import errno

__all__ = [
    "AmbiguousSymbolError",
    "BinaryNotFoundError",
    "InterfaceNotFoundError",
    "KernelSymbolNotFoundError",
    "NotACgroupError",
    "NotANetworkNamespaceError",
    "SectionNotAttachableError",
    "SymbolNotFoundError",
    "TracepointNotFoundError",
    "USDTArgumentError",
    "USDTProbeNotFoundError",
]


class BinaryNotFoundError(FileNotFoundError):
    """No executable or library of that name or path (``errno`` is ``ENOENT``)."""

    def __init__(self, name: str, searched: str = "") -> None:
        where = f" (searched {searched})" if searched else ""
        super().__init__(errno.ENOENT, f"no binary {name!r}{where}", name)
        self.name = name


class SymbolNotFoundError(LookupError):
    """The binary defines no function of that name (``symbol``, ``path`` say which)."""

    def __init__(self, symbol: str, path: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"symbol {symbol!r} not found in {path!r}{detail}")
        self.symbol = symbol
        self.path = path


class AmbiguousSymbolError(LookupError):
    """Two non-weak definitions of one name at different offsets: which one is unclear."""

    def __init__(self, symbol: str, path: str, offsets: tuple[int, ...]) -> None:
        where = ", ".join(f"{o:#x}" for o in offsets)
        super().__init__(f"symbol {symbol!r} in {path!r} is ambiguous: defined at {where}")
        self.symbol = symbol
        self.path = path
        self.offsets = offsets


class USDTProbeNotFoundError(LookupError):
    """The binary has no USDT probe ``provider:name``."""

    def __init__(self, provider: str, name: str, path: str) -> None:
        super().__init__(f"USDT probe {provider}:{name} not found in {path!r}")
        self.provider = provider
        self.name = name
        self.path = path


class USDTArgumentError(ValueError):
    """A USDT argument spec that libbpf's ``usdt.bpf.h`` convention cannot express.

    ``spec`` is the note's whole argument string and ``index`` the argument,
    when the error is about one; encoding errors name neither.
    """

    def __init__(self, message: str, *, spec: str | None = None, index: int | None = None) -> None:
        where = f"argument #{index} of " if index is not None else ""
        if spec is not None:
            message = f"{where}USDT spec {spec!r}: {message}"
        super().__init__(message)
        self.spec = spec
        self.index = index


class TracepointNotFoundError(LookupError):
    """The kernel has no tracepoint ``group/name`` (not in tracefs ``events/``)."""

    def __init__(self, group: str, name: str) -> None:
        super().__init__(f"tracepoint {group}/{name} not found (no tracefs events/{group}/{name})")
        self.group = group
        self.name = name


class KernelSymbolNotFoundError(LookupError):
    """The kernel has no function ``symbol`` to probe (not in kallsyms, or not probeable)."""

    def __init__(self, symbol: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"kernel symbol {symbol!r} not found or not probeable{detail}")
        self.symbol = symbol


class SectionNotAttachableError(ValueError):
    """A program whose section does not say where to attach it (``xdp``, a bare ``kprobe``).

    ``section`` is the program's section, ``call`` the explicit attach call to
    use instead (None where there is none), ``malformed`` whether the section
    tries to name a target but cannot be read (``kretprobe/f+8``) rather than
    naming none: :func:`~pybpf.link.attach_all` skips the programs that name
    none and raises for the malformed ones, as libbpf does.
    """

    def __init__(
        self, section: str, call: str | None, why: str = "", *, malformed: bool = False
    ) -> None:
        what = f"section {section!r}" if section else "the program"
        reason = f": {why}" if why else ""
        use = f"; use {call}" if call else ""
        super().__init__(f"{what} cannot be attached automatically{reason}{use}")
        self.section = section
        self.call = call
        self.why = why
        self.malformed = malformed


class InterfaceNotFoundError(LookupError):
    """No network interface of that name or index in this network namespace."""

    def __init__(self, interface: str | int) -> None:
        kind = "name" if isinstance(interface, str) else "index"
        super().__init__(f"no network interface with {kind} {interface!r} in this namespace")
        self.interface = interface


class NotACgroupError(ValueError):
    """A path or fd that is not a cgroup v2 directory (``cgroup`` says which, ``reason`` why).

    cgroup programs attach to cgroup v2 only: a cgroup v1 directory, a plain
    directory or a missing path is refused before the kernel is asked.
    """

    def __init__(self, cgroup: str | int, reason: str) -> None:
        what = f"fd {cgroup}" if isinstance(cgroup, int) else repr(cgroup)
        super().__init__(f"{what} is not a cgroup v2 directory: {reason}")
        self.cgroup = cgroup
        self.reason = reason


class NotANetworkNamespaceError(ValueError):
    """A path or fd that is not a network namespace (``netns`` says which, ``reason`` why)."""

    def __init__(self, netns: str | int, reason: str) -> None:
        what = f"fd {netns}" if isinstance(netns, int) else repr(netns)
        super().__init__(f"{what} is not a network namespace: {reason}")
        self.netns = netns
        self.reason = reason
