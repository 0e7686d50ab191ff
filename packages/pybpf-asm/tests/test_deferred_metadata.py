"""Metadata kept packed and built when read: the same as metadata set at once."""

from __future__ import annotations

import copy
import gc
import pickle

import pytest

from pybpf import asm
from pybpf.asm import R0
from pybpf.asm.instruction import DeferredMetadata, Instruction


class Built:
    """Counts the values built, to show what is built and when."""

    def __init__(self) -> None:
        self.rows: list[int] = []

    def __call__(self, row: int) -> str:
        self.rows.append(row)
        return f"line {row}"


def program() -> asm.Instructions:
    return asm.Instructions([asm.mov(R0, i) for i in range(5)] + [asm.exit()])


def eager(insns: asm.Instructions, key: object, indices: list[int]) -> None:
    for row, index in enumerate(indices):
        insns[index].metadata[key] = f"line {row}"


def test_built_on_first_read_and_equal_to_metadata_set_at_once() -> None:
    lazy, expected = program(), program()
    built = Built()
    deferred = DeferredMetadata()
    deferred.add("line", [lazy[0], lazy[2], lazy[5]], [0, 1, 2], built)
    deferred.attach()
    eager(expected, "line", [0, 2, 5])
    assert built.rows == []
    assert lazy[2].metadata == {"line": "line 1"}
    assert built.rows == [1]
    assert lazy == expected
    assert [insn.metadata for insn in lazy] == [insn.metadata for insn in expected]
    assert sorted(built.rows) == [0, 1, 2]


def test_last_row_wins_and_keys_merge() -> None:
    insns = program()
    deferred = DeferredMetadata()
    deferred.add("func", [insns[0]], [7], lambda row: row)
    deferred.add("line", [insns[0], insns[1], insns[0]], [0, 1, 2], str)
    deferred.attach()
    assert insns[0].metadata == {"func": 7, "line": "2"}
    assert list(insns[0].metadata) == ["func", "line"]
    assert insns[1].metadata == {"line": "1"}
    assert not insns[3].metadata


def test_names_set_before_or_after_keep_the_metadata() -> None:
    insns = program()
    insns[0].symbol = "main"
    insns[1].metadata["extern"] = "x"
    deferred = DeferredMetadata()
    deferred.add("line", [insns[0], insns[1], insns[2]], [0, 1, 2], str)
    deferred.attach()
    assert insns[0].symbol == "main" and insns[0].metadata == {"line": "0"}
    assert insns[1].metadata == {"extern": "x", "line": "1"}
    assert insns[2].symbol is None and insns[2].label is None
    insns[2].label = "out"
    assert insns[2].label == "out" and insns[2].metadata == {"line": "2"}


def test_copies_carry_it_unbuilt_and_stay_independent() -> None:
    insns = program()
    built = Built()
    deferred = DeferredMetadata()
    deferred.add("line", list(insns), range(len(insns)), built)
    deferred.attach()
    clone = insns.copy()
    assert built.rows == []
    clone[0].metadata["line"] = "edited"
    assert insns[0].metadata == {"line": "line 0"}
    assert clone[1].metadata == {"line": "line 1"}
    again = clone[3].copy()
    assert again.metadata == insns[3].metadata == {"line": "line 3"}


def test_pickle_deepcopy_and_repr_hold_it_built() -> None:
    insns = program()
    deferred = DeferredMetadata()
    deferred.add("line", [insns[4]], [0], str)
    deferred.attach()
    for clone in (pickle.loads(pickle.dumps(insns)), copy.deepcopy(insns)):
        assert clone == insns
        assert clone[4].metadata == {"line": "0"}
    fresh = program()
    fresh2 = DeferredMetadata()
    fresh2.add("line", [fresh[1]], [3], str)
    fresh2.attach()
    assert "metadata={'line': '3'}" in repr(fresh[1])


