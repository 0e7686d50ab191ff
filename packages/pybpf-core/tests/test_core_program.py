"""Programs on the running kernel: load, test_run, info, pinning, verifier errors."""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.asm import Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.core import (
    BPFError,
    BPFPermissionError,
    ClosedError,
    Collection,
    CollectionSpec,
    Map,
    MapSpec,
    MapType,
    NotSupportedError,
    Program,
    ProgramType,
    VerifierError,
    enable_stats,
    features,
    load_collection_spec,
)
from pybpf.elf import AttachType
from pybpf.elf.sections import BPF_F_SLEEPABLE
from pybpf.elf.spec import ProgramSpec

pytestmark = pytest.mark.kernel

R0 = Register.R0

#: An Ethernet + IPv4 header whose protocol is UDP (17), padded to 64 bytes.
UDP_PACKET = bytes(14) + bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17]) + bytes(40)


@pytest.fixture
def demo(testdata: Path) -> CollectionSpec:
    return load_collection_spec(testdata / "demo-el.o")


@pytest.fixture
def sock_prog(demo: CollectionSpec) -> Iterator[Program]:
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}, types=demo.types) as prog,
    ):
        yield prog


@pytest.fixture
def pinpath() -> Iterator[Path]:
    path = Path("/sys/fs/bpf") / f"pybpf_prog_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield path
    if path.exists():
        path.unlink()


def test_load_and_run(sock_prog: Program) -> None:
    result = sock_prog.run(UDP_PACKET, repeat=5)
    # A socket filter sees the packet from the network header on.
    assert result.retval == len(UDP_PACKET) - 14
    assert result.data[: len(UDP_PACKET)] == UDP_PACKET
    assert result.duration_ns >= 0
    assert sock_prog.type == ProgramType.SOCKET_FILTER
    assert sock_prog.name == "cap_length"


def test_info(sock_prog: Program, demo: CollectionSpec) -> None:
    info = sock_prog.info()
    assert info.name == "cap_length"
    assert info.type == ProgramType.SOCKET_FILTER
    assert info.btf_id > 0  # loaded with the object's BTF (func and line info)
    assert len(info.map_ids) == 1
    assert info.xlated_size > 0
    assert info.gpl_compatible
    assert len(info.tag) == 16


def test_run_statistics(sock_prog: Program) -> None:
    with enable_stats():
        before = sock_prog.info()
        sock_prog.run(UDP_PACKET, repeat=3)
        after = sock_prog.info()
    assert after.run_count == before.run_count + 3
    assert after.run_time_ns > before.run_time_ns


def test_run_with_context(sock_prog: Program) -> None:
    # A zeroed struct __sk_buff (192 bytes) as the context: the kernel fills
    # it from the packet and hands it back.
    result = sock_prog.run(UDP_PACKET, ctx=bytes(192))
    assert result.retval == len(UDP_PACKET) - 14
    assert 0 < len(result.ctx) <= 192  # the kernel's __sk_buff: 184 bytes before 5.16


def test_run_error(sock_prog: Program) -> None:
    with pytest.raises(BPFError, match="test run of program 'cap_length'"):
        sock_prog.run(UDP_PACKET, ctx=bytes(3))


def test_from_fd_and_id(sock_prog: Program) -> None:
    with Program.from_fd(sock_prog.fd.number) as dup:
        assert dup.info().id == sock_prog.info().id
        assert dup.name == "cap_length"
    assert not sock_prog.closed
    with Program.from_id(sock_prog.info().id) as again:
        assert again.run(UDP_PACKET).retval == len(UDP_PACKET) - 14
    with sock_prog.clone() as clone:
        assert clone.info().id == sock_prog.info().id


def test_pin_and_load_pinned(sock_prog: Program, pinpath: Path) -> None:
    sock_prog.pin(pinpath)
    assert sock_prog.pinned == str(pinpath)
    with Program.load_pinned(pinpath) as pinned:
        assert pinned.info().id == sock_prog.info().id
    sock_prog.unpin()
    assert not pinpath.exists()
    sock_prog.unpin()  # nothing to do


