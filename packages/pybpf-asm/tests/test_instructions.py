"""Instructions as a list: editing, names and metadata, copies, references, text."""

from __future__ import annotations

import pytest

from pybpf import asm
from pybpf.asm import R0, R1, R2, Helper, InstructionError, UnresolvedReferenceError


def sample() -> asm.Instructions:
    return asm.Instructions(
        [
            asm.symbol("main"),
            asm.mov(R0, 0),
            asm.ld_map_fd(R1, "events"),
            asm.jeq(R1, 0, "out"),
            asm.call("helper"),
            asm.label("out"),
            asm.exit(),
            asm.symbol("helper"),
            asm.mov(R0, 1),
            asm.exit(),
        ]
    )


def test_len_counts_instructions_not_slots() -> None:
    insns = sample()
    assert len(insns) == 7
    assert insns.slots == 8
    assert [slot for slot, _ in insns.offsets()] == [0, 1, 3, 4, 5, 6, 7]
    assert insns.slot_offset(3) == 4
    assert insns.slot_offset(-1) == 7
    assert insns.index_at_slot(3) == 2
    assert insns.index_by_slot() == {0: 0, 1: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6}
    with pytest.raises(ValueError, match="slot 2"):
        insns.index_at_slot(2)  # inside the LD_IMM64
    with pytest.raises(ValueError, match="slot 99"):
        insns.index_at_slot(99)
    with pytest.raises(IndexError):
        insns.slot_offset(7)


def test_markers_name_the_next_instruction() -> None:
    insns = sample()
    assert insns[0].symbol == "main"
    assert insns[4].label == "out"
    assert insns.symbols() == {"main": 0, "helper": 5}
    assert insns.labels() == {"out": 4}
    funcs = insns.functions()
    assert list(funcs) == ["main", "helper"]
    assert len(funcs["main"]) == 5
    assert funcs["helper"][0].symbol == "helper"


