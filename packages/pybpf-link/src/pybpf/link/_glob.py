"""libbpf's glob (``glob_match``), as a regex: ``*`` any run, ``?`` any one character.

Kernel function patterns (``kprobe_multi``) and a file's function patterns
(``uprobe_multi``) both use it; ``re`` is imported by the first pattern, not
by the modules that may never see one.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    import re

__all__ = ["glob_regex"]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regex of ``pattern``: ``*`` any run of characters, ``?`` any one, nothing else."""
    import re  # noqa: PLC0415

    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)
