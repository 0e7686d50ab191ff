"""Fuzz target: well-framed BTF with arbitrary type graphs, through every consumer.

Raw-byte mutation spends most inputs on broken framing; here the input only
chooses kinds, references, sizes and offsets, so that deep chains, cycles and
hostile layouts reach validation, sizes, marshalling and every dump.
"""

from __future__ import annotations

import json
import struct
import sys

import atheris  # type: ignore[import-untyped]
from harness import run

with atheris.instrument_imports():
    from pybpf.btf import BTFError, load_spec, marshal
    from pybpf.btf.cdump import format_c
    from pybpf.btf.cli_dump import json_document, raw_lines

ALLOWED = (BTFError,)

STRINGS = b"\0a\0b\0int\0s\0t\0"
NAMES = [0, 1, 3, 5, 9, 11]
# Kinds 1..19 (INT .. ENUM64) and the words each one's record carries after
# the common three: per record, and per vlen item.
EXTRA = {1: (1, 0), 3: (3, 0), 4: (0, 3), 5: (0, 3), 6: (0, 2), 13: (0, 2), 14: (1, 0)}
EXTRA |= {15: (0, 3), 17: (1, 0), 19: (0, 3)}
INTERESTING = [0, 1, 2, 3, 4, 7, 8, 16, 32, 64, 0xFFFF, 0xFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


def _word(fdp: atheris.FuzzedDataProvider, count: int) -> int:
    choice = fdp.ConsumeIntInRange(0, 3)
    if choice == 0:
        return int(fdp.ConsumeIntInRange(0, count))  # a type id
    if choice == 1:
        return int(NAMES[fdp.ConsumeIntInRange(0, len(NAMES) - 1)])
    if choice == 2:
        return int(INTERESTING[fdp.ConsumeIntInRange(0, len(INTERESTING) - 1)])
    return int(fdp.ConsumeIntInRange(0, 0xFFFFFFFF))


def build(data: bytes) -> bytes:
    """A BTF blob whose framing is right and whose contents ``data`` chooses."""
    fdp = atheris.FuzzedDataProvider(data)
    count = fdp.ConsumeIntInRange(1, 200)
    words: list[int] = []
    for _ in range(count):
        if fdp.remaining_bytes() == 0:
            break
        kind = fdp.ConsumeIntInRange(1, 19)
        vlen = fdp.ConsumeIntInRange(0, 6)
        flag = fdp.ConsumeBool()
        per_record, per_item = EXTRA.get(kind, (0, 0))
        if not per_item:
            vlen = 0
        name = NAMES[fdp.ConsumeIntInRange(0, len(NAMES) - 1)]
        words += [name, (flag << 31) | (kind << 24) | vlen, _word(fdp, count)]
        words += [_word(fdp, count) for _ in range(per_record + per_item * vlen)]
    types = struct.pack(f"<{len(words)}I", *words)
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(STRINGS))
    return header + types + STRINGS


def check(data: bytes) -> None:
    """Load the blob ``data`` chooses and use it every way the library offers."""
    spec = load_spec(build(data))
    for t in spec.own_types():
        try:
            spec.sizeof(t)
            spec.alignof(t)
        except BTFError:
            pass
    for _ in raw_lines(spec):
        pass
    json.dumps(json_document(spec))
    format_c(spec)
    spec.validate()
    marshal(spec)


if __name__ == "__main__":
    run(sys.modules[__name__], sys.argv[1:])
