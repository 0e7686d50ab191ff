"""Feature probes on the running kernel, each checked against another way of asking it.

No test reads the kernel's version: a probe's answer must agree with a direct
attempt (the program or map loaded the way users load them), and claim a
first version only where the kernel's own BTF lacks the feature's name.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from pybpf.asm import Instruction, Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.core import (
    BPFError,
    Collection,
    Map,
    MapFlags,
    MapSpec,
    MapType,
    NotSupportedError,
    Program,
    ProgramType,
    _probes,
    features,
    load_collection_spec,
)
from pybpf.elf import AttachType
from pybpf.elf.sections import BPF_F_SLEEPABLE
from pybpf.elf.spec import ProgramSpec

R0 = Register.R0
RETURN_0 = [builder.mov(R0, 0), builder.exit()]
BPF_F_XDP_HAS_FRAGS = 1 << 5

pytestmark = pytest.mark.kernel


def loads(
    prog_type: ProgramType,
    body: list[Instruction] | None = None,
    *,
    attach_type: AttachType | None = None,
    attach_to: str = "",
    flags: int = 0,
) -> bool:
    """Whether a program of ``prog_type`` (``r0 = 0; exit`` after ``body``) loads.

    The direct attempt a probe's answer is checked against: loaded through
    :class:`Program`, as users load, not through the probe's own raw load.
    """
    spec = ProgramSpec(
        "direct",
        "",
        prog_type,
        Instructions([*(body or []), *RETURN_0]),
        attach_type=attach_type,
        attach_to=attach_to,
        flags=flags,
        license="GPL",
    )
    try:
        Program(spec).close()
    except BPFError:
        return False
    return True


def answer(probe: Any, *args: Any) -> NotSupportedError | None:
    """The probe's answer: None where the kernel has the feature, else its refusal."""
    try:
        probe(*args)
    except NotSupportedError as exc:
        return exc
    return None


def kernel_knows(enum: str, member: str) -> bool:
    """Whether the kernel's own BTF names ``member`` in ``enum`` (its UAPI)."""
    return _probes.kernel_enum_has(enum, member) is True


#: For each program type: what a direct load of it must say of itself.
DIRECT: dict[ProgramType, dict[str, Any]] = {
    ProgramType.SOCKET_FILTER: {},
    ProgramType.XDP: {},
    ProgramType.TRACEPOINT: {},
    ProgramType.CGROUP_SOCK_ADDR: {"attach_type": AttachType.CGROUP_INET4_CONNECT},
    ProgramType.SK_LOOKUP: {"attach_type": AttachType.SK_LOOKUP},
    ProgramType.SYSCALL: {"flags": BPF_F_SLEEPABLE},
    ProgramType.TRACING: {"attach_type": AttachType.TRACE_RAW_TP, "attach_to": "sched_switch"},
    ProgramType.LSM: {"attach_type": AttachType.LSM_MAC, "attach_to": "file_mprotect"},
}


@pytest.mark.parametrize("prog_type", list(DIRECT))
def test_program_types(prog_type: ProgramType) -> None:
    got = answer(features.have_program_type, prog_type)
    # The probe agrees with loading one: fentry and LSM loads are EPERM on
    # some 6.18 builds, and then both say no.
    assert (got is None) == loads(prog_type, **DIRECT[prog_type]), got
    if got is None:
        return
    if kernel_knows("bpf_prog_type", f"BPF_PROG_TYPE_{prog_type.name}"):
        # The kernel knows the type: its refusal, never a claim about versions.
        assert got.min_version == ""
        assert "refused to load one" in str(got) or "built without it" in str(got)
    else:
        assert got.min_version == features.PROGRAM_TYPE_SINCE[prog_type]


def test_refusals_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    # A refused probe is asked once, like one that succeeded.
    features.have_program_type(ProgramType.SOCKET_FILTER)  # asked before counting
    loads = []
    real = features._load

    def counting(*args: Any, **kwargs: Any) -> tuple[int, str]:
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(features, "_load", counting)
    helper = 100001  # a helper number no kernel has
    for _ in range(3):
        with pytest.raises(NotSupportedError, match="helper 100001"):
            features.have_helper(ProgramType.SOCKET_FILTER, helper)
    assert loads.count(ProgramType.SOCKET_FILTER) == 1


def test_map_type_refusal_is_the_kernels_answer() -> None:
    # ARENA came with 6.9, and some builds refuse it even to root with every
    # capability: the probe must say which, as a direct attempt finds.
    got = answer(features.have_map_type, MapType.ARENA)
    try:
        Map(MapSpec("arena", MapType.ARENA, 0, 0, 1, MapFlags.MMAPABLE)).close()
    except BPFError:
        created = False
    else:
        created = True
    assert (got is None) == created, got
    if got is None:
        return
    if kernel_knows("bpf_map_type", "BPF_MAP_TYPE_ARENA"):
        assert "requires Linux" not in str(got)
        assert got.min_version == ""
        assert got.errno != errno.EINVAL
        assert "refused to create one" in str(got)
    else:
        assert got.min_version == "6.9"
        assert "requires Linux 6.9" in str(got)


