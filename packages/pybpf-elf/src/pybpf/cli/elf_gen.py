"""What ``pybpf gen`` runs (declared in :mod:`pybpf.cli.elf`)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from pybpf.cli.main import CommandError

__all__ = ["gen", "recorded_command"]


def recorded_command(args: argparse.Namespace) -> list[str]:
    """The command a module's header records: the arguments that decide its text.

    In a fixed order, without ``--check`` or ``--output-dir`` (which change
    where it goes, not what it says), so that ``--check`` regenerates the
    same header.
    """
    cmd = ["pybpf", "gen", args.name]
    if args.source is not None:
        cmd.append(args.source)
    if args.clang:
        cmd += ["--clang", args.clang]
    for obj in args.object:
        cmd += ["--object", obj]
    for t in args.type:
        cmd += ["--type", t]
    if args.object_file:
        cmd.append("--object-file")
    if args.cflags:
        cmd += ["--", *args.cflags]
    return cmd


def gen(args: argparse.Namespace) -> int:
    """``pybpf gen``: write (or ``--check``) the module and its object files."""
    from pybpf.elf.gen import (  # noqa: PLC0415 (start-up time)
        ClangNotFoundError,
        CompileError,
        generate,
    )

    if (args.source is None) == (not args.object):
        raise CommandError(
            "give a C source or --object files", "pybpf gen NAME SOURCE.c, or --object OBJ"
        )
    try:
        module = generate(
            args.name,
            args.source,
            objects=args.object,
            clang=args.clang,
            cflags=args.cflags,
            types=args.type,
            object_file=args.object_file,
            command=recorded_command(args),
        )
    except ClangNotFoundError as exc:
        raise CommandError(str(exc)) from None
    except CompileError as exc:
        # The error line is printed last, by the dispatcher; clang's output first.
        print("\n".join(str(exc).splitlines()[1:]), file=sys.stderr)
        raise
    out = Path(args.output_dir)
    if args.check:
        stale = module.stale(out)
        for path in stale:
            print(f"{path}: out of date", file=sys.stderr)
        if stale:
            print(f"regenerate with: {shlex.join(recorded_command(args))}", file=sys.stderr)
            return 1
        print(f"{out / module.filename}: up to date")
        return 0
    for written in module.write(out):
        print(f"wrote {written}")
    return 0
