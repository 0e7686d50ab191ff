"""Program test runs: output buffers the kernel cannot overrun, run options, argument checks."""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.asm import Instruction, Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.core import (
    BPFError,
    CollectionSpec,
    LimitError,
    Map,
    Program,
    ProgramType,
    RunFlags,
    load_collection_spec,
    possible_cpus,
)
from pybpf.elf.spec import ProgramSpec

pytestmark = pytest.mark.kernel

UDP_PACKET = bytes(14) + bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17]) + bytes(40)


@pytest.fixture(scope="module")
def sections(testdata: Path) -> CollectionSpec:
    return load_collection_spec(testdata / "sections-el.o")


@pytest.fixture
def sock_prog(testdata: Path) -> Iterator[Program]:
    demo = load_collection_spec(testdata / "demo-el.o")
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}, types=demo.types) as prog,
    ):
        yield prog


def _returning(prog_type: ProgramType, insns: list[Instruction], section: str) -> ProgramSpec:
    return ProgramSpec(
        name="t", section=section, type=prog_type, instructions=Instructions(insns), license="GPL"
    )


@pytest.mark.parametrize("size", [14, 15, 64, 100, 1500, 3000])
def test_no_data_out_is_no_buffer(sock_prog: Program, size: int) -> None:
    # data_out_size=0 used to hand the kernel a 1-byte buffer with size 0,
    # which the kernel reads as "no limit": a heap overflow for every packet.
    packet = UDP_PACKET + bytes(max(0, size - len(UDP_PACKET)))
    packet = packet[:size]
    result = sock_prog.run(packet, data_out_size=0)
    assert result.data == b""


def test_small_data_out_is_a_limit(sock_prog: Program) -> None:
    with pytest.raises(LimitError, match="data_out_size=8") as info:
        sock_prog.run(UDP_PACKET, data_out_size=8)
    assert info.value.errno == 28  # ENOSPC


def test_exact_data_out(sock_prog: Program) -> None:
    result = sock_prog.run(UDP_PACKET, data_out_size=len(UDP_PACKET))
    assert result.data == UDP_PACKET


def test_ctx_out_none_and_sized(sock_prog: Program) -> None:
    assert sock_prog.run(UDP_PACKET, ctx=bytes(192), ctx_out_size=0).ctx == b""
    with pytest.raises(LimitError, match="ctx_out_size=4"):
        sock_prog.run(UDP_PACKET, ctx=bytes(192), ctx_out_size=4)
    with pytest.raises(ValueError, match="ctx_out_size=16 without a ctx"):
        sock_prog.run(UDP_PACKET, ctx_out_size=16)


def test_ctx_in_is_never_written(sock_prog: Program) -> None:
    ctx = bytearray(192)
    sock_prog.run(UDP_PACKET, ctx=ctx)
    assert ctx == bytearray(192)


def test_raw_tracepoint_run(sections: CollectionSpec) -> None:
    # Raw tracepoints take a context in and refuse ctx_out and repeat.
    args = struct.pack("=QQ", 0x1234, 0x5678)
    spec = _returning(
        ProgramType.RAW_TRACEPOINT,
        [
            builder.load(Register.R2, Register.R1, 0, 8),
            builder.load(Register.R3, Register.R1, 8, 8),
            builder.add(Register.R2, Register.R3),
            builder.mov(Register.R0, Register.R2),
            builder.exit(),
        ],
        sections.programs["raw_tp"].section,
    )
    with Program(spec) as prog:
        result = prog.run(ctx=args)
        assert result.retval == 0x1234 + 0x5678
        assert result.ctx == b""
        cpu = possible_cpus() - 1
        assert prog.run(ctx=args, cpu=cpu).retval == 0x1234 + 0x5678


