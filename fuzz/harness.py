"""What every harness shares: the libFuzzer run, the typed errors it lets through.

A harness module defines ``ALLOWED`` (the library's own typed errors, each layer's
``ValueError`` subclass) and ``check(data)``, which feeds ``data`` to a parser
and to what consumes the parsed result. ``run(module)`` fuzzes it with atheris:
any other exception, an input that runs past the time limit or memory past the
RSS limit is a crash, written to the artifacts folder.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from types import ModuleType

import atheris  # type: ignore[import-untyped]

# An input under 100 KB that takes longer than this is a hang.
TIMEOUT_SECONDS = 2
RSS_LIMIT_MB = 2048
MAX_LEN = 100_000


def one_input(
    check: Callable[[bytes], None], allowed: tuple[type[BaseException], ...]
) -> Callable[[bytes], None]:
    """The callback libFuzzer calls per input: ``check`` may raise only ``allowed``."""

    def test_one_input(data: bytes) -> None:
        with contextlib.suppress(*allowed):
            check(data)

    return test_one_input


def run(module: ModuleType, argv: list[str]) -> None:
    """Fuzz ``module.check`` with atheris; ``argv`` are libFuzzer's options and corpus dirs."""
    options = [
        f"-timeout={TIMEOUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-max_len={MAX_LEN}",
        "-print_final_stats=1",
    ]
    atheris.Setup([sys.argv[0], *options, *argv], one_input(module.check, module.ALLOWED))
    atheris.Fuzz()
