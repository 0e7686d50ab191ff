"""Function pointers (``BPF_PSEUDO_FUNC``) keep their offset in the first half only.

libbpf writes a function pointer's relative offset into the first half's
immediate and leaves the second half zero, also when the offset is negative
(a subprogram that takes the address of a callback appended before it); the
kernel reads the first half only. A sign-extended second half changed the
program's bytes, so its tag, from libbpf's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.asm import Helper, Instructions, decode
from pybpf.core import Collection, features
from pybpf.elf import ProgramType, load_collection_spec


def _pointers(insns: Instructions) -> list[tuple[int, int]]:
    """(slot, slot of the target) of every function pointer."""
    return [
        (slot, slot + insn.branch_offset + 1)
        for slot, insn in insns.offsets()
        if insn.is_function_pointer
    ]


@pytest.mark.parametrize("order", ["el", "eb"])
def test_backward_pointer_has_a_zero_second_half(testdata: Path, order: str) -> None:
    prog = load_collection_spec(testdata / f"func_pointers-{order}.o").programs["sum_indices"]
    starts = {insn.symbol: slot for slot, insn in prog.instructions.offsets() if insn.symbol}
    pointers = _pointers(prog.instructions)
    assert [target for _, target in pointers] == [starts["add_index"]] * len(pointers)
    assert any(target < slot for slot, target in pointers)
    raw = prog.instructions.encode("little")
    for slot, _ in pointers:
        assert raw[(slot + 1) * 8 + 4 : (slot + 2) * 8] == bytes(4)
    # Decoding what was encoded gives the same (negative) offsets.
    assert _pointers(decode(raw, "little")) == pointers


@pytest.mark.kernel
def test_callbacks_run(testdata: Path) -> None:
    # The kernel says whether tc programs may call bpf_loop (a skip if not).
    features.have_helper(ProgramType.SCHED_CLS, Helper.LOOP)
    with Collection(testdata / "func_pointers-el.o") as coll:
        assert coll.programs["sum_indices"].run(bytes(64)).retval == 2
        assert coll.variables["total"].get() == 4
