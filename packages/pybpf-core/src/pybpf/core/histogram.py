"""Log2 histograms as bcc's tools print them (``print_log2_hist``).

A BPF program counts values in power-of-two slots, slot ``i`` holding the
values from ``2**(i-1)`` to ``2**i - 1`` (slot 0 holds 0): usually an array
map indexed by the slot. :func:`log2_histogram` draws it:

>>> print(log2_histogram([0, 1, 3, 8, 2], label="usecs"))
     usecs               : count     distribution
         0 -> 1          : 1        |*****                                   |
         2 -> 3          : 3        |***************                         |
         4 -> 7          : 8        |****************************************|
         8 -> 15         : 2        |**********                              |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["log2_histogram"]

_STARS = 40


def _stars(value: int, most: int, width: int) -> str:
    if most <= 0:
        return ""
    return "*" * min(width, int(width * value / most))


def log2_histogram(
    counts: Iterable[int] | Mapping[int, int],
    *,
    label: str = "value",
    skip_leading_zeros: bool = False,
) -> str:
    """The text of a log2 histogram: one line per slot up to the last one counted.

    ``counts`` is the count of each slot, in order (a list, or an array map's
    values), or a mapping of slot to count (a hash map). ``label`` names the
    values (``"usecs"``); ``skip_leading_zeros`` leaves out the empty slots
    before the first counted one. Empty counts give an empty string. The
    layout is bcc's, so that output reads like its tools'.
    """
    if isinstance(counts, Mapping):
        items = {int(k): int(v) for k, v in counts.items()}
        slots = [items.get(i, 0) for i in range(max(items, default=-1) + 1)]
    else:
        slots = [int(v) for v in counts]
    last = max((i for i, v in enumerate(slots) if v > 0), default=-1)
    if last < 0:
        return ""
    slots += [0] * (2 - len(slots))  # slot 0 is drawn with slot 1
    most = max(slots)
    wide = last > 32
    width = _STARS // 2 if wide else _STARS
    digits = 20 if wide else 10
    head = f"{'':15}{label:<29}" if wide else f"{'':5}{label:<19}"
    lines = [f"{head} : count     distribution"]
    leading = skip_leading_zeros
    for i in range(1, max(last, 1) + 1):
        low, high = (1 << i) >> 1, (1 << i) - 1
        if low == high:
            low -= 1
        value = slots[i] + (slots[0] if i == 1 else 0)
        if leading and not value:
            continue
        leading = False
        bar = _stars(value, most, width)
        lines.append(f"{low:>{digits}} -> {high:<{digits}} : {value:<8} |{bar:<{width}}|")
    return "\n".join(lines)