def test_closed_program(demo: CollectionSpec) -> None:
    with Map(demo.maps["limits"]) as limits:
        prog = Program(demo.programs["cap_length"], maps={"limits": limits})
    prog.close()
    prog.close()
    assert prog.closed
    with pytest.raises(ClosedError, match="cap_length"):
        prog.run(UDP_PACKET)
    with pytest.raises(ClosedError):
        prog.info()
    assert "closed" in repr(prog)


def test_missing_map(demo: CollectionSpec) -> None:
    with pytest.raises(ValueError, match="limits"):
        Program(demo.programs["cap_length"])


def test_verifier_error_names_cause_and_source(demo: CollectionSpec) -> None:
    with pytest.raises(VerifierError) as info:
        Program(demo.programs["bad_stack"], types=demo.types)
    err = info.value
    assert err.errno == 13
    assert "invalid read from stack" in err.cause
    assert "r10 + 8" in err.source
    assert "demo.c:" in err.source
    assert "invalid read from stack" in str(err)
    assert "source:" in str(err)
    assert "processed" in err.log or "R10" in err.log
    assert isinstance(err, OSError)


def test_verifier_error_without_btf_still_gives_log(demo: CollectionSpec) -> None:
    with pytest.raises(VerifierError) as info:
        Program(demo.programs["bad_stack"])
    assert "invalid read from stack" in info.value.cause


def test_log_level_small_log_grows(demo: CollectionSpec) -> None:
    # A tiny first log buffer: the loader must grow it until the log fits.
    with pytest.raises(VerifierError) as info:
        Program(demo.programs["bad_stack"], types=demo.types, log_level=2, log_size=16)
    assert "invalid read from stack" in info.value.cause
    assert not info.value.truncated


def test_successful_load_with_log_level(demo: CollectionSpec) -> None:
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}, log_level=1) as prog,
    ):
        assert prog.run(UDP_PACKET).retval == 50


def test_long_name_is_cut(demo: CollectionSpec) -> None:
    spec = demo.programs["bad_stack"].copy()
    spec.name = "a_name_much_longer_than_fifteen-chars"
    spec.instructions = Instructions([builder.mov(R0, 0), builder.exit()])
    with Program(spec) as prog:
        assert prog.info().name == "a_name_much_lon"


