"""Collections on the running kernel: every loadable testdata object, externs, CO-RE, pinning."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pybpf.asm import Helper, Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.btf import load_kernel_spec
from pybpf.core import (
    BPFError,
    ClosedError,
    Collection,
    CollectionOptions,
    CollectionSpec,
    IncompatibleMapError,
    Map,
    MapSpec,
    MapType,
    NotSupportedError,
    Program,
    ProgramSpec,
    ProgramType,
    Variable,
    VerifierError,
    _kconfig,
    features,
    load_collection,
    load_collection_spec,
    load_into,
)
from pybpf.elf.variable_value import VariableValue

if TYPE_CHECKING:
    from conftest import KernelAnswers

pytestmark = pytest.mark.kernel

R0 = Register.R0
UDP_PACKET = bytes(14) + bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17]) + bytes(40)

#: testdata objects that load as a whole. What each needs of the kernel (map,
#: program and attach types, helpers, ISA extensions) is asked of the kernel
#: by features.check_spec; what no probe asks before loading (which kfuncs
#: exist, struct_ops links) the load itself asks, its refusal a skip.
LOADABLE = [
    "arena_access",
    "arena_globals",
    "atomics",
    "btf",
    "core",
    "core_match",
    "demo",
    "globals",
    "instructions",
    "kconfig",
    "kfuncs",
    "linked",
    "loader",
    "long_jump",
    "maps",
    "maps_iproute2",
    "maps_legacy",
    "maps_new",
    "struct_ops",
    "struct_ops_link",
    "usdt",
    "v4",
]


def need(testdata: Path, name: str) -> CollectionSpec:
    """The spec of testdata's ``name``-el.o; skipped with the kernel's answer
    when this kernel lacks or refuses something it uses."""
    spec = load_collection_spec(testdata / f"{name}-el.o")
    features.check_spec(spec)  # NotSupportedError: reported as a skip
    return spec


@pytest.fixture
def pin_dir() -> Iterator[Path]:
    path = Path("/sys/fs/bpf") / f"pybpf_coll_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.mark.parametrize("name", LOADABLE)
def test_loads(testdata: Path, pin_dir: Path, this_kernel: KernelAnswers, name: str) -> None:
    if name == "kconfig" and _kconfig.read_config() is None:
        pytest.skip("no kernel config here (/boot/config-*, /proc/config.gz)")
    spec = need(testdata, name)
    with this_kernel.skip_if_lacking(spec):
        coll = Collection(spec, CollectionOptions(pin_path=pin_dir))
    with coll:
        assert set(coll.programs) == {n for n, p in spec.programs.items() if p.autoload}
        assert set(coll.maps) == set(spec.maps)
        for prog in coll.programs.values():
            assert prog.info().id > 0


def test_core_local_never_loads(testdata: Path, pin_dir: Path) -> None:
    # Its CO-RE types exist in no kernel: each relocation poisons its instruction
    # (a call to helper 0xbad2310, as libbpf does), and the verifier refuses it.
    with pytest.raises(VerifierError, match=f"unknown#{0xBAD2310}"):
        Collection(testdata / "core_local-el.o", CollectionOptions(pin_path=pin_dir))


def test_load_without_externs_or_core_does_not_read_kernel_btf(
    testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pybpf.core import program

    def no_kernel_btf() -> object:
        raise AssertionError("the kernel's BTF was read")

    monkeypatch.setattr(program, "load_kernel_spec", no_kernel_btf)
    with Collection(load_collection_spec(testdata / "demo-el.o")) as coll:
        assert coll.programs


def test_sections_without_fentry(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    # freplace needs a target program: test_core_program loads it with one.
    candidates = [n for n in spec.programs if n != "freplace"]
    missing: dict[str, NotSupportedError] = {}
    refused: dict[str, NotSupportedError] = {}
    for n in candidates:
        try:
            features.check_spec(spec.programs[n])
        except NotSupportedError as exc:
            (missing if exc.min_version else refused)[n] = exc
    wanted = [n for n in candidates if n not in missing and n not in refused]
    for n, lacked in missing.items():
        with pytest.raises(NotSupportedError, match=lacked.feature.split()[-1]):
            Collection(spec, programs=[n])
    # What the probes found refused (EPERM under lockdown, a target that
    # cannot sleep, an attach type this kernel lacks): loaded alone, each
    # fails with a typed error, or loads where the kernel checks no more at
    # load time (tcx, netkit or uprobe_multi on 6.1: only attaching fails,
    # as with libbpf). Either way nothing leaks (conftest counts the fds).
    for n in refused:
        with contextlib.suppress(BPFError):
            Collection(spec, programs=[n]).close()
    with Collection(spec, programs=wanted) as coll:
        assert set(coll.programs) == set(wanted)


def test_closes_everything(testdata: Path) -> None:
    coll = load_collection(testdata / "demo-el.o")
    progs = list(coll.programs.values())
    maps = list(coll.maps.values())
    coll.close()
    assert coll.closed
    assert all(p.closed for p in progs)
    assert all(m.closed for m in maps)
    with pytest.raises(ClosedError):
        coll["count_packets"]


def test_failure_half_way_closes(testdata: Path) -> None:
    # bad_stack fails after cap_length and the maps were created: the fd
    # leak check of conftest proves they were closed.
    with pytest.raises(VerifierError):
        Collection(testdata / "demo-el.o", programs=["cap_length", "bad_stack"])


def test_rodata_set_before_load(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "demo-el.o")
    spec.variables["drop_proto"].set(17)
    with Collection(spec) as coll:
        assert coll.programs["count_packets"].run(UDP_PACKET).retval == 1  # XDP_DROP
        assert coll.variables["drop_proto"].get() == 17
        with pytest.raises(PermissionError, match="frozen"):
            coll.variables["drop_proto"].set(6)


def test_variables_get_set(testdata: Path) -> None:
    with Collection(testdata / "demo-el.o") as coll:
        total = coll.variables["total_packets"]
        prog = coll.programs["count_packets"]
        prog.run(UDP_PACKET, repeat=4)
        assert total.get() == 4
        assert coll.variables["last_len"].get() == len(UDP_PACKET)
        total.set(100)
        prog.run(UDP_PACKET)
        assert total.get() == 101
        assert total.raw == (101).to_bytes(8, sys.byteorder)
        with pytest.raises(ValueError, match="8 bytes"):
            total.raw = b"\0"
        # The spec's variables and the loaded ones share one get/set.
        assert isinstance(total, VariableValue)
        assert total.byte_order == sys.byteorder
        stats = coll.maps["per_proto"].raw.lookup((17).to_bytes(4, sys.byteorder))
        assert int.from_bytes(stats[:8], sys.byteorder) == 5


def test_program_array_and_map_in_map(testdata: Path, pin_dir: Path) -> None:
    with Collection(need(testdata, "loader"), CollectionOptions(pin_path=pin_dir)) as coll:
        spec = coll.spec
        for mname in ("outer", "tail_calls"):
            m = coll.maps[mname]
            for key, target in spec.maps[mname].contents:
                assert isinstance(target, str)
                obj = coll.programs.get(target) or coll.maps[target]
                assert m.lookup(key) == obj.info().id


def test_kconfig_values(testdata: Path) -> None:
    config = _kconfig.read_config()
    if config is None:
        pytest.skip("no kernel config here (/boot/config-*, /proc/config.gz)")
    with Collection(testdata / "kconfig-el.o") as coll:
        v = coll.variables
        assert v["CONFIG_HZ"].get() == int(config["CONFIG_HZ"])
        assert v["CONFIG_BPF_SYSCALL"].get() is True
        tristate = {"y": 1, "m": 2}.get(config.get("CONFIG_BPF_LSM", ""), 0)
        assert int(v["CONFIG_BPF_LSM"].get()) == tristate
        # The one place a version is the point: LINUX_KERNEL_VERSION is the
        # release this kernel reports, as libbpf reads it from uname.
        release = os.uname().release.split("-")[0].split(".")
        major, minor = int(release[0]), int(release[1])
        assert v["LINUX_KERNEL_VERSION"].get() >> 8 == (major << 8) | minor
        lsm = config.get("CONFIG_LSM", '""').strip('"')
        assert v["CONFIG_LSM"].raw.rstrip(b"\0").decode() == lsm[:127]
        assert v["CONFIG_PYBPF_NO_SUCH_OPTION"].get() == 0
        assert v["LINUX_HAS_SYSCALL_WRAPPER"].get() is (os.uname().machine == "x86_64")
        assert v["CONFIG_HZ"].read_only


def test_kconfig_missing_strong_option(testdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kconfig, "config_paths", lambda: ["/nonexistent/config"])
    _kconfig.read_config.cache_clear()
    try:
        with pytest.raises(BPFError, match=r"CONFIG_HZ.*no kernel config") as info:
            Collection(testdata / "kconfig-el.o")
        assert info.value.errno == errno.EINVAL  # libbpf: "failed to open system Kconfig"
    finally:
        _kconfig.read_config.cache_clear()


def test_kconfig_option_the_config_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_collection_spec(Path(__file__).parents[3] / "testdata" / "kconfig-el.o")
    monkeypatch.setattr(_kconfig, "read_config", lambda: {"CONFIG_BPF_SYSCALL": "y"})
    with pytest.raises(BPFError, match=r"CONFIG_HZ.*not found in the kernel's config") as info:
        _kconfig.fill(bytes(200), [spec.variables["CONFIG_HZ"]], set(), "little")
    assert info.value.errno == errno.ESRCH  # libbpf: "extern (strong): not resolved"


def test_kconfig_encoding_errors() -> None:
    spec = load_collection_spec(Path(__file__).parents[3] / "testdata" / "kconfig-el.o")
    hz = spec.variables["CONFIG_HZ"]
    syscall = spec.variables["CONFIG_BPF_SYSCALL"]
    lsm = spec.variables["CONFIG_LSM"]
    assert _kconfig.kernel_version("6.18.3-foo") == (6 << 16) | (18 << 8) | 3
    assert _kconfig.kernel_version("4.19.300") == (4 << 16) | (19 << 8) | 255
    cfg = {"CONFIG_BPF_SYSCALL": "m", "CONFIG_LSM": "bpf", "CONFIG_HZ": "abc"}
    for var in (syscall, lsm, hz):
        with pytest.raises(BPFError, match=var.name) as info:
            _kconfig._encode(var, cfg[var.name], "little")
        assert info.value.errno == errno.EINVAL  # as libbpf's parsing of the config


def test_ksyms(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "ksyms-el.o")
    try:
        with Collection(spec) as coll:
            assert coll.programs["read_ksyms"].info().id > 0
    except VerifierError as exc:
        assert "runqueues" in exc.cause
        pytest.skip("no CONFIG_KALLSYMS_ALL on this kernel: typed ksyms have no address")
    except BPFError as exc:
        assert "runqueues" in str(exc)
        pytest.skip("no per-CPU variables in this kernel's BTF (Debian 5.10)")


def test_ksym_resolution() -> None:
    from pybpf.asm.opcodes import PseudoSource
    from pybpf.core import _externs

    spec = load_collection_spec(Path(__file__).parents[3] / "testdata" / "ksyms-el.o")
    insns = spec.programs["read_ksyms"].instructions.copy()
    kernel = load_kernel_spec()
    if not kernel.types_by_name("runqueues"):
        pytest.skip("no per-CPU variables in this kernel's BTF (Debian 5.10)")
    _externs.resolve("read_ksyms", insns, kernel)
    by_ref = {i.reference: i for i in insns if i.is_ld_imm64 and i.reference}
    runqueues = by_ref["runqueues"]
    assert runqueues.src == PseudoSource.BTF_ID
    assert kernel.type_by_id(runqueues.constant).name == "runqueues"
    assert by_ref["schedule"].constant == _externs.kallsyms()["schedule"]
    assert by_ref["pybpf_no_such_symbol"].constant == 0
    assert by_ref["pybpf_no_such_typed_symbol"].src == PseudoSource.IMM


def test_kfuncs_resolved(testdata: Path, this_kernel: KernelAnswers) -> None:
    with this_kernel.skip_if_lacking():
        coll = Collection(need(testdata, "kfuncs"))
    with coll:
        assert coll.programs["acquire_task"].info().id > 0


def test_missing_strong_kfunc_of_an_unloaded_program_fails_the_load(testdata: Path) -> None:
    # libbpf resolves every extern of the object first: a strong kfunc the
    # kernel lacks fails the whole load, though only a "?" program calls it.
    spec = load_collection_spec(testdata / "kfunc_missing-el.o")
    assert not spec.programs["calls_missing"].autoload
    with pytest.raises(BPFError, match=r"'bpf_pybpf_no_such_kfunc'.*not found") as info:
        Collection(spec)
    assert info.value.errno == errno.ESRCH  # libbpf's errno for it
    assert "calls_missing" in str(info.value)


def test_selection_answers_only_for_the_externs_it_names(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "kfunc_missing-el.o")
    with Collection(spec, programs=["plain"]) as coll:
        assert coll.programs["plain"].run(UDP_PACKET).retval == 1
    with pytest.raises(BPFError, match="'bpf_pybpf_no_such_kfunc'"):
        Collection(spec, programs=["calls_missing"])


def test_linked_extern_map_loads_at_its_symbol(testdata: Path) -> None:
    # libbpf refuses this object (its linker's DATASEC puts both maps at 0);
    # pybpf reads each map at its symbol, and the program reads both.
    with Collection(load_collection_spec(testdata / "linked_extern_map-el.o")) as coll:
        key = (1).to_bytes(4, sys.byteorder)
        coll.maps["here"].update(key, (3).to_bytes(4, sys.byteorder))
        coll.maps["there"].update(key, (4).to_bytes(4, sys.byteorder))
        assert coll.programs["read_both"].run(UDP_PACKET).retval == 7


def test_core_custom_target(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "core-el.o")
    with Collection(spec) as coll:
        default_tags = {n: p.info().tag for n, p in coll.programs.items()}
    with Collection(spec, CollectionOptions(core_target=load_kernel_spec())) as coll:
        assert {n: p.info().tag for n, p in coll.programs.items()} == default_tags
    # A target without the kernel's types: field accesses are poisoned, as
    # libbpf does, and the verifier refuses the poisoned call.
    other = load_collection_spec(testdata / "demo-el.o").types
    with pytest.raises(VerifierError, match="unknown#195896080"):
        Collection(spec, CollectionOptions(core_target=other))


def test_pinning_reuse(testdata: Path, pin_dir: Path) -> None:
    spec = need(testdata, "loader")
    opts = CollectionOptions(pin_path=pin_dir)
    with Collection(spec, opts) as first:
        pinned = first.maps["pybpf_loader_pinned"]
        pinned.update(b"\0\0\0\0", b"\x07" + bytes(pinned.value_size - 1))
        first_id = pinned.info().id
        assert (pin_dir / "pybpf_loader_pinned").exists()
        with Collection(testdata / "loader-el.o", opts) as second:
            again = second.maps["pybpf_loader_pinned"]
            assert again.info().id == first_id
            assert again.raw.lookup(b"\0\0\0\0")[0] == 7
            # Reused from the pin, typed by its kernel BTF as the new one was.
            assert again.lookup(b"\0\0\0\0") == pinned.lookup(b"\0\0\0\0")


def test_pinning_refuses_incompatible(testdata: Path, pin_dir: Path) -> None:
    spec = load_collection_spec(testdata / "loader-el.o")
    want = spec.maps["pybpf_loader_pinned"]
    other = MapSpec("pybpf_loader_pinned", want.type, want.key_size, want.value_size * 2, 1)
    with Map(other) as m:
        m.pin(pin_dir / "pybpf_loader_pinned")
        with pytest.raises(IncompatibleMapError, match="value_size") as info:
            Collection(spec, CollectionOptions(pin_path=pin_dir))
        assert info.value.property == "value_size"


def test_map_replacement(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "demo-el.o")
    with Map(spec.maps["limits"], key_codec=int, value_codec=int) as limits:
        limits[0] = 20
        opts = CollectionOptions(map_replacements={"limits": limits})
        with Collection(spec, opts) as coll:
            assert coll.maps["limits"] is limits
            assert coll.programs["cap_length"].run(UDP_PACKET).retval == 20
        assert not limits.closed
        wrong = MapSpec("limits", MapType.HASH, 4, 4, 1)
        with Map(wrong) as bad, pytest.raises(IncompatibleMapError, match="type"):
            Collection(spec, CollectionOptions(map_replacements={"limits": bad}))


class DemoObjects:
    count_packets: Program
    stats: Map
    total_packets: Variable


def test_load_into(testdata: Path) -> None:
    objs, coll = load_into(DemoObjects, testdata / "demo-el.o", names={"stats": "per_proto"})
    with coll:
        assert set(coll.programs) == {"count_packets"}
        assert "limits" not in coll.maps
        assert objs.count_packets.run(UDP_PACKET).retval == 2
        assert objs.total_packets.get() == 1
        assert len(list(objs.stats.keys())) == 1


def test_load_into_errors(testdata: Path) -> None:
    class Wrong:
        nope: Program

    class BadType:
        count_packets: int

    with pytest.raises(KeyError, match="nope"):
        load_into(Wrong, testdata / "demo-el.o")
    with pytest.raises(TypeError, match="count_packets"):
        load_into(BadType, testdata / "demo-el.o")


def test_selection_errors(testdata: Path) -> None:
    with pytest.raises(KeyError, match="nothing"):
        Collection(testdata / "demo-el.o", programs=["nothing"])
    with pytest.raises(KeyError, match="nothing"):
        Collection(testdata / "demo-el.o", maps=["nothing"])


def test_getitem(testdata: Path) -> None:
    with Collection(testdata / "demo-el.o") as coll:
        assert isinstance(coll["count_packets"], Program)
        assert isinstance(coll["limits"], Map)
        assert "count_packets" in repr(coll)


def test_variable_after_close(testdata: Path) -> None:
    coll = Collection(testdata / "demo-el.o")
    total = coll.variables["total_packets"]
    assert total.map.name == ".bss"
    assert "total_packets" in repr(total)
    coll.close()
    with pytest.raises(ClosedError):
        total.get()
    with pytest.raises(ClosedError):
        total.set(1)


def test_variable_without_btf_type(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "demo-el.o")
    spec.variables["total_packets"].type = None
    with Collection(spec) as coll:
        with pytest.raises(ValueError, match="no BTF type"):
            coll.variables["total_packets"].get()
        assert coll.variables["total_packets"].raw == bytes(8)


CONGESTION = Path("/proc/sys/net/ipv4/tcp_available_congestion_control")


def test_struct_ops_registers(testdata: Path, this_kernel: KernelAnswers) -> None:
    if "pybpf_cc" in CONGESTION.read_text().split():
        pytest.skip("pybpf_cc is already registered (another test run?)")
    with Collection(testdata / "struct_ops-el.o") as coll:
        ops = coll.maps["pybpf_cc"]
        info = ops.info()
        assert info.btf_vmlinux_value_type_id > 0
        # A kernel whose bpf_map_info has btf_vmlinux_id names the BTF object
        # holding the type: vmlinux's. The field took the place of padding, so
        # the struct's size cannot tell: the kernel's own BTF of it does.
        if this_kernel.struct_has("bpf_map_info", "btf_vmlinux_id"):
            assert info.btf_vmlinux_id == this_kernel.vmlinux_btf_id()
        else:
            assert info.btf_vmlinux_id == 0
        # Attaching is pybpf.link's job; the value is ready for it.
        ops.update(b"\0\0\0\0", coll.struct_ops_values["pybpf_cc"])
        try:
            assert "pybpf_cc" in CONGESTION.read_text().split()
        finally:
            ops.delete(b"\0\0\0\0")
    assert "pybpf_cc" not in CONGESTION.read_text().split()


def test_struct_ops_unknown_to_kernel(testdata: Path) -> None:
    from pybpf.core import _struct_ops

    other = load_collection_spec(testdata / "demo-el.o").types
    assert other is not None
    ops = load_collection_spec(testdata / "struct_ops-el.o").maps["pybpf_cc"]
    with pytest.raises(BPFError, match="no struct_ops type 'tcp_congestion_ops'") as info:
        _struct_ops.prepare(ops, other)
    # As libbpf's find_struct_ops_kern_types (find_ksym_btf_id): ESRCH.
    assert info.value.errno == errno.ESRCH


def test_struct_ops_selected_by_map(testdata: Path, this_kernel: KernelAnswers) -> None:
    spec = need(testdata, "struct_ops_link")
    with this_kernel.skip_if_lacking(spec):
        coll = Collection(spec, maps=["pybpf_cc_link"])
    with coll:
        assert len(coll.programs) == 3


def test_struct_ops_optional_maps_left_out(testdata: Path) -> None:
    # SEC("?.struct_ops*") maps are created only when named, and a program
    # only they hold is not loaded without them.
    with Collection(need(testdata, "struct_ops_optional")) as coll:
        assert set(coll.maps) == {"pybpf_opt_always"}
        assert "pybpf_opt_init" not in coll.programs
        assert len(coll.programs) == 3
    with Collection(need(testdata, "struct_ops_optional"), maps=["pybpf_opt_maybe"]) as coll:
        assert set(coll.maps) == {"pybpf_opt_maybe"}
        assert "pybpf_opt_init" in coll.programs


def test_program_array_selected_by_map(testdata: Path, pin_dir: Path) -> None:
    spec = need(testdata, "loader")
    held = {v for _, v in spec.maps["tail_calls"].contents if isinstance(v, str)}
    opts = CollectionOptions(pin_path=pin_dir)
    with Collection(spec, opts, maps=["tail_calls"]) as coll:
        assert held <= set(coll.programs)
        assert "xdp_count" not in coll.programs or "xdp_count" in held


def test_bpf_cookie_probe() -> None:
    # The probe (a raw load of a helper call) agrees with a tracepoint program
    # calling bpf_get_attach_cookie, loaded the way users load programs.
    cookie = ProgramSpec(
        "cookie",
        "tracepoint/syscalls/sys_enter_getpid",
        ProgramType.TRACEPOINT,
        Instructions([builder.call(Helper.get_attach_cookie), builder.mov(R0, 0), builder.exit()]),
        license="GPL",
    )
    try:
        Program(cookie).close()
    except VerifierError as exc:
        # The verifier names the helper by its number, whatever it calls it.
        assert f"#{int(Helper.get_attach_cookie)}" in exc.cause, exc
        loaded = False
    else:
        loaded = True
    assert _kconfig.has_bpf_cookie() is loaded
