"""Error paths of program loading and extern resolution, each with its typed error."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from pybpf.asm import Instructions
from pybpf.btf import load_kernel_spec
from pybpf.core import (
    BPFError,
    LimitError,
    Program,
    ProgramType,
    _externs,
    _kconfig,
    _prog_load,
    features,
    load_collection_spec,
)
from pybpf.elf.spec import Extern, ExternKind

pytestmark = pytest.mark.kernel


def test_too_many_instructions() -> None:
    mov_r0 = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0])
    exit_ = bytes([0x95, 0, 0, 0, 0, 0, 0, 0])
    req = _prog_load.LoadRequest(
        name="huge",
        prog_type=ProgramType.SOCKET_FILTER,
        insns=mov_r0 * 1_000_001 + exit_,
        license="GPL",
    )
    with pytest.raises(LimitError, match="instruction count") as info:
        _prog_load.load(req)
    assert info.value.errno == 7  # E2BIG


def test_attach_target_missing_from_section(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "sections-el.o")
    p = spec.programs["tp_btf"].copy()
    p.attach_to = ""
    with pytest.raises(ValueError, match="names nothing to attach to"):
        Program(p, types=spec.types)


def test_core_needs_types(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "core-el.o")
    name = next(iter(spec.programs))
    with pytest.raises(ValueError, match="types="):
        Program(spec.programs[name])


def _ksym_insns(name: str, *, weak: bool, kind: ExternKind = ExternKind.KSYM) -> Instructions:
    spec = load_collection_spec(Path(__file__).parents[3] / "testdata" / "ksyms-el.o")
    for insn in spec.programs["read_ksyms"].instructions:
        ext = insn.metadata.get(Extern) if insn.is_ld_imm64 else None
        if isinstance(ext, Extern) and ext.name == "pybpf_no_such_symbol":
            one = insn.copy()
            one.metadata[Extern] = Extern(name, kind, ext.type, weak=weak)
            return Instructions([one])
    raise AssertionError("ksyms-el.o lost its pybpf_no_such_symbol extern")


def test_missing_strong_ksym() -> None:
    insns = _ksym_insns("pybpf_really_missing", weak=False)
    with pytest.raises(BPFError, match=r"pybpf_really_missing.*/proc/kallsyms") as info:
        _externs.resolve("read_ksyms", insns, load_kernel_spec())
    assert info.value.errno == errno.ESRCH  # libbpf: "extern (strong): not resolved"


def test_missing_strong_kfunc() -> None:
    insns = _ksym_insns("pybpf_no_kfunc", weak=False, kind=ExternKind.KFUNC)
    with pytest.raises(BPFError, match=r"pybpf_no_kfunc.*kernel's BTF") as info:
        _externs.resolve("read_ksyms", insns, load_kernel_spec())
    assert info.value.errno == errno.ESRCH  # libbpf's find_ksym_btf_id


def test_ksym_without_kernel_btf() -> None:
    insns = _ksym_insns("pybpf_no_kfunc", weak=True, kind=ExternKind.KFUNC)
    with pytest.raises(BPFError, match="does not provide") as info:
        _externs.resolve("read_ksyms", insns, None)
    assert info.value.errno == errno.ESRCH  # libbpf, without the kernel's BTF


def test_unknown_linux_extern() -> None:
    spec = load_collection_spec(Path(__file__).parents[3] / "testdata" / "kconfig-el.o")
    var = spec.variables["LINUX_KERNEL_VERSION"].copy()
    var.name = "LINUX_PYBPF_UNKNOWN"
    with pytest.raises(BPFError, match="unknown LINUX_ extern") as info:
        _kconfig.fill(bytes(200), [var], set(), "little")
    assert info.value.errno == errno.EINVAL  # libbpf: "unrecognized virtual extern"
    assert _kconfig.fill(bytes(200), [var], {"LINUX_PYBPF_UNKNOWN"}, "little") == bytes(200)


def test_open_missing_programs(tmp_path: Path) -> None:
    with pytest.raises(BPFError) as info:
        Program.from_id(0xFFFFFFF0)
    assert info.value.errno == 2
    with pytest.raises(BPFError, match="open pinned program"):
        Program.load_pinned("/sys/fs/bpf/pybpf_no_such_pin")


def test_contents_name_missing_object(testdata: Path, tmp_path: Path) -> None:
    from pybpf.core import Collection, CollectionOptions

    spec = load_collection_spec(testdata / "loader-el.o")
    features.check_spec(spec)  # NotSupportedError: reported as a skip
    key, _ = spec.maps["outer"].contents[0]
    spec.maps["outer"].contents = [(key, "pybpf_not_a_map")]
    pins = Path("/sys/fs/bpf") / f"pybpf_errs_{tmp_path.name}"
    pins.mkdir()
    try:
        with pytest.raises(ValueError, match="pybpf_not_a_map"):
            Collection(spec, CollectionOptions(pin_path=pins))
    finally:
        for child in pins.iterdir():
            child.unlink()
        pins.rmdir()


def test_struct_ops_layout_errors(testdata: Path) -> None:
    from pybpf.btf import Int, Member, Struct
    from pybpf.core import _struct_ops

    kernel = load_kernel_spec()
    ops = load_collection_spec(testdata / "struct_ops-el.o").maps["pybpf_cc"].copy()
    ops.value_type = Int("int", 4)
    with pytest.raises(BPFError, match="not a struct"):
        _struct_ops.prepare(ops, kernel)
    fake = Struct("tcp_congestion_ops", 4, [Member("pybpf_no_member", Int("int", 4), 0)])
    ops.value_type = fake
    with pytest.raises(BPFError, match="pybpf_no_member"):
        _struct_ops.prepare(ops, kernel)


def test_struct_ops_with_refused_btf(testdata: Path) -> None:
    # As libbpf ("BTF is mandatory, can't proceed"): a struct_ops map needs
    # the object's BTF, so a kernel that refuses it fails the load with its
    # own errno, not with a "not supported" that hides why.
    from pybpf.core import Collection, NotSupportedError
    from pybpf.core._btf_probes import sanitize_options
    from pybpf.core._objbtf import ObjectBTF

    spec = load_collection_spec(testdata / "struct_ops_btf_refused-el.o")
    assert spec.types is not None
    btf = ObjectBTF(spec.types, [], sanitize_options(spec.types))
    if btf.fd is not None:
        btf.fd.close()
        pytest.skip("this kernel accepts the object's BTF (no special field checks at BTF load)")
    assert isinstance(btf.error, BPFError)
    with pytest.raises(BPFError, match=r"pybpf_br_cc.*BTF") as info:
        Collection(spec)
    assert not isinstance(info.value, NotSupportedError)
    assert info.value.errno == btf.error.errno
    assert isinstance(info.value.__cause__, BPFError)