def test_syscall_program_context_comes_back(sections: CollectionSpec) -> None:
    # A syscall program writes its context; the kernel copies it over ctx_in.
    spec = _returning(
        ProgramType.SYSCALL,
        [
            builder.mov(Register.R2, 7),
            builder.store(Register.R1, 0, Register.R2, 4),
            builder.mov(Register.R0, 0),
            builder.exit(),
        ],
        "syscall",
    )
    spec.flags = sections.programs["syscall_prog"].flags
    ctx = bytes(8)
    with Program(spec) as prog:
        result = prog.run(ctx=ctx)
    assert result.ctx[:4] == (7).to_bytes(4, "little")
    assert ctx == bytes(8)


def test_xdp_run_flags(sections: CollectionSpec) -> None:
    with Program(sections.programs["xdp_prog"]) as prog:
        plain = prog.run(UDP_PACKET, repeat=3)
        assert plain.data == UDP_PACKET
    # Live frames (5.18+) that the program drops: nothing is sent anywhere.
    xdp_drop = 1
    spec = _returning(ProgramType.XDP, [builder.mov(Register.R0, xdp_drop), builder.exit()], "xdp")
    with Program(spec) as prog:
        try:
            live = prog.run(
                UDP_PACKET, repeat=4, flags=RunFlags.XDP_LIVE_FRAMES, batch_size=2, data_out_size=0
            )
        except BPFError as exc:
            # This run is its own probe: a kernel without live frames says
            # EINVAL; some builds of one kernel release refuse them with EPERM
            # even to a process holding every capability (seen on 6.18 hosts).
            if exc.errno not in (errno.EINVAL, errno.EPERM):
                raise
            pytest.skip(f"this kernel refused an XDP_LIVE_FRAMES test run: {exc}")
        assert live.data == b""


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"repeat": -1}, ValueError, "repeat"),
        ({"repeat": 1 << 32}, ValueError, "repeat"),
        ({"repeat": 1.5}, TypeError, "repeat"),
        ({"data_out_size": -1}, ValueError, "data_out_size"),
        ({"data_out_size": 1 << 40}, ValueError, "data_out_size"),
        ({"ctx": bytes(8), "ctx_out_size": -4}, ValueError, "ctx_out_size"),
        ({"flags": -1}, ValueError, "flags"),
        ({"flags": 1 << 32}, ValueError, "flags"),
        ({"cpu": -1}, ValueError, "cpu"),
        ({"batch_size": -1}, ValueError, "batch_size"),
        ({"ctx": "text"}, TypeError, "ctx"),
    ],
)
def test_run_arguments_checked(
    sock_prog: Program, kwargs: dict[str, object], exc: type[Exception], name: str
) -> None:
    with pytest.raises(exc, match=f"'cap_length'.*{name}"):
        sock_prog.run(UDP_PACKET, **kwargs)  # type: ignore[arg-type]


def test_run_data_checked(sock_prog: Program) -> None:
    with pytest.raises(TypeError, match="data must be bytes-like"):
        sock_prog.run("a packet")  # type: ignore[arg-type]


def test_verifier_log_of_a_successful_load(sock_prog: Program, testdata: Path) -> None:
    assert sock_prog.verifier_log is None
    demo = load_collection_spec(testdata / "demo-el.o")
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}, log_level=2) as prog,
    ):
        assert prog.verifier_log is not None
        assert "processed" in prog.verifier_log
        with prog.clone() as clone:
            assert clone.verifier_log == prog.verifier_log
        with Program.from_id(prog.info().id) as opened:
            assert opened.verifier_log is None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"log_level": -1}, "log_level"),
        ({"log_size": -1}, "log_size"),
        ({"log_size": 1 << 31}, "log_size"),
    ],
)
def test_load_log_arguments_checked(testdata: Path, kwargs: dict[str, int], name: str) -> None:
    demo = load_collection_spec(testdata / "demo-el.o")
    with pytest.raises(ValueError, match=name):
        Program(demo.programs["bad_stack"], **kwargs)  # type: ignore[arg-type]
