"""Griffe extension: show the sources' reST docstrings as the markdown they mean.

The docstrings are prose written for ``help()`` and Sphinx: cross-reference
roles (``:class:`~pybpf.link.Executable```) and doctest blocks (``>>>``).
mkdocstrings reads docstrings as markdown, so, for the API reference only
(the sources are not changed), each role becomes inline code and each
doctest block a fenced ``pycon`` block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :class:`~pybpf.link.Executable`, :data:`X`, :func:`f` ... and :rfc:`1`.
_ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`]+)`")
_PROMPT = re.compile(r"^(\s*)>>> ")


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _fence_doctests(text: str) -> str:
    """Wrap each run of ``>>>`` lines and their output in a ``pycon`` fence."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        prompt = _PROMPT.match(lines[i])
        if prompt is None:
            out.append(lines[i])
            i += 1
            continue
        indent = prompt.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


def markdown_of(text: str) -> str:
    """A reST docstring's text, as markdown."""
    if ">>> " in text:
        text = _fence_doctests(text)
    return _ROLE.sub(_role, text)


class RestDocstrings(griffe.Extension):
    """Rewrite every docstring griffe reads (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Griffe event: an object was read; rewrite its docstring."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_of(obj.docstring.value)
