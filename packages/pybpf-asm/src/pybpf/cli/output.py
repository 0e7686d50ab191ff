"""What every ``pybpf`` command prints with: JSON documents and progress on a terminal."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

__all__ = ["Progress", "print_documents", "print_json"]


def print_json(doc: Any, out: TextIO | None = None) -> None:
    """``doc`` as one JSON document, indented, with a final newline."""
    out = out or sys.stdout
    json.dump(doc, out, indent=2)
    out.write("\n")
    out.flush()


def print_documents(
    docs: dict[str, Any] | list[dict[str, Any]],
    text: Callable[[dict[str, Any]], list[str]],
    *,
    as_json: bool,
) -> None:
    """A listing's or one object's documents: as JSON, or as ``text`` lines each.

    A list stays a JSON array (``prog list --json``), one document an object
    (``prog show --json``), as bpftool prints them.
    """
    if as_json:
        print_json(docs)
        return
    for doc in docs if isinstance(docs, list) else [docs]:
        print("\n".join(text(doc)))


class Progress:
    """``label: done/total`` on stderr while long work runs, only when stderr is a terminal.

    Piped or redirected, it prints nothing. Updates are drawn at most ten
    times a second; the line is erased when the work ends.
    """

    def __init__(self, label: str, total: int = 0, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self._stream = stream or sys.stderr
        self._shown = self._stream.isatty()
        self._drawn = 0.0

    def update(self, done: int) -> None:
        """Say that ``done`` of ``total`` items are finished."""
        if not self._shown:
            return
        now = time.monotonic()
        if now - self._drawn < 0.1:
            return
        self._drawn = now
        of = f"/{self.total}" if self.total else ""
        self._stream.write(f"\r{self.label}: {done}{of}\x1b[K")
        self._stream.flush()

    def note(self, text: str) -> None:
        """Show ``text`` as the current step (``reading vmlinux``)."""
        if self._shown:
            self._stream.write(f"\r{self.label}: {text}\x1b[K")
            self._stream.flush()

    def done(self) -> None:
        """Erase the progress line."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.done()
