"""How many per-CPU slots the kernel copies for per-CPU maps."""

from __future__ import annotations

import functools

_POSSIBLE = "/sys/devices/system/cpu/possible"


def parse_cpu_list(text: str) -> list[int]:
    """The CPUs of a kernel cpu list such as ``"0-3,8,10-11"``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if sep else lo
        except ValueError:
            raise ValueError(f"malformed cpu list {text!r}") from None
        if hi < lo:
            raise ValueError(f"malformed cpu list {text!r}")
        cpus.extend(range(lo, hi + 1))
    if not cpus:
        raise ValueError(f"empty cpu list {text!r}")
    return cpus


@functools.cache
def possible_cpus() -> int:
    """The number of possible CPUs: per-CPU values hold one slot for each."""
    # The kernel copies one slot per possible CPU, in order, packed: holes in
    # the mask take no slot, so this counts CPUs rather than taking the last.
    with open(_POSSIBLE) as f:
        return len(parse_cpu_list(f.read()))