def test_marker_errors() -> None:
    with pytest.raises(ValueError, match="names no instruction"):
        asm.Instructions([asm.exit(), asm.label("end")])
    with pytest.raises(ValueError, match="name one instruction"):
        asm.Instructions([asm.label("a"), asm.label("b"), asm.exit()])
    with pytest.raises(TypeError, match="Instruction"):
        asm.Instructions([1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="Instruction"):
        asm.Instructions().append("exit")  # type: ignore[arg-type]


def test_markers_do_not_change_the_callers_instruction() -> None:
    exit_ = asm.exit()
    insns = asm.Instructions([asm.label("x"), exit_])
    assert insns[0].label == "x"
    assert exit_.label is None


def test_list_operations() -> None:
    insns = sample()
    head = insns[:2]
    assert isinstance(head, asm.Instructions)
    assert len(head) == 2
    joined = head + asm.Instructions([asm.exit()])
    assert isinstance(joined, asm.Instructions)
    assert len(joined) == 3
    insns.insert(1, asm.mov(R2, 3))
    assert str(insns[1]) == "r2 = 0x3"
    del insns[1]
    assert insns == sample()
    insns[0:1] = [asm.mov(R0, 9)]
    assert insns[0].constant == 9
    insns += [asm.label("tail"), asm.exit()]
    assert insns[-1].label == "tail"
    insns.extend(asm.Instructions([asm.exit()]))
    assert len(insns) == 9
    with pytest.raises(TypeError):
        insns[0] = "r0 = 0"  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        insns[0:1] = asm.exit()  # type: ignore[call-overload]
    assert insns.index(insns[2]) == 2
    assert next(reversed(insns)) == insns[-1]


def test_equality_includes_names_and_metadata() -> None:
    a, b = sample(), sample()
    assert a == b
    b[0].metadata["line"] = "int main(void)"
    assert a != b
    a[0].metadata["line"] = "int main(void)"
    assert a == b
    a[1].reference = "other"
    assert a != b
    assert asm.mov(R0, 0) != asm.mov(R0, 0).with_symbol("f")
    assert asm.mov(R0, 0) != "r0 = 0"
    # An empty metadata mapping is no metadata.
    insn = asm.exit()
    insn.metadata.clear()
    assert insn == asm.exit()


def test_copy_is_independent() -> None:
    original = sample()
    original[0].metadata["key"] = 1
    clone = original.copy()
    assert clone == original
    clone[0].constant = 5
    clone[0].metadata["key"] = 2
    clone[0].symbol = "renamed"
    clone.append(asm.exit())
    assert original == sample().copy() or original[0].metadata["key"] == 1
    assert original[0].constant == 0
    assert original[0].metadata == {"key": 1}
    assert original[0].symbol == "main"
    assert len(original) == 7


def test_with_methods_copy() -> None:
    insn = asm.mov(R0, 0)
    named = insn.with_symbol("f").with_label("l").with_reference("r")
    assert (named.symbol, named.label, named.reference) == ("f", "l", "r")
    assert (insn.symbol, insn.label, insn.reference) == (None, None, None)


def test_resolve_references() -> None:
    insns = sample()
    insns.resolve_references()
    assert insns[2].offset == 1  # slot 4 -> slot 6 ("out")
    assert insns[3].constant == 1  # slot 5 -> slot 7 ("helper")
    assert insns[3].is_function_call
    assert str(insns[2]) == "if r1 == 0x0 goto +0x1 <out>"
    # Map references stay for the loader.
    assert insns[1].reference == "events"
    assert insns[1].constant == 0


def test_resolve_backward_jump_and_function_pointer() -> None:
    insns = asm.Instructions(
        [
            asm.label("top"),
            asm.add(R1, 1),
            asm.ld_func(R2, "cb"),
            asm.jlt(R1, 10, "top"),
            asm.gotol("end"),
            asm.label("end"),
            asm.exit(),
            asm.symbol("cb"),
            asm.exit(),
        ]
    )
    insns.resolve_references()
    assert insns[1].constant == 4  # ld_func at slot 1 -> slot 6
    assert insns[2].offset == -4  # slot 3 -> slot 0
    assert insns[3].constant == 0
    assert insns[1].is_function_pointer


def test_resolve_errors() -> None:
    insns = asm.Instructions([asm.ja("nowhere"), asm.exit()])
    with pytest.raises(UnresolvedReferenceError, match="nowhere") as info:
        insns.resolve_references()
    assert info.value.reference == "nowhere"
    assert info.value.index == 0
    twice = asm.Instructions([asm.label("a"), asm.exit(), asm.label("a"), asm.exit()])
    with pytest.raises(InstructionError, match="defined twice"):
        twice.resolve_references()
    far = asm.Instructions(
        [asm.ja("end"), *[asm.mov(R0, 0)] * 0x8000, asm.label("end"), asm.exit()]
    )
    with pytest.raises(InstructionError, match="beyond a 16-bit offset"):
        far.resolve_references()
    longjump = asm.Instructions(
        [asm.gotol("end"), *[asm.mov(R0, 0)] * 0x8000, asm.label("end"), asm.exit()]
    )
    longjump.resolve_references()
    assert longjump[0].constant == 0x8000


def test_map_fds() -> None:
    load = asm.ld_map_fd(R1, "m")
    load.set_map_fd(7)
    assert (load.src, load.map_fd, load.reference) == (asm.PseudoSource.MAP_FD, 7, "m")
    value = asm.ld_map_value(R1, "d", 24)
    value.set_map_fd(9)
    assert (value.map_fd, value.map_value_offset) == (9, 24)
    assert str(value) == "r1 = map_value 0x9 + 0x18 ll <d>"
    plain = asm.ld_imm64(R1, 0)
    with pytest.raises(ValueError, match="map"):
        _ = plain.map_fd
    plain.set_map_fd(3)
    assert plain.is_load_from_map
    with pytest.raises(ValueError, match="LD_IMM64"):
        asm.exit().set_map_fd(3)
    with pytest.raises(ValueError, match="out of range"):
        load.set_map_fd(-1)


def test_predicates() -> None:
    assert asm.call(Helper.MAP_LOOKUP_ELEM).is_helper_call
    assert asm.call_kfunc(5).is_kfunc_call
    assert asm.exit().is_exit
    assert asm.ja(1).is_jump
    assert asm.may_goto(1).is_jump
    assert not asm.call(1).is_jump
    assert asm.ld_imm64(R1, 1).is_ld_imm64
    insn = asm.mov(R0, 1)
    insn.immediate = 5
    assert insn.constant == 5
    assert insn.op_class is asm.OpClass.ALU64


def test_text() -> None:
    insns = sample()
    insns.resolve_references()
    assert str(insns) == "\n".join(
        [
            "main:",
            "   0: r0 = 0x0",
            "   1: r1 = map_fd 0x0 ll <events>",
            "   3: if r1 == 0x0 goto +0x1 <out>",
            "   4: call 0x1 <helper>",
            "out:",
            "   5: exit",
            "helper:",
            "   6: r0 = 0x1",
            "   7: exit",
        ]
    )
    assert str(asm.Instructions()) == ""
    assert "Instruction(opcode=0xb7" in repr(insns)
    unknown = asm.Instruction(0xFF)
    assert str(unknown) == "<unknown opcode 0xff>"


def test_copy_module_and_pickle() -> None:
    import copy
    import pickle

    insns = sample()
    insns[0].metadata["k"] = [1]
    shallow = copy.copy(insns)
    shallow.append(asm.exit())
    assert len(insns) == 7
    assert shallow[0] is insns[0]
    deep = copy.deepcopy(insns)
    assert deep == insns
    assert deep[0].metadata["k"] is not insns[0].metadata["k"]
    assert pickle.loads(pickle.dumps(insns)) == insns


def test_errors_pickle() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(InstructionError("bad", offset=8, index=1)))
    assert (str(err), err.offset, err.index) == ("byte offset 8, instruction 1: bad", 8, 1)
    ref = pickle.loads(pickle.dumps(UnresolvedReferenceError("f", offset=0)))
    assert (ref.reference, ref.offset) == ("f", 0)


def test_helper_names_are_upper_case_like_every_enum() -> None:
    assert Helper(1).name == "MAP_LOOKUP_ELEM"
    assert all(h.name.isupper() or h.name.startswith("_") for h in Helper)
    # The kernel's own spelling stays an alias, and the disassembly prints it.
    assert Helper.map_lookup_elem is Helper.MAP_LOOKUP_ELEM
    assert Helper["ktime_get_ns"] is Helper.KTIME_GET_NS
    assert str(asm.call(Helper.KTIME_GET_NS)).endswith("<ktime_get_ns>")
