"""What ``pybpf btf dump`` and ``pybpf btf diff`` run (declared in :mod:`pybpf.cli.btf`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pybpf.cli.main import CommandError

if TYPE_CHECKING:
    from pybpf.btf.spec import Spec
    from pybpf.btf.types import Type

__all__ = ["diff", "dump", "load_btf"]

_VMLINUX = Path("/sys/kernel/btf/vmlinux")


def load_btf(path: Path, base: Path | None = None) -> Spec:
    """The BTF in ``path`` (raw or an ELF object's ``.BTF``); ``vmlinux`` is the kernel's."""
    from pybpf.btf.cli import _load  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.cli.output import Progress  # noqa: PLC0415

    if str(path) == "vmlinux" and not path.exists():
        path = _VMLINUX
    if not path.exists():
        raise CommandError(f"{path}: no such file", "give a BTF file, an ELF object or 'vmlinux'")
    with Progress("pybpf") as progress:
        progress.note(f"reading {path}")
        return _load(path, base)


def _selected(spec: Spec, name: str | None) -> list[tuple[int, Type]]:
    if name is None:
        return [(i, spec.type_by_id(i)) for i in range(spec.start_id, spec.next_id)]
    found = spec.types_by_name(name)
    if not found:
        raise CommandError(f"no type named {name!r}", "names are case-sensitive: 'task_struct'")
    return [(spec.type_id(t), t) for t in found]


def dump(args: argparse.Namespace) -> int:
    """Print the types of a BTF blob: bpftool's raw text, C, or JSON."""
    from pybpf.btf.cdump import format_c  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.btf.cli_dump import (  # noqa: PLC0415
        _raw,
        json_document,
        json_text,
        raw_text,
        type_fields,
    )
    from pybpf.cli.output import Progress, print_json  # noqa: PLC0415

    spec = load_btf(Path(args.file), Path(args.base) if args.base else None)
    out = sys.stdout
    if args.format == "raw" and args.type is None:
        # Before anything decodes a type: the whole dump can come from the records.
        with Progress("pybpf btf dump", spec.next_id - spec.start_id) as progress:
            done = 0
            for count, text in raw_text(spec):
                out.write(text)
                done += count
                progress.update(done)
        out.flush()
        return 0
    if args.format == "json":
        if args.type is None and not args.pretty:
            # Compact as bpftool -j, written from the records before anything
            # decodes a type.
            out.writelines(json_text(spec))
            out.write("\n")
        else:
            if args.type is None:
                doc = json_document(spec)
            else:
                doc = {"types": [type_fields(spec, i, t) for i, t in _selected(spec, args.type)]}
            if args.pretty:
                print_json(doc)
            else:
                # In one string: json's C encoder serves only json.dumps without
                # an indent (json.dump streams in pure Python).
                out.write(json.dumps(doc, separators=(",", ":")))
                out.write("\n")
    elif args.format == "c":
        # A whole spec untouched by decoding is dumped by the compiled module
        # where installed: pick types only when the user names some.
        roots = spec if args.type is None else [t for _, t in _selected(spec, args.type)]
        out.write(format_c(roots))
    else:
        chosen = _selected(spec, args.type)
        with Progress("pybpf btf dump", len(chosen)) as progress:
            for n, (type_id, t) in enumerate(chosen):
                out.write("\n".join(_raw(spec, type_id, t)))
                out.write("\n")
                if n % 4096 == 0:
                    progress.update(n)
    out.flush()
    return 0


def diff(args: argparse.Namespace) -> int:
    """Print what changed between two BTF blobs; exit status 0 either way, as with a report."""
    from pybpf.cli.btf_diff import diff_specs  # noqa: PLC0415 (lazy: start-up time)
    from pybpf.cli.output import Progress, print_json  # noqa: PLC0415

    old, new = load_btf(Path(args.old)), load_btf(Path(args.new))
    with Progress("pybpf btf diff", old.next_id - old.start_id) as progress:
        result = diff_specs(old, new, progress)
    if args.json:
        print_json(result.as_json())
    else:
        for line in result.lines():
            print(line)
    return 0
