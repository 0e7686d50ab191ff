"""The errors of the kernel layer.

Every error the kernel reports is a :class:`BPFError`, an :class:`OSError`
carrying ``errno``; the message says what failed on which object. Subclasses
give the cases a caller wants to catch on their own a type, and derive from
the builtin a Python user would reach for (``KeyError``, ``PermissionError``).
"""

from __future__ import annotations

import errno as _errno
import os

#: The kernel-internal ENOTSUPP, which bpf(2) leaks to user space.
ENOTSUPP = 524

__all__ = [
    "ENOTSUPP",
    "ArenaError",
    "BPFError",
    "BPFPermissionError",
    "ClosedError",
    "IncompatibleMapError",
    "KeyExistsError",
    "KeyNotFoundError",
    "LimitError",
    "NotSupportedError",
    "ObjectKindError",
    "PinPathError",
    "VerifierError",
]


def _strerror(code: int) -> str:
    if code == ENOTSUPP:
        return "operation not supported (ENOTSUPP)"
    name = _errno.errorcode.get(code, str(code))
    return f"{os.strerror(code)} ({name})"


class BPFError(OSError):
    """A bpf(2) call failed: ``errno`` says how, the message says on what."""

    def __init__(self, code: int, message: str, *, reason: str | None = None) -> None:
        # ``reason`` replaces the generic strerror text when the caller knows
        # what the errno means here (ENOENT on lookup: "key not found").
        super().__init__(code, f"{message}: {_strerror(code) if reason is None else reason}")


class ClosedError(ValueError):
    """An operation on an object (map, fd) that was already closed."""


class KeyNotFoundError(BPFError, KeyError):
    """The key is not in the map (``ENOENT``)."""


class KeyExistsError(BPFError):
    """The key is already in the map and the update said ``NOEXIST`` (``EEXIST``)."""


class BPFPermissionError(BPFError, PermissionError):
    """The kernel refused (``EPERM``/``EACCES``); the message says what is usually missing."""


class LimitError(BPFError):
    """A kernel limit was hit (``E2BIG``, ``ENOSPC``); ``limit`` names it when known."""

    def __init__(
        self, code: int, message: str, *, limit: str = "", reason: str | None = None
    ) -> None:
        super().__init__(code, f"{message} ({limit})" if limit else message, reason=reason)
        #: The limit that was hit, e.g. ``"max_entries=16"``.
        self.limit = limit


class NotSupportedError(BPFError):
    """The running kernel lacks a feature; ``feature`` and ``min_version`` say which."""

    def __init__(
        self,
        feature: str,
        *,
        min_version: str = "",
        code: int = ENOTSUPP,
        reason: str | None = None,
    ) -> None:
        # ``reason`` is the kernel's own answer when it knows the feature but
        # refused it here (an EPERM from a locked-down build, say): then no
        # version is claimed.
        needs = f" (requires Linux {min_version} or newer)" if min_version else ""
        super().__init__(code, feature, reason=reason or f"not supported by this kernel{needs}")
        #: What is missing, e.g. ``"map type RINGBUF"``.
        self.feature = feature
        #: The first kernel version that has it (``"5.8"``), or ``""`` if unknown.
        self.min_version = min_version


#: Log lines that close every verifier log and say nothing about the cause.
_LOG_TRAILERS = ("processed ", "verification time", "stack depth", "max_states_per_insn")


class VerifierError(BPFError):
    """The verifier rejected a program; ``log`` is its whole log.

    ``str()`` gives the cause (the last meaningful log line), the source line
    the failing instruction came from when the object has BTF line info, and
    the last lines of the log before it. ``truncated`` says whether the log
    did not fit even at the kernel's maximum size.
    """

    def __init__(
        self,
        code: int,
        program: str,
        log: str,
        *,
        source: str = "",
        truncated: bool = False,
        tail_lines: int = 5,
    ) -> None:
        lines = [line for line in log.splitlines() if line.strip()]
        useful = [line for line in lines if not line.startswith(_LOG_TRAILERS)]
        #: The last meaningful line of the log: usually what the verifier objects to.
        self.cause = useful[-1] if useful else ""
        if not source:
            source = next(
                (line[2:].strip() for line in reversed(useful) if line.startswith("; ")), ""
            )
        #: The C source line (``text @ file:line``) of the failing instruction, if known.
        self.source = source
        parts = [self.cause or _strerror(code)]
        if source:
            parts.append(f"source: {source}")
        tail = useful[-tail_lines - 1 : -1] if len(useful) > 1 else []
        if tail:
            parts.append("log tail:\n  " + "\n  ".join(tail))
        if truncated:
            parts.append("(log truncated)")
        super().__init__(code, f"load program {program!r}", reason="\n".join(parts))
        #: The program's name.
        self.program = program
        #: The verifier's whole log.
        self.log = log
        #: Whether the log was cut short at the kernel's maximum size.
        self.truncated = truncated


class ArenaError(BPFError):
    """An arena could not be mapped, or its ``__arena`` globals not placed in it."""


class PinPathError(ValueError):
    """A pin path or an object's pin name that cannot be used, said before any syscall.

    ``path`` is the offending path (or the directory a name was to be joined
    to), ``name`` the name of the object to pin, when known.
    """

    def __init__(self, path: str, reason: str, *, name: str = "", kind: str = "map") -> None:
        who = f"{kind} {name!r}: " if name else ""
        super().__init__(f"{who}pin path {path!r}: {reason}")
        #: The path (or pin directory) that was refused.
        self.path = path
        #: The name of the object whose pin it was, if known.
        self.name = name


class ObjectKindError(BPFError, TypeError):
    """An fd, id or pin that holds another kind of object than the one asked for.

    ``Program.load_pinned`` of a map's pin, ``Map.from_fd`` of a program's fd
    and the like. ``expected`` is the kind asked for (``"program"``),
    ``actual`` what the object is (``"map"``, ``"link"``, or a description of
    a file that is no BPF object at all).
    """

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(_errno.EINVAL, what, reason=f"is a {actual}, not a {expected}")
        #: The kind that was asked for.
        self.expected = expected
        #: The kind the object is.
        self.actual = actual


class IncompatibleMapError(BPFError):
    """An existing map (pinned or a replacement) differs from the spec; ``property`` says how."""

    def __init__(self, name: str, prop: str, want: object, have: object, where: str) -> None:
        super().__init__(
            _errno.EINVAL,
            f"map {name!r} ({where})",
            reason=f"{prop} differs: the spec wants {want!r}, the existing map has {have!r}",
        )
        #: The property that differs (``"key_size"``, ``"type"``, ...).
        self.property = prop
