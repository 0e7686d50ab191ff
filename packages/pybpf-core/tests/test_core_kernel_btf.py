"""Kernel BTF objects by id, and ksyms and kfuncs of vmlinux and of kernel modules.

Module tests need a module with BTF: the VM rows load nf_conntrack in every
guest (kernels/vm.py); the host has none, and skips them saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pybpf.asm import Instruction, Instructions
from pybpf.asm.opcodes import CallSource, PseudoSource
from pybpf.btf import Func, FuncParam, FuncProto, Int, Var, Void, load_kernel_spec, parse
from pybpf.core import BPFError, Collection, VerifierError, _externs, _kernel_btf, _sys
from pybpf.elf import load_collection_spec
from pybpf.elf.spec import Extern, ExternKind

if TYPE_CHECKING:
    from conftest import KernelAnswers

pytestmark = pytest.mark.kernel

TESTDATA = Path(__file__).parents[3] / "testdata"
XDP_DROP = 1
PACKET = bytes(64)


def need_module(name: str) -> None:
    if not Path(f"/sys/kernel/btf/{name}").exists():
        pytest.skip(f"no BTF for kernel module {name} here (the VM rows load nf_conntrack)")


def test_compiled_core_brings_the_compiled_btf_scan() -> None:
    """Loading the kernel's BTF with no saved index walks its records in C.

    The same module maps the kernel's BTF files (pybpf.btf._mapping), so a
    load imports no ctypes.
    """
    if not _sys.COMPILED:
        pytest.skip("pybpf-core runs in cffi ABI mode here")
    parse._compiled_scan.cache_clear()
    scan = parse._compiled_scan()
    assert scan is not None
    assert callable(getattr(scan, "map_readonly", None))


def test_vmlinux_btf_object(this_kernel: KernelAnswers) -> None:
    btf_id = this_kernel.vmlinux_btf_id()
    with _kernel_btf.open_btf(btf_id) as fd:
        info = _kernel_btf.btf_info(fd)
        assert info.name == "vmlinux"
        assert info.kernel_btf and info.id == btf_id
        raw = _kernel_btf.read_btf(fd, info.size)
        assert raw == Path("/sys/kernel/btf/vmlinux").read_bytes()
        assert _kernel_btf.btf_spec_by_id(btf_id, fd, info) is load_kernel_spec()


def test_module_btfs_close_once() -> None:
    names = {p.name for p in Path("/sys/kernel/btf").iterdir()} - {"vmlinux"}
    with _kernel_btf.ModuleBTFs() as modules:
        assert not modules.opened
        found = list(modules)
        assert {m.name for m in found} == names
        fds = [m.fd for m in found]
    assert all(fd.closed for fd in fds)
    modules.close()  # again: nothing left to close
    assert list(modules) == []


def test_specs_of_gone_btf_objects_are_dropped(this_kernel: KernelAnswers) -> None:
    this_kernel.need_kernel_btf_objects()
    with Collection(load_collection_spec(TESTDATA / "demo-el.o")) as coll:
        live = next(m.info().btf_id for m in coll.maps.values())
        spec = _kernel_btf.btf_spec_by_id(live)
        assert spec.types_by_name("unsigned int", Int)
        gone = 0xFFFF_FFF0  # an id the kernel never handed out
        _kernel_btf._specs[gone] = (None, spec)
        _kernel_btf._loaded.append(gone)
        with _kernel_btf.ModuleBTFs() as modules:
            list(modules)  # walks every BTF id the kernel has
        assert gone not in _kernel_btf._specs and gone not in _kernel_btf._loaded
        assert _kernel_btf.btf_spec_by_id(live) is spec  # still cached: still alive


def test_module_spec_is_split() -> None:
    need_module("nf_conntrack")
    with _kernel_btf.ModuleBTFs() as modules:
        conntrack = next(m for m in modules if m.name == "nf_conntrack")
        spec = conntrack.spec
        assert spec.base is load_kernel_spec()
        assert spec.start_id == load_kernel_spec().next_id
        lookup = spec.type_by_name("bpf_xdp_ct_lookup", Func)
        assert spec.type_id(lookup) >= spec.start_id
        # Cached per process by BTF id: the same spec again.
        assert conntrack.spec is spec


def _insns(obj: str, program: str) -> Instructions:
    return load_collection_spec(TESTDATA / obj).programs[program].instructions.copy()


def _by_name(insns: Instructions, name: str) -> list[Instruction]:
    out = []
    for insn in insns:
        ext = insn.metadata.get(Extern) if insn._names is not None else None
        if isinstance(ext, Extern) and ext.name == name:
            out.append(insn)
    return out


def test_module_kfunc_resolution() -> None:
    need_module("nf_conntrack")
    insns = _insns("kfuncs_module-el.o", "ct_lookup")
    with _externs.Resolver(load_kernel_spec()) as resolver:
        resolver.resolve("ct_lookup", insns)
        conntrack = next(m for m in resolver.modules if m.name == "nf_conntrack")
        assert resolver.fd_array == [0, conntrack.fd.number]
        for name in ("bpf_xdp_ct_lookup", "bpf_ct_release"):
            (call,) = _by_name(insns, name)
            assert call.src == CallSource.KFUNC and call.offset == 1
            assert conntrack.spec.type_by_id(call.constant).name == name
        load, call = _by_name(insns, "pybpf_no_such_kfunc")
        assert (load.src, load.constant) == (PseudoSource.IMM, 0)
        assert call.src == CallSource.HELPER
        assert call.constant == _externs.KFUNC_POISON_BASE
    assert conntrack.fd.closed


def test_module_kfunc_call_runs() -> None:
    need_module("nf_conntrack")
    with Collection(TESTDATA / "kfuncs_module-el.o", programs=["ct_lookup"]) as coll:
        # No such connection: the lookup fails with ENOENT, the program drops.
        assert coll.programs["ct_lookup"].run(PACKET).retval == XDP_DROP
        assert coll.variables["missing"].get() == 0


def test_module_kfunc_exists(this_kernel: KernelAnswers) -> None:
    need_module("nf_conntrack")
    # The load first: a kernel that takes no LD_IMM64 of a kfunc says so.
    with this_kernel.skip_if_lacking():
        coll = Collection(TESTDATA / "kfuncs_module-el.o", programs=["ct_exists"])
    with coll:
        coll.programs["ct_exists"].run(PACKET)
        assert coll.variables["exists"].get() == 1
    insns = _insns("kfuncs_module-el.o", "ct_exists")
    with _externs.Resolver(load_kernel_spec()) as resolver:
        resolver.resolve("ct_exists", insns)
        conntrack = next(m for m in resolver.modules if m.name == "nf_conntrack")
        (load,) = _by_name(insns, "bpf_xdp_ct_alloc")
        assert load.src == PseudoSource.BTF_ID and load.offset == 0
        assert load.constant >> 32 == conntrack.fd.number
        assert resolver.fd_array == []  # only calls use it


def _kfunc_call(name: str, proto: FuncProto, *, weak: bool) -> Instructions:
    """kfuncs-el.o's acquire_task, its bpf_rcu_read_lock() call made a call of ``name``."""
    insns = _insns("kfuncs-el.o", "acquire_task")
    for insn in _by_name(insns, "bpf_rcu_read_lock"):
        insn.metadata[Extern] = Extern(name, ExternKind.KFUNC, Func(name, proto), weak=weak)
    return insns


