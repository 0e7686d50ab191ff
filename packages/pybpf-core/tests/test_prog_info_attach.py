"""ProgramInfo's attach target and version-dependent fields, on the running kernel."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pybpf.btf import Func, Struct, Typedef, load_kernel_spec
from pybpf.core import (
    FD,
    BPFError,
    BPFPermissionError,
    Collection,
    CollectionSpec,
    Map,
    NotSupportedError,
    Program,
    ProgramInfo,
    ProgramType,
    _cmds,
    _kernel_btf,
    _sys,
    features,
    load_collection_spec,
)

if TYPE_CHECKING:
    from conftest import KernelAnswers

pytestmark = pytest.mark.kernel

#: How much of ``struct bpf_prog_info`` kernels fill: up to ``run_cnt`` (5.1
#: to 5.11), ``recursion_misses`` (5.12), ``verified_insns`` plus tail padding
#: (5.16), ``attach_btf_id`` plus padding (6.0).
FILLED_510, FILLED_512, FILLED_516, FILLED_60 = 208, 216, 224, 232


@pytest.fixture(scope="module")
def sections(testdata: Path) -> CollectionSpec:
    return load_collection_spec(testdata / "sections-el.o")


@pytest.fixture
def vmlinux_btf_id(this_kernel: KernelAnswers) -> int:
    """The id of vmlinux's BTF object; skipped where the kernel gives it none.

    A kernel that has one but does not report attach targets in program info
    says so when a test asks (``attach_btf_type`` raises NotSupportedError).
    """
    return this_kernel.vmlinux_btf_id()


def load(
    spec: CollectionSpec,
    name: str,
    maps: Mapping[str, Map] | None = None,
    attach_target: Program | None = None,
) -> Program:
    """Load one program of sections.c; skipped with the kernel's answer where it refuses it."""
    program = spec.programs[name]
    if attach_target is None:
        features.check_spec(program)  # NotSupportedError: reported as a skip
        return Program(program, types=spec.types, maps=maps)
    try:
        return Program(program, types=spec.types, maps=maps, attach_target=attach_target)
    except BPFPermissionError as exc:
        # freplace: no probe can ask without a target program of its own, so
        # this load is the probe and its refusal the kernel's answer.
        pytest.skip(f"this kernel refused the {name} load: {exc}")


@pytest.mark.parametrize(
    ("program", "kind", "kernel_name"),
    [
        ("tp_btf", Typedef, "btf_trace_sched_wakeup"),
        ("iter", Func, "bpf_iter_task"),
        ("iter_sleepable", Func, "bpf_iter_task"),
        ("fentry", Func, "bpf_fentry_test1"),
        ("fexit", Func, "bpf_fentry_test1"),
        ("lsm", Func, "bpf_lsm_file_open"),
    ],
)
def test_attach_target_in_vmlinux(
    sections: CollectionSpec, vmlinux_btf_id: int, program: str, kind: type, kernel_name: str
) -> None:
    with load(sections, program) as prog:
        info = prog.info()
    target = info.attach_btf_type()  # NotSupportedError (a skip) before 6.0
    assert info.attach_btf_obj_id == vmlinux_btf_id
    assert info.attach_btf_id is not None and info.attach_btf_id > 0
    vmlinux = load_kernel_spec()
    # The id names the target in vmlinux's own BTF, and the helper found that very type.
    assert vmlinux.type_by_id(info.attach_btf_id).name == kernel_name
    assert isinstance(target, kind)
    assert target is vmlinux.type_by_id(info.attach_btf_id)
    assert vmlinux.type_id(target) == info.attach_btf_id
    assert info.type in (ProgramType.TRACING, ProgramType.LSM)


def test_struct_ops_target_is_the_ops_struct(testdata: Path, vmlinux_btf_id: int) -> None:
    # Loading registers nothing (that takes a map update): safe beside other runs.
    with Collection(testdata / "struct_ops-el.o") as coll:
        infos = {name: p.info() for name, p in coll.programs.items()}
    assert infos
    for name, info in infos.items():
        target = info.attach_btf_type()
        assert info.type == ProgramType.STRUCT_OPS, name
        assert info.attach_btf_obj_id == vmlinux_btf_id, name
        assert isinstance(target, Struct) and target.name == "tcp_congestion_ops", name


def test_attach_target_in_a_module(testdata: Path) -> None:
    if not Path("/sys/kernel/btf/nf_conntrack").exists():
        pytest.skip("no BTF for kernel module nf_conntrack here (the VM rows load nf_conntrack)")
    spec = load_collection_spec(testdata / "core_module-el.o")
    features.check_spec(spec.programs["conn_free"])  # the kernel's refusal is a skip
    coll = Collection(spec, programs=["conn_free"])
    with coll, _kernel_btf.ModuleBTFs() as modules:
        info = coll.programs["conn_free"].info()
        target = info.attach_btf_type()  # NotSupportedError (a skip) before 6.0
        conntrack = next(m for m in modules if m.name == "nf_conntrack")
        assert info.attach_btf_obj_id == conntrack.id
        assert info.attach_btf_id is not None
        # A module's ids continue vmlinux's: the helper read the module's split BTF.
        assert isinstance(target, Func) and target.name == "nf_conntrack_free"
        assert conntrack.spec.type_by_id(info.attach_btf_id) is target


