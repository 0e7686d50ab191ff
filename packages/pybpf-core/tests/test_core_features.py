"""Feature probes on the running kernel (6.18 here: everything but LIRC is in)."""

from __future__ import annotations

import errno
import os
import re
from typing import Any

import pytest

from pybpf.asm import Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.core import MapType, NotSupportedError, Program, ProgramType, features
from pybpf.elf.spec import ProgramSpec

R0 = Register.R0

pytestmark = pytest.mark.kernel


KERNEL = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])


@pytest.mark.parametrize(
    "prog_type",
    [
        ProgramType.SOCKET_FILTER,
        ProgramType.XDP,
        ProgramType.TRACEPOINT,
        ProgramType.CGROUP_SOCK_ADDR,
        ProgramType.SK_LOOKUP,
        ProgramType.SYSCALL,
        ProgramType.TRACING,
        ProgramType.LSM,
    ],
)
def test_program_types(prog_type: ProgramType) -> None:
    since = tuple(int(x) for x in features.PROGRAM_TYPE_SINCE[prog_type].split("."))
    if since <= KERNEL:
        # The kernel has the type: the probe either loads one or passes on the
        # kernel's refusal (fentry and LSM loads are EPERM on some 6.18 builds),
        # never a claim about versions.
        try:
            assert features.have_program_type(prog_type) is None
        except NotSupportedError as exc:
            assert exc.errno != errno.EINVAL
            assert exc.min_version == ""
            assert "refused to load one" in str(exc)
    else:
        with pytest.raises(NotSupportedError):
            features.have_program_type(prog_type)


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
    # ARENA is in 6.9+, and some builds refuse it even to root with every
    # capability: the probe must say so, not claim a version.
    if KERNEL < (6, 9):
        with pytest.raises(NotSupportedError, match=r"requires Linux 6\.9"):
            features.have_map_type(MapType.ARENA)
        return
    try:
        features.have_map_type(MapType.ARENA)
    except NotSupportedError as exc:
        assert "requires Linux" not in str(exc)
        assert exc.min_version == ""
        assert exc.errno != errno.EINVAL
        assert "refused to create one" in str(exc)


def test_unknown_program_type() -> None:
    with pytest.raises(NotSupportedError) as info:
        features.have_program_type(ProgramType.UNSPEC)
    assert info.value.feature == "program type UNSPEC"


def test_map_types() -> None:
    assert features.have_map_type(MapType.RINGBUF) is None
    if KERNEL >= (5, 11):
        assert features.have_map_type(MapType.TASK_STORAGE) is None  # via the kernel's BTF
    else:
        with pytest.raises(NotSupportedError, match="TASK_STORAGE"):
            features.have_map_type(MapType.TASK_STORAGE)


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
    if KERNEL >= (6, 6):
        assert features.have_isa_v4() is None
    else:
        with pytest.raises(NotSupportedError, match=r"6\.6"):
            features.have_isa_v4()
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
    if KERNEL >= (6, 2):
        assert features.have_sleepable(ProgramType.KPROBE) is None


def test_program_flags() -> None:
    # BPF_F_XDP_HAS_FRAGS (xdp.frags) is 5.18+; bit 15 is no flag at all.
    if KERNEL >= (5, 18):
        assert features.have_program_flags(ProgramType.XDP, 1 << 5) is None
    with pytest.raises(NotSupportedError, match="prog_flags 0x8000"):
        features.have_program_flags(ProgramType.XDP, 1 << 15)


def test_uprobe_multi_link_probe_is_libbpfs() -> None:
    # The links exist where the attach type loads (6.6+); the probe links for real.
    from pybpf.core import _probes
    from pybpf.elf import AttachType

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
