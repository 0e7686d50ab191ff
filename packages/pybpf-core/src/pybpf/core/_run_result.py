"""What a test run of a program gives back.

A module of its own so that loading a program does not define it: a frozen
dataclass costs most of a millisecond to define, and only ``Program.run``
makes one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunResult"]


@dataclass(frozen=True)
class RunResult:
    """What ``BPF_PROG_TEST_RUN`` gave back."""

    #: The program's return value (``r0``, 32 bits).
    retval: int
    #: The packet data after the run (``b""`` when none was given or asked for).
    data: bytes
    #: The context after the run (``b""`` when none was given or asked for).
    ctx: bytes
    #: The mean duration of one run, in nanoseconds.
    duration_ns: int