def test_kfunc_flavour(this_kernel: KernelAnswers) -> None:
    this_kernel.need_function("bpf_rcu_read_lock")
    insns = _kfunc_call("bpf_rcu_read_lock___pybpf", FuncProto(Void(), []), weak=False)
    _externs.resolve("acquire_task", insns, load_kernel_spec())
    (call,) = _by_name(insns, "bpf_rcu_read_lock___pybpf")
    assert load_kernel_spec().type_by_id(call.constant).name == "bpf_rcu_read_lock"
    assert call.offset == 0


def test_kfunc_incompatible_proto(this_kernel: KernelAnswers) -> None:
    this_kernel.need_function("bpf_rcu_read_lock")
    wrong = FuncProto(Void(), [FuncParam("x", Int("int", 4))])
    insns = _kfunc_call("bpf_rcu_read_lock", wrong, weak=False)
    with pytest.raises(BPFError, match=r"bpf_rcu_read_lock.*incompatible.*vmlinux") as info:
        _externs.resolve("acquire_task", insns, load_kernel_spec())
    assert info.value.errno == 22
    # A weak one is missing, as in libbpf: its call is poisoned.
    insns = _kfunc_call("bpf_rcu_read_lock", wrong, weak=True)
    _externs.resolve("acquire_task", insns, load_kernel_spec())
    (call,) = _by_name(insns, "bpf_rcu_read_lock")
    assert (call.src, call.constant) == (CallSource.HELPER, _externs.KFUNC_POISON_BASE)


def test_reachable_missing_weak_kfunc(this_kernel: KernelAnswers) -> None:
    spec = load_collection_spec(TESTDATA / "kfuncs-el.o")
    for insn in _by_name(spec.programs["acquire_task"].instructions, "bpf_rcu_read_lock"):
        ext = insn.metadata[Extern]
        insn.metadata[Extern] = Extern("pybpf_gone", ExternKind.KFUNC, ext.type, weak=True)
    # The object's other kfuncs are strong: a kernel without them says so first.
    with (
        this_kernel.skip_if_lacking(),
        pytest.raises(VerifierError, match=f"unknown#{_externs.KFUNC_POISON_BASE}") as info,
    ):
        Collection(spec)
    assert any("'pybpf_gone'" in note for note in info.value.__notes__)


def test_typed_ksym_incompatible() -> None:
    kernel = load_kernel_spec()
    if not kernel.types_by_name("runqueues"):
        pytest.skip("no per-CPU variables in this kernel's BTF (Debian 5.10)")
    insns = _insns("ksyms-el.o", "read_ksyms")
    for insn in _by_name(insns, "runqueues"):
        # Even a weak ksym of another type is refused, as libbpf does.
        insn.metadata[Extern] = Extern("runqueues", ExternKind.KSYM, Int("int", 4), weak=True)
    with pytest.raises(BPFError, match=r"ksym 'runqueues'.*incompatible"):
        _externs.resolve("read_ksyms", insns, kernel)


def test_module_typed_ksym() -> None:
    # Per-CPU variables of a module (kvm's cpu_tsc_khz): `kernels.vm --module kvm`.
    with _externs.Resolver(load_kernel_spec()) as resolver:
        for module in resolver.modules:
            var = _externs._own_id(module.spec, "cpu_tsc_khz", Var)
            if var is not None:
                break
        else:
            pytest.skip("no module with the per-CPU variable cpu_tsc_khz (kvm) is loaded")
        insns = _insns("ksyms-el.o", "read_ksyms")
        for insn in _by_name(insns, "pybpf_no_such_typed_symbol"):
            insn.metadata[Extern] = Extern("cpu_tsc_khz", ExternKind.KSYM, Int("int", 4))
        resolver.resolve("read_ksyms", insns)
        (load,) = _by_name(insns, "cpu_tsc_khz")
        assert load.src == PseudoSource.BTF_ID
        assert load.constant == var | module.fd.number << 32
