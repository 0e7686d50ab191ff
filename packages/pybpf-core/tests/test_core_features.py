"""Feature probes on the running kernel (6.18 here: everything but LIRC is in)."""

from __future__ import annotations

import os
import re

import pytest

from pybpf.core import MapType, NotSupportedError, ProgramType, features

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
        assert features.have_program_type(prog_type) is None
    else:
        with pytest.raises(NotSupportedError):
            features.have_program_type(prog_type)


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
