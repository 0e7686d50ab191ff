"""CO-RE and attach targets in kernel modules' BTF, as libbpf finds them.

Module tests need a module with BTF: the VM rows load nf_conntrack in every
guest (kernels/vm.py); the host has none, and skips them saying so. Their
object is testdata/core_module.c.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Func, Struct, load_kernel_spec
from pybpf.core import (
    BPFError,
    Collection,
    CollectionOptions,
    Map,
    Program,
    VerifierError,
    _attach_btf,
    features,
)
from pybpf.core._kernel_btf import ModuleBTF, ModuleBTFs
from pybpf.core.program import core_relocator
from pybpf.elf import load_collection_spec
from pybpf.elf.spec import CollectionSpec

pytestmark = pytest.mark.kernel

TESTDATA = Path(__file__).parents[3] / "testdata"
L4PROTO = "nf_conntrack_l4proto"


def need_module(name: str) -> None:
    if not Path(f"/sys/kernel/btf/{name}").exists():
        pytest.skip(f"no BTF for kernel module {name} here (the VM rows load nf_conntrack)")


@pytest.fixture
def spec() -> CollectionSpec:
    return load_collection_spec(TESTDATA / "core_module-el.o")


def _conntrack(modules: ModuleBTFs) -> ModuleBTF:
    return next(m for m in modules if m.name == "nf_conntrack")


def _attach_ids(prog: Program) -> tuple[int, int]:
    """The program's ``attach_btf_obj_id`` and ``attach_btf_id``, where the kernel reports them.

    The fields came later than module BTF: a kernel whose ``bpf_prog_info``
    ends before them reports neither (None), and the test is skipped there.
    """
    info = prog.info()
    if info.attach_btf_obj_id is None or info.attach_btf_id is None:
        pytest.skip("this kernel's bpf_prog_info has no attach_btf_obj_id and attach_btf_id")
    return info.attach_btf_obj_id, info.attach_btf_id


# -- CO-RE ---------------------------------------------------------------------


def test_modules_read_only_for_a_type_vmlinux_lacks(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "core-el.o")
    assert spec.types is not None
    with ModuleBTFs() as modules:
        # core_btf_pointers relocates task_struct's fields only: no module is opened.
        relocator = core_relocator(spec.types, None, modules, "test")
        relocator.relocate(spec.programs["core_btf_pointers"].instructions.copy())
        assert not modules.opened
        assert relocator.targets == (load_kernel_spec(),)
        # core_probe_read asks about pybpf_no_such_type: every module is searched.
        relocator.relocate(spec.programs["core_probe_read"].instructions.copy())
        assert modules.opened
        assert relocator.targets == (load_kernel_spec(), *(m.spec for m in modules))


def test_core_against_module_type(spec: CollectionSpec) -> None:
    need_module("nf_conntrack")
    with Collection(spec, programs=["l4proto_layout"]) as coll:
        assert coll.programs["l4proto_layout"].run(bytes(64)).retval == 0
        got = {n: coll.variables[n].get() for n in ("l4proto_id", "l4proto_size")}
        got |= {n: coll.variables[n].get() for n in ("policy_offset", "policy_exists")}
        missing = coll.variables["missing_exists"].get()
    with ModuleBTFs() as modules:
        conntrack = _conntrack(modules)
        module = conntrack.spec
        (l4proto,) = module.types_by_name(L4PROTO, Struct)
        l4proto_id = module.type_id(l4proto)
    assert not load_kernel_spec().types_by_name(L4PROTO, Struct), "vmlinux has it now"
    policy = next(m for m in l4proto.members if m.name == "nla_policy")
    # A split id: the module's own type, not one of vmlinux's.
    assert got["l4proto_id"] == l4proto_id >= module.start_id
    assert got["l4proto_size"] == l4proto.size
    assert got["policy_offset"] == policy.offset // 8 != 8  # 8 locally
    assert (got["policy_exists"], missing) == (1, 0)


def test_core_target_leaves_modules_out(spec: CollectionSpec) -> None:
    need_module("nf_conntrack")
    # A target given by the user is the only one, as libbpf's custom BTF:
    # the module's type is missing, its field offset poisoned.
    options = CollectionOptions(core_target=load_kernel_spec())
    with pytest.raises(VerifierError):
        Collection(spec, options, programs=["l4proto_layout"])


def test_core_against_module_type_in_a_program(spec: CollectionSpec) -> None:
    need_module("nf_conntrack")
    bss = spec.maps[".bss"]
    features.check_spec(spec.programs["l4proto_found"])  # the kernel's refusal is a skip
    with (
        Map(bss) as data,
        Program(spec.programs["l4proto_found"], maps={".bss": data}, types=spec.types) as prog,
    ):
        obj_id, btf_id = _attach_ids(prog)
    with ModuleBTFs() as modules:
        conntrack = _conntrack(modules)
        assert obj_id == conntrack.id
        assert conntrack.spec.type_by_id(btf_id).name == "nf_ct_l4proto_find"


# -- attach targets ------------------------------------------------------------


def _target(spec: CollectionSpec, program: str, attach_to: str) -> _attach_btf.AttachBTF:
    p = spec.programs[program].copy()
    p.attach_to = attach_to
    with ModuleBTFs() as modules:
        found = _attach_btf.find_attach_btf(p, modules)
        assert found.module is None or found.module.fd.number == found.obj_fd
    return found


def test_split_target() -> None:
    assert _attach_btf.split_target("nf_conntrack:nf_confirm") == ("nf_conntrack", "nf_confirm")
    assert _attach_btf.split_target(":schedule") == ("", "schedule")
    assert _attach_btf.split_target("schedule") == (None, "schedule")


@pytest.mark.parametrize(
    "attach_to", ["vmlinux:bpf_fentry_test1", ":bpf_fentry_test1", "vm:bpf_fentry_test1"]
)
def test_vmlinux_targets(spec: CollectionSpec, attach_to: str) -> None:
    # libbpf: a module part that begins "vmlinux" (strncmp over its length) is vmlinux.
    found = _target(spec, "conn_free", attach_to)
    assert found.module is None and found.obj_fd == 0
    assert load_kernel_spec().type_by_id(found.btf_id).name == "bpf_fentry_test1"


def test_target_of_a_missing_module(spec: CollectionSpec) -> None:
    with pytest.raises(BPFError, match="'pybpf_no_such_module'") as info:
        _target(spec, "conn_free", "pybpf_no_such_module:bpf_fentry_test1")
    assert info.value.errno == 3  # ESRCH, as libbpf
    with pytest.raises(BPFError, match="vmlinux or a module"):
        _target(spec, "conn_free", "pybpf_no_such_function")


@pytest.mark.parametrize(
    "attach_to",
    ["nf_ct_l4proto_find", "nf_conntrack:nf_ct_l4proto_find", "nf_conn:nf_ct_l4proto_find"],
)
def test_module_targets(spec: CollectionSpec, attach_to: str) -> None:
    need_module("nf_conntrack")
    # Not in vmlinux: the module's, by name alone, by module, or by a module
    # name's prefix (libbpf compares with strncmp over the given length).
    found = _target(spec, "l4proto_found", attach_to)
    assert found.module is not None and found.module.name == "nf_conntrack"
    module = found.module.spec
    assert found.btf_id >= module.start_id
    assert module.type_by_id(found.btf_id).name == "nf_ct_l4proto_find"
    assert isinstance(module.type_by_id(found.btf_id), Func)


def test_module_part_skips_vmlinux(spec: CollectionSpec) -> None:
    need_module("nf_conntrack")
    with pytest.raises(BPFError, match="not found in vmlinux's BTF"):
        _target(spec, "l4proto_found", "vmlinux:nf_ct_l4proto_find")
    # As libbpf: a module's BTF holds vmlinux's types too, so a vmlinux
    # function named with a module is found there, with that module's fd.
    found = _target(spec, "conn_free", "nf_conntrack:bpf_fentry_test1")
    assert found.module is not None and found.module.name == "nf_conntrack"
    assert load_kernel_spec().type_by_id(found.btf_id).name == "bpf_fentry_test1"


def test_tracing_programs_on_module_functions(spec: CollectionSpec) -> None:
    need_module("nf_conntrack")
    for name in ("l4proto_found", "conn_free"):
        features.check_spec(spec.programs[name])  # the kernel's refusal is a skip
    coll = Collection(spec, programs=["l4proto_found", "conn_free"])
    with coll, ModuleBTFs() as modules:
        conntrack = _conntrack(modules)
        for name, func in (
            ("l4proto_found", "nf_ct_l4proto_find"),
            ("conn_free", "nf_conntrack_free"),
        ):
            obj_id, btf_id = _attach_ids(coll.programs[name])
            assert obj_id == conntrack.id
            assert conntrack.spec.type_by_id(btf_id).name == func
            target = coll.programs[name].info().attach_btf_type()
            assert target is not None and target.name == func
