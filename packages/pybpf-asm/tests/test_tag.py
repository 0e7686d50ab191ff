"""Instructions.tag(): the kernel's program tag, computed offline.

That it equals the tag the running kernel reports is checked in pybpf-core's
tests (test_core_program_tag.py): this layer never calls bpf(2).
"""

from __future__ import annotations

import pytest

from pybpf import asm
from pybpf.asm import R0, R1, R2, R10, Helper


def program() -> asm.Instructions:
    return asm.Instructions(
        [
            asm.symbol("main"),
            asm.store(R10, -4, 0, size=4),
            asm.mov(R2, R10),
            asm.add(R2, -4),
            asm.ld_map_fd(R1, "counters"),
            asm.call(Helper.MAP_LOOKUP_ELEM),
            asm.jeq(R0, 0, "out"),
            asm.ld_map_value(R1, "counters", 0),
            asm.load(R2, R1, 0),
            asm.call("helper"),
            asm.label("out"),
            asm.mov(R0, 0),
            asm.exit(),
            asm.symbol("helper"),
            asm.mov(R0, 1),
            asm.exit(),
        ]
    )


def test_tag_ignores_map_fds() -> None:
    one, two = program(), program()
    for insns, fd in ((one, 3), (two, 42)):
        insns.resolve_references()
        for insn in insns:
            if insn.is_load_from_map:
                insn.set_map_fd(fd)
    assert one.encode() != two.encode()
    assert one.tag() == two.tag()
    assert one.tag(algorithm="sha1") == two.tag(algorithm="sha1")
    assert one.tag("big") == two.tag("big") != one.tag()
    assert one.tag() != one.tag(algorithm="sha1")
    assert len(one.tag()) == 16


def test_tag_of_two_instructions() -> None:
    # The tag of "r0 = 0; exit" as Linux 6.18 reports it (bpftool prog show).
    insns = asm.Instructions([asm.mov(R0, 0), asm.exit()])
    assert insns.tag() == "59f4a931744dcdc6"
    assert insns.matches_tag("59F4A931744DCDC6")
    assert insns.matches_tag(insns.tag(algorithm="sha1"))
    assert not insns.matches_tag("0000000000000000")


def test_tag_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        asm.Instructions([asm.exit()]).tag(algorithm="md5")  # type: ignore[arg-type]
