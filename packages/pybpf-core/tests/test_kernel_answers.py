"""The tests' own judge of refusals (conftest's ``this_kernel``): what becomes a skip, what fails.

A refusal that says the kernel lacks a feature is a skip with its words; any
other refusal must still fail the test that met it.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pybpf.btf import Struct, load_kernel_spec
from pybpf.core import (
    BPFError,
    Collection,
    Map,
    MapFlags,
    MapSpec,
    MapType,
    VerifierError,
    _probes,
)
from pybpf.elf import load_collection_spec
from pybpf.elf.spec import Extern, ExternKind

if TYPE_CHECKING:
    from conftest import KernelAnswers

pytestmark = pytest.mark.kernel

Skipped = pytest.skip.Exception


def test_a_kfunc_missing_from_the_kernels_btf_is_a_skip(
    testdata: Path, this_kernel: KernelAnswers
) -> None:
    spec = load_collection_spec(testdata / "kfuncs-el.o")
    for insn in spec.programs["acquire_task"].instructions:
        ext = insn.metadata.get(Extern) if insn.is_call else None
        if isinstance(ext, Extern) and ext.kind == ExternKind.KFUNC:
            insn.metadata[Extern] = Extern("pybpf_no_such_kfunc", ext.kind, ext.type)
    with (
        pytest.raises(Skipped, match="lacks 'pybpf_no_such_kfunc'"),
        this_kernel.skip_if_lacking(),
    ):
        Collection(spec)


def test_a_kfunc_the_kernel_has_is_no_skip(this_kernel: KernelAnswers) -> None:
    # The library failing to find a function the kernel's BTF has is a bug.
    lost = BPFError(
        errno.ESRCH,
        "program 'p': extern kfunc 'bpf_fentry_test1'",
        reason="not found in the kernel's BTF (vmlinux or a module's)",
    )
    with pytest.raises(BPFError) as info, this_kernel.skip_if_lacking():
        raise lost
    assert info.value is lost


@pytest.mark.parametrize(
    ("log", "skipped"),
    [
        ("0: (18) r1 = 0x0\npseudo btf_id 4 in ldimm64 isn't KIND_VAR.\n", True),
        # What kernels that take kfuncs there say of anything else: no skip.
        ("pseudo btf_id 4 in ldimm64 isn't KIND_VAR or KIND_FUNC\n", False),
        ("calling kernel function bpf_obj_new_impl is not allowed\n", True),
        ("R1 invalid mem access 'scalar'\n", False),
    ],
)
def test_the_verifiers_words_decide(this_kernel: KernelAnswers, log: str, skipped: bool) -> None:
    refusal = VerifierError(errno.EINVAL, "p", log)
    expected: type[BaseException] = Skipped if skipped else VerifierError
    with pytest.raises(expected), this_kernel.skip_if_lacking():
        raise refusal


def test_struct_ops_links_decided_by_the_kernels_enum(
    testdata: Path, this_kernel: KernelAnswers
) -> None:
    spec = load_collection_spec(testdata / "struct_ops_link-el.o")
    assert any(m.flags & MapFlags.LINK for m in spec.maps.values())
    refusal = BPFError(errno.EINVAL, "create map 'pybpf_cc_link' (STRUCT_OPS)")
    # A kernel with struct_ops links refused something else: that fails.
    has_links = _probes.kernel_enum_has("bpf_attach_type", "BPF_STRUCT_OPS") is True
    expected: type[BaseException] = BPFError if has_links else Skipped
    with pytest.raises(expected), this_kernel.skip_if_lacking(spec):
        raise refusal
    # Without a struct_ops map linked, an EINVAL is just an EINVAL.
    plain = load_collection_spec(testdata / "struct_ops-el.o")
    with pytest.raises(BPFError), this_kernel.skip_if_lacking(plain):
        raise refusal


def test_other_refusals_fail(this_kernel: KernelAnswers) -> None:
    with pytest.raises(BPFError, match="rejected these attributes"), this_kernel.skip_if_lacking():
        Map(MapSpec("bad", MapType.HASH, 0, 8, 16))


def test_info_size_is_the_kernels_struct(this_kernel: KernelAnswers) -> None:
    with Map(MapSpec("plain", MapType.ARRAY, 4, 4, 1)) as m:
        size = this_kernel.info_size(m.fd)
    (own,) = load_kernel_spec().types_by_name("bpf_map_info", Struct)
    assert isinstance(own, Struct)
    assert size == own.size


def test_btf_objects_named_where_vmlinux_has_an_id(this_kernel: KernelAnswers) -> None:
    if this_kernel.names_btf_objects():
        assert this_kernel.vmlinux_btf_id() > 0
    else:
        with pytest.raises(Skipped, match="no name or kernel_btf"):
            this_kernel.vmlinux_btf_id()