def test_unknown_program_type() -> None:
    with pytest.raises(NotSupportedError) as info:
        features.have_program_type(ProgramType.UNSPEC)
    assert info.value.feature == "program type UNSPEC"


def test_map_types(testdata: Path) -> None:
    assert features.have_map_type(MapType.RINGBUF) is None
    # Task storage needs BTF for its key and value, so the probe asks the
    # kernel's enum; maps_new-el.o's map, created with its BTF, says the same.
    got = answer(features.have_map_type, MapType.TASK_STORAGE)
    spec = load_collection_spec(testdata / "maps_new-el.o")
    try:
        Collection(spec, programs=[], maps=["task_storage"]).close()
    except BPFError:
        created = False
    else:
        created = True
    assert (got is None) == created, got
    if got is not None:
        assert "TASK_STORAGE" in str(got)


def test_helpers() -> None:
    assert features.have_helper(ProgramType.SOCKET_FILTER, 1) is None  # map_lookup_elem
    with pytest.raises(NotSupportedError, match="helper 100000"):
        features.have_helper(ProgramType.SOCKET_FILTER, 100000)


@pytest.mark.parametrize(
    ("prog_type", "allowed"),
    [
        (ProgramType.SCHED_CLS, True),  # tc programs may write packets
        (ProgramType.SOCKET_FILTER, False),  # "program of this type cannot use helper"
        (ProgramType.XDP, False),
        (ProgramType.TRACEPOINT, False),
    ],
)
def test_helper_allowed_by_program_type(prog_type: ProgramType, allowed: bool) -> None:
    skb_store_bytes = 9
    if allowed:
        assert features.have_helper(prog_type, skb_store_bytes) is None
    else:
        with pytest.raises(NotSupportedError, match=f"{prog_type.name} programs"):
            features.have_helper(prog_type, skb_store_bytes)


def test_isa_and_limits() -> None:
    assert features.have_isa_v2() is None
    assert features.have_isa_v3() is None
    # v4: the probe agrees with a program that sign-extends a byte.
    got = answer(features.have_isa_v4)
    sign_extend = [builder.mov(R0, 0), builder.movsx(R0, R0, 8)]
    assert (got is None) == loads(ProgramType.SOCKET_FILTER, sign_extend), got
    if got is not None:
        assert got.min_version == "6.6"
    assert features.have_large_instructions() is None
    assert features.have_bounded_loops() is None
    assert features.have_bpf_link() is None


def test_not_supported_names_version() -> None:
    err = features._missing("ISA v4 (BPF_MOVSX)", "6.6")
    assert err.min_version == "6.6"
    assert "requires Linux 6.6" in str(err)


def test_sleepable() -> None:
    # XDP programs never sleep; uprobes may from 6.2 (the verifier says which).
    with pytest.raises(NotSupportedError, match="sleepable XDP programs"):
        features.have_sleepable(ProgramType.XDP)
    got = answer(features.have_sleepable, ProgramType.KPROBE)
    assert (got is None) == loads(ProgramType.KPROBE, flags=BPF_F_SLEEPABLE), got


def test_program_flags() -> None:
    # BPF_F_XDP_HAS_FRAGS (xdp.frags) is 5.18+; bit 15 is no flag at all.
    got = answer(features.have_program_flags, ProgramType.XDP, BPF_F_XDP_HAS_FRAGS)
    assert (got is None) == loads(ProgramType.XDP, flags=BPF_F_XDP_HAS_FRAGS), got
    with pytest.raises(NotSupportedError, match="prog_flags 0x8000"):
        features.have_program_flags(ProgramType.XDP, 1 << 15)


def test_uprobe_multi_link_probe_is_libbpfs() -> None:
    # The links exist where the attach type loads (6.6+); the probe links for real.
    if not _probes.kernel_enum_has("bpf_attach_type", "BPF_TRACE_UPROBE_MULTI"):
        with pytest.raises(NotSupportedError, match=r"requires Linux 6\.6"):
            features.have_uprobe_multi_link()
        return
    features.have_attach_type(ProgramType.KPROBE, AttachType.TRACE_UPROBE_MULTI)
    try:
        features.have_uprobe_multi_link()
    except NotSupportedError as exc:
        assert "filter by thread" in str(exc)  # the first kernels' pid filter
    # A program not loaded for the links is refused before the path is looked at.
    with Program(
        ProgramSpec(
            "plain",
            "kprobe",
            ProgramType.KPROBE,
            Instructions([builder.mov(R0, 0), builder.exit()]),
        )
    ) as plain:
        assert features._uprobe_multi_answer(plain.fd.number, pid=0) == errno.EINVAL