def test_get_metadata_builds_only_what_holds_the_key() -> None:
    insns = [Instruction(0xB7, 0, 0, 0, i) for i in range(3)]
    deferred = DeferredMetadata()
    deferred.add("line", insns[:2], [10, 11], lambda row: f"line {row}")
    deferred.attach()
    assert insns[2].get_metadata("line") is None
    assert insns[0].get_metadata("other", "none") == "none"
    assert insns[0]._names is not None and type(insns[0]._names).__name__ == "_Deferred"
    assert insns[1].get_metadata("line") == "line 11"
    assert insns[1].metadata == {"line": "line 11"}
    plain = Instruction(0xB7)
    assert plain.get_metadata("line", 0) == 0
    assert plain._names is None  # no empty mapping made
    plain.metadata["line"] = "mine"
    assert plain.get_metadata("line") == "mine"


def test_the_lookup_by_identity_is_built_at_the_first_read() -> None:
    # Reading an object attaches records to tens of thousands of instructions:
    # the per-instruction lookup is made only when some metadata is read.
    insns = program()
    insns[1].reference = "map"
    deferred = DeferredMetadata()
    deferred.add("line", [insns[0], insns[1], insns[2]], [0, 1, 2], str)
    deferred.attach()
    shared = insns[0]._names
    assert type(shared).__name__ == "_Deferred"
    assert insns[1]._names is not shared
    early = insns[2].copy()
    assert shared._built is None  # type: ignore[union-attr]
    assert early.metadata == {"line": "2"}
    assert shared._built is not None  # type: ignore[union-attr]
    assert insns[2].metadata == {"line": "2"}
    assert insns[0].metadata == {"line": "0"}
    assert insns[1].metadata == {"line": "1"}


def test_named_instructions_keep_their_metadata_packed_too() -> None:
    # Function starts and relocated instructions have names before their
    # records attach: their metadata waits for its first read like the rest.
    insns, expected = program(), program()
    for target in (insns, expected):
        target[0].symbol = "main"
        target[1].reference = "map"
        target[1].metadata["extern"] = "x"
    built = Built()
    deferred = DeferredMetadata()
    deferred.add("line", [insns[0], insns[1], insns[2]], [0, 1, 2], built)
    deferred.attach()
    eager(expected, "line", [0, 1, 2])
    assert insns[0].symbol == "main" and insns[1].reference == "map"
    insns[0].label = "start"
    insns[2].symbol = "other"
    expected[0].label = "start"
    expected[2].symbol = "other"
    copies = insns.copy()
    single = insns[1].copy()
    assert built.rows == []
    assert copies[0].symbol == "main" and copies[0].label == "start"
    assert single.get_metadata("line") == "line 1" and built.rows == [1]
    assert single.metadata == {"extern": "x", "line": "line 1"}
    assert list(insns[1].metadata) == ["extern", "line"]
    assert insns == expected and copies == expected
    copies[0].metadata["line"] = "edited"
    assert insns[0].metadata == {"line": "line 0"}
    assert insns[2].symbol == "other" and insns[2].get_metadata("line") == "line 2"


def test_attached_metadata_makes_no_reference_cycle() -> None:
    # A dropped program is freed by reference counting, not left to the
    # cyclic collector (which would also run more often while loading).
    gc.collect()
    gc.disable()
    try:
        insns = program()
        insns[0].symbol = "main"
        deferred = DeferredMetadata()
        deferred.add("line", list(insns), range(len(insns)), str)
        deferred.attach()
        copies = insns.copy()
        del insns, copies, deferred
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_rows_must_pair_with_instructions() -> None:
    insns = program()
    with pytest.raises(ValueError, match="1 instructions for 2 rows"):
        DeferredMetadata().add("line", [insns[0]], [0, 1], str)


def test_named_copies_made_after_the_first_read_carry_it_too() -> None:
    insns = program()
    insns[1].reference = "map"
    deferred = DeferredMetadata()
    deferred.add("line", [insns[0], insns[1]], [0, 1], str)
    deferred.attach()
    assert insns[0].metadata == {"line": "0"}  # builds the lookup
    early = insns[1].copy()
    late = early.copy()
    assert (late.reference, late.get_metadata("line")) == ("map", "1")
    assert early.metadata == {"line": "1"} and insns[1].metadata == {"line": "1"}
    renamed = insns[1].with_reference("other")
    assert (renamed.reference, renamed.metadata) == ("other", {"line": "1"})
    assert insns[1].reference == "map"