def test_tp_btf_attach_id(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    with Program(spec.programs["tp_btf"], types=spec.types) as prog:
        assert prog.type == ProgramType.TRACING


def test_unknown_attach_target(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    p = spec.programs["tp_btf"].copy()
    p.attach_to = "pybpf_no_such_tracepoint"
    with pytest.raises(OSError, match="btf_trace_pybpf_no_such_tracepoint"):
        Program(p, types=spec.types)


@pytest.mark.parametrize("name", ["fentry", "fexit", "lsm"])
def test_fentry_lsm(testdata: Path, name: str) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    features.check_spec(spec.programs[name])  # the kernel's refusal is a skip
    with Program(spec.programs[name], types=spec.types) as prog:
        assert prog.type in (ProgramType.TRACING, ProgramType.LSM)


def test_program_spec_without_map_names(demo: CollectionSpec) -> None:
    spec: ProgramSpec = demo.programs["count_packets"]
    with pytest.raises(ValueError, match="maps= does not give"):
        Program(spec, types=demo.types)


def _raw_map_load(spec: ProgramSpec) -> int:
    """The index of the program's one map load, which names no map."""
    (index,) = (i for i, insn in enumerate(spec.instructions) if insn.is_load_from_map)
    assert spec.instructions[index].reference is None
    return index


def test_raw_map_fd_goes_to_the_kernel_as_it_is(testdata: Path) -> None:
    # libbpf leaves an LD_IMM64 of a map that no relocation names alone: the
    # kernel, not the loader, refuses the fd (-1) the instruction carries.
    spec = load_collection_spec(testdata / "raw_map_fd-el.o")
    _raw_map_load(spec.programs["raw_map_fd"])
    with pytest.raises(VerifierError, match="not pointing to valid bpf_map") as e:
        Collection(spec)
    assert e.value.errno == errno.EBADF


def test_raw_map_fd_of_a_users_map(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "raw_map_fd-el.o").programs["raw_map_fd"].copy()
    index = _raw_map_load(spec)
    with Map(MapSpec("raw", MapType.ARRAY, key_size=4, value_size=4, max_entries=1)) as m:
        m.update(bytes(4), (7).to_bytes(4, "little"))
        spec.instructions[index].set_map_fd(m.fd.number)
        with Program(spec) as prog:
            assert prog.run(UDP_PACKET).retval == 7


def test_collection_program_runs(demo: CollectionSpec) -> None:
    with Collection(demo) as coll:
        assert coll.programs["count_packets"].run(UDP_PACKET).retval == 2  # XDP_PASS


def test_btf_probes_and_sanitized_btf(testdata: Path) -> None:
    from pybpf.btf import SanitizeOptions
    from pybpf.core._btf_probes import sanitize_options
    from pybpf.core._objbtf import ObjectBTF

    opts = sanitize_options()
    assert opts.func and opts.datasec  # every kernel of the matrix has them
    spec = load_collection_spec(testdata / "btf-el.o")
    assert spec.types is not None
    insns = [p.instructions for p in spec.programs.values()]
    # What a 5.10 kernel takes: the newer kinds rewritten, ids and ext infos kept.
    like_510 = SanitizeOptions(
        float=False,
        decl_tag=False,
        type_tag=False,
        enum64=False,
        tag_attributes=False,
        qmark_datasec=False,
    )
    old = ObjectBTF(spec.types, insns, like_510)
    try:
        assert old.fd is not None, old.error
        func_info, line_info, _ = old.ext_infos(insns[0])
        assert func_info and line_info
    finally:
        old.close()
    new = ObjectBTF(spec.types, insns, opts)
    try:
        assert new.fd is not None, new.error
        func_info, line_info, _ = new.ext_infos(insns[0])
        assert func_info and line_info
    finally:
        new.close()


def test_object_btf_is_fixed_in_its_records_not_in_a_copy_of_its_types(
    testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from pybpf.btf import Datasec, Func, Int, Linkage, Spec, Var, marshal
    from pybpf.btf.marshal import encode
    from pybpf.core._objbtf import _fixed_records

    spec = load_collection_spec(testdata / "ksyms-el.o")
    assert spec.types is not None
    before = marshal(spec.types)

    def no_copy(self: Spec) -> Spec:
        raise AssertionError("the object's types were copied")

    monkeypatch.setattr(Spec, "copy", no_copy)
    fixed = Spec.from_bytes(encode(_fixed_records(spec.types), sys.byteorder))
    assert marshal(spec.types) == before  # the object's own types are unchanged
    ksyms = fixed.type_by_name(".ksyms")
    assert isinstance(ksyms, Datasec) and ksyms.vars
    for i, secinfo in enumerate(ksyms.vars):
        var = secinfo.type
        assert isinstance(var, Var) and isinstance(var.type, Int) and var.type.size == 4
        assert (secinfo.offset, secinfo.size) == (4 * i, 4)
    assert ksyms.size == 4 * len(ksyms.vars)
    for t in fixed.own_types():
        assert not isinstance(t, Var | Func) or t.linkage != Linkage.EXTERN
        if isinstance(t, Datasec):
            offsets = [v.offset for v in t.vars]
            assert offsets == sorted(offsets) and (t.size or not t.vars)


def test_btf_probes_ask_only_about_the_kinds_an_object_uses(
    testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pybpf.btf import Datasec, Float, Func, FuncProto, Int, Linkage, Var, VarSecinfo
    from pybpf.core import _btf_probes

    i = Int("int", 4)
    proto = FuncProto(i)
    var = Var("x", i, Linkage.GLOBAL)
    types = [i, proto, Func("f", proto, Linkage.GLOBAL), Float("float", 4), var]
    types.append(Datasec("?.data", 4, [VarSecinfo(var, 0, 4)]))
    assert _btf_probes.features_used(types) == {
        "func",
        "func_global",
        "float",
        "datasec",
        "qmark_datasec",
    }
    assert _btf_probes.features_used([i, FuncProto(i), Func("g", proto)]) == {"func"}

    # The kernel's answers are those of the full probe, for the kinds used.
    full = _btf_probes.sanitize_options()
    spec = load_collection_spec(testdata / "core-el.o")
    assert spec.types is not None
    used = _btf_probes.features_used(spec.types)
    asked: list[str] = []
    real = _btf_probes.supported
    monkeypatch.setattr(_btf_probes, "supported", lambda f: asked.append(f) or real(f))
    opts = _btf_probes.sanitize_options(spec.types)
    assert sorted(asked) == sorted(used)
    assert all(getattr(opts, f) == getattr(full, f) for f in used)


@pytest.fixture
def fresh_probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Probes with nothing known yet, their boot note kept under tmp_path."""
    from pybpf.core import _boot_facts, _btf_probes, _probes

    caches = [
        _btf_probes.supported,
        _boot_facts._saved,
        _probes.have_map_names,
        _probes.names_allow_dot,
    ]
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path))
    for cache in caches:
        cache.cache_clear()
    yield tmp_path
    for cache in caches:
        cache.cache_clear()


def _kept_facts() -> bytes | None:
    from pybpf.btf.kernel import load_boot_note

    return load_boot_note("core-probes")


def test_probe_answers_are_kept_for_the_boot(
    fresh_probes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pybpf.core import _boot_facts, _btf_probes, _probes

    probed = _btf_probes.sanitize_options()
    names = (_probes.have_map_names(), _probes.names_allow_dot())
    assert names == (True, True)  # every kernel of the matrix (>= 5.2)
    kept = _kept_facts()
    assert kept is not None and b"btf_func=1\n" in kept and b"map_names=1\n" in kept
    # A later process of the same boot: the answers come from the note, no probe runs.
    for cache in (
        _btf_probes.supported,
        _boot_facts._saved,
        _probes.have_map_names,
        _probes.names_allow_dot,
    ):
        cache.cache_clear()

    def no_probe(*args: object) -> int:
        raise AssertionError("probed again")

    monkeypatch.setattr(_btf_probes, "_accepts", no_probe)
    monkeypatch.setattr(_probes, "_create", no_probe)
    assert _btf_probes.sanitize_options() == probed
    assert (_probes.have_map_names(), _probes.names_allow_dot()) == names


def test_probe_failing_for_want_of_privileges_is_not_kept(
    fresh_probes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from pybpf.core import _btf_probes, _cmds, _probes

    def refused(blob: bytes, what: str) -> object:
        raise BPFError(errno.EPERM, what)

    monkeypatch.setattr(_cmds, "btf_load", refused)
    monkeypatch.setattr(_probes, "_create", lambda *args, **kwargs: -errno.EPERM)
    assert not _btf_probes.supported("float")
    assert not _probes.have_map_names()
    assert _kept_facts() is None
    monkeypatch.undo()
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(fresh_probes))
    _btf_probes.supported.cache_clear()
    assert _btf_probes.supported("func")  # every kernel of the matrix has FUNC
    assert _kept_facts() == b"btf_func=1\n"


def test_object_btf_refused(testdata: Path) -> None:
    from pybpf.core._btf_probes import sanitize_options
    from pybpf.core._objbtf import ObjectBTF

    # Legacy map sections: the reader leaves their DATASEC offsets at 0, which
    # the kernel refuses; the object then loads without BTF, as with libbpf.
    spec = load_collection_spec(testdata / "maps_legacy-el.o")
    assert spec.types is not None
    btf = ObjectBTF(spec.types, [], sanitize_options())
    assert btf.fd is None and btf.error is not None
    with Collection(spec) as coll:
        assert all(p.info().btf_id == 0 for p in coll.programs.values())


@pytest.mark.parametrize(
    ("program", "kernel_name"),
    [
        ("fentry", "bpf_fentry_test1"),
        ("fexit", "bpf_fentry_test1"),
        ("fmod_ret", "security_file_open"),
        ("lsm", "bpf_lsm_file_open"),
        ("lsm_cgroup", "bpf_lsm_socket_bind"),
        ("iter", "bpf_iter_task"),
        ("tp_btf", "btf_trace_sched_wakeup"),
    ],
)
def test_attach_btf_ids(testdata: Path, program: str, kernel_name: str) -> None:
    # Resolved on every kernel, even where the load itself is refused (EPERM here).
    from pybpf.btf import load_kernel_spec
    from pybpf.core import _attach_btf

    spec = load_collection_spec(testdata / "sections-el.o").programs[program]
    assert _attach_btf.needs_attach_btf_id(spec)
    kernel = load_kernel_spec()
    found = _attach_btf.find_attach_btf(spec)
    assert found.module is None and found.obj_fd == 0
    assert kernel.type_by_id(found.btf_id).name == kernel_name


def test_freplace(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    freplace = spec.programs["freplace"]
    with Collection(spec, programs=["socket_one"]) as coll:
        target = coll.programs["socket_one"]
        with pytest.raises(ValueError, match="attach_target"):
            Program(freplace, types=spec.types, maps=coll.maps)
        missing = freplace.copy()
        missing.attach_to = "pybpf_no_such_function"
        with pytest.raises(BPFError, match="pybpf_no_such_function"):
            Program(missing, types=spec.types, maps=coll.maps, attach_target=target)
        try:
            with Program(freplace, types=spec.types, maps=coll.maps, attach_target=target) as p:
                assert p.type == ProgramType.EXT
        except BPFPermissionError as exc:
            # No probe can ask for freplace without a target program of its
            # own: this load is the probe, and its refusal the kernel's answer.
            pytest.skip(f"this kernel refused the freplace load: {exc}")


def test_freplace_target_without_btf(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    with Collection(spec, programs=["socket_one"]) as coll:
        # Loaded again without the object's BTF: nothing to find the function in.
        bare = Program(spec.programs["socket_one"], maps=coll.maps)
        with bare, pytest.raises(BPFError, match="without BTF"):
            Program(spec.programs["freplace"], types=spec.types, maps=coll.maps, attach_target=bare)


def _kprobe_spec(section: str) -> ProgramSpec:
    code = Instructions([builder.mov(R0, 0), builder.exit()])
    return ProgramSpec("probe", section, ProgramType.KPROBE, code, license="GPL")


@pytest.mark.parametrize("section", ["usdt", "usdt/python:function__entry", "usdt.s/x:p:n"])
def test_a_usdt_program_is_loaded_for_uprobe_multi_where_the_kernel_links_them(
    section: str,
) -> None:
    # libbpf 1.5 (SEC_USDT): decided by the cached probe, the user's spec untouched.
    spec = _kprobe_spec(section)
    try:
        features.have_uprobe_multi_link()
        expected = AttachType.TRACE_UPROBE_MULTI
    except NotSupportedError:
        expected = None
    if section.startswith("usdt.s"):
        # Sleepable uprobes came with 6.0 (5.10 says only tracing and LSM may sleep).
        features.have_sleepable(ProgramType.KPROBE, expected)
        spec.flags = BPF_F_SLEEPABLE
        spec.sleepable = True
    with Program(spec) as prog:
        assert prog.spec is not None
        assert prog.spec.attach_type == expected
        assert prog.spec.section == section
    assert spec.attach_type is None


def test_only_usdt_programs_without_an_attach_type_are_loaded_for_uprobe_multi() -> None:
    for section in ("uprobe", "kprobe/f", "usdtx"):
        spec = _kprobe_spec(section)
        with Program(spec) as prog:
            assert prog.spec is spec
    spec = _kprobe_spec("usdt")
    spec.attach_type = AttachType.TRACE_KPROBE_MULTI  # the user's choice stays
    with Program(spec) as prog:
        assert prog.spec is spec
