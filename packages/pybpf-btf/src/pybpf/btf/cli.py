"""``python -m pybpf.btf``: look at BTF from the command line.

``dump FILE [--format raw|c|json] [--pretty] [--base FILE]`` prints the types
of a raw BTF file or of an ELF object's ``.BTF`` section. The raw format is
bpftool's, line for line; JSON is compact, as ``bpftool -j`` prints it, unless
``--pretty`` asks for it indented. As bpftool does, a file under ``/sys/kernel/btf/`` other than
``vmlinux`` is read as split BTF on top of the kernel's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pybpf.btf.cli_dump import json_document, json_text, raw_text
from pybpf.btf.errors import BTFError
from pybpf.btf.kernel import SYSFS_BTF, load_kernel_spec
from pybpf.btf.spec import Spec, load_spec

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pybpf.btf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("dump", help="print the types of a BTF file or ELF object")
    dump.add_argument("file", type=Path, help="raw BTF (e.g. /sys/kernel/btf/vmlinux) or ELF")
    dump.add_argument("--format", choices=("raw", "c", "json"), default="raw")
    dump.add_argument("--pretty", action="store_true", help="indent the JSON")
    dump.add_argument("--base", type=Path, help="base BTF of a split BTF file")
    return parser


def _load(path: Path, base_path: Path | None) -> Spec:
    base: Spec | None = None
    if base_path is not None:
        base = load_spec(base_path)
    elif path.parent == SYSFS_BTF and path.name != "vmlinux":
        base = load_kernel_spec()
    return load_spec(path, base=base)


def _dump_c(spec: Spec, out: TextIO) -> None:
    try:
        cdump = importlib.import_module("pybpf.btf.cdump")
    except ImportError as e:
        raise SystemExit(f"--format c needs pybpf.btf.cdump, which is not available: {e}") from e
    out.write(cdump.format_c(spec))


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        spec = _load(args.file, args.base)
        if args.format == "raw":
            out.writelines(text for _, text in raw_text(spec))
        elif args.format == "json":
            # Compact unless asked; indented, in one string: json's C encoder
            # serves only json.dumps (json.dump streams in pure Python).
            if args.pretty:
                out.write(json.dumps(json_document(spec), indent=1))
            else:
                out.writelines(json_text(spec))
            out.write("\n")
        else:
            _dump_c(spec, out)
    except BrokenPipeError:
        # The reader went away (``| head``): not an error worth a message.
        return 1
    except (BTFError, OSError) as e:
        print(f"error: {args.file}: {e}", file=sys.stderr)
        return 1
    return 0