@pytest.mark.parametrize("program", ["socket_one", "xdp_prog"])
def test_no_attach_target(sections: CollectionSpec, program: str) -> None:
    with load(sections, program) as prog:
        info = prog.info()
    assert info.attach_btf_type() is None  # NotSupportedError (a skip) before 6.0
    assert info.attach_btf_obj_id == 0
    assert info.attach_btf_id == 0


def test_freplace_target_is_the_replaced_function(sections: CollectionSpec) -> None:
    with Collection(sections, programs=["socket_one"]) as coll:
        target = coll.programs["socket_one"]
        with load(sections, "freplace", maps=coll.maps, attach_target=target) as prog:
            info = prog.info()
            # Not attached yet: the kernel still knows the target program, whose
            # BTF holds the function; read while both programs hold that BTF.
            found = info.attach_btf_type()
        assert info.attach_btf_obj_id == target.info().btf_id
    assert isinstance(found, Func) and found.name == "socket_one"


def test_fields_follow_the_kernels_struct(
    sections: CollectionSpec, this_kernel: KernelAnswers
) -> None:
    ends = _cmds.field_ends("struct pybpf_prog_info")
    with load(sections, "tp_btf") as prog:
        info = prog.info()
        size = this_kernel.info_size(prog.fd)
    # A field is reported exactly where the kernel's own struct holds it; the
    # attach target's two fields only together (5.16-5.19 pad over the first).
    assert (info.recursion_misses is None) == (size < ends["recursion_misses"])
    assert (info.verified_insns is None) == (size < ends["verified_insns"])
    assert (info.attach_btf_id is None) == (size < ends["attach_btf_id"])
    assert (info.attach_btf_obj_id is None) == (size < ends["attach_btf_id"])
    if info.verified_insns is not None:
        assert info.verified_insns > 0
    assert info.ifindex == 0  # not offloaded


def test_kernel_fills_what_it_knows(sections: CollectionSpec, this_kernel: KernelAnswers) -> None:
    ffi = _sys.ffi
    raw = ffi.new("struct pybpf_prog_info *")
    assert ffi.sizeof(raw[0]) == FILLED_60
    with load(sections, "socket_one") as prog:
        filled = _cmds.obj_info(prog.fd, raw, "test")
        size = this_kernel.info_size(prog.fd)
    assert filled == min(size, ffi.sizeof(raw[0]))


@pytest.fixture
def older_kernel(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Make from_fd believe the kernel filled only as many bytes as the list's last item."""
    sizes: list[int] = []
    real = _cmds.obj_info

    def shorter(fd: FD, info: Any, what: str) -> int:
        return min(real(fd, info, what), sizes[-1])

    monkeypatch.setattr(_cmds, "obj_info", shorter)
    yield sizes


#: ProgramInfo's fields that older kernels leave out.
NEWER = ("recursion_misses", "verified_insns", "attach_btf_obj_id", "attach_btf_id")


@pytest.mark.parametrize(
    ("filled", "reported"),
    [
        (FILLED_510, 0),
        (FILLED_512, 1),
        # 5.16-5.19: the tail padding covers attach_btf_obj_id; still not reported.
        (FILLED_516, 2),
        (FILLED_60, 4),
    ],
)
def test_unreported_fields_are_none(
    sections: CollectionSpec,
    this_kernel: KernelAnswers,
    older_kernel: list[int],
    filled: int,
    reported: int,
) -> None:
    with load(sections, "socket_one") as prog:
        size = this_kernel.info_size(prog.fd)
    if size < FILLED_60:
        pytest.skip(
            f"this kernel's bpf_prog_info has {size} bytes: smaller structs are "
            f"simulated from one of {FILLED_60}"
        )
    older_kernel.append(filled)
    with load(sections, "tp_btf") as prog:
        info = prog.info()
    for field in NEWER[:reported]:
        assert getattr(info, field) is not None, field
    for field in NEWER[reported:]:
        assert getattr(info, field) is None, field
    if info.attach_btf_id is not None:
        assert info.attach_btf_type() is not None
    else:
        with pytest.raises(NotSupportedError, match=r"requires Linux 6\.0") as exc:
            info.attach_btf_type()
        assert exc.value.min_version == "6.0"


def test_type_id_without_btf_object() -> None:
    # What an freplace program reports once attached: the kernel forgets the
    # target program, and with it the BTF object, but keeps the type id.
    info = ProgramInfo(
        type=ProgramType.EXT,
        id=1,
        tag="00" * 8,
        name="freplace",
        xlated_size=0,
        jited_size=0,
        map_ids=(),
        btf_id=0,
        run_count=0,
        run_time_ns=0,
        verified_insns=None,
        load_time_ns=0,
        created_by_uid=0,
        gpl_compatible=True,
        attach_btf_obj_id=0,
        attach_btf_id=7,
    )
    with pytest.raises(BPFError, match="type id 7 but no BTF object") as exc:
        info.attach_btf_type()
    assert exc.value.errno == errno.ENOENT
    assert dataclasses.replace(info, attach_btf_id=0).attach_btf_type() is None
