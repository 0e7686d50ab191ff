"""The loads libbpf refuses for a bad ``exception_callback:`` decl tag.

libbpf's ``bpf_prog_assign_exc_cb`` (kernels with decl tags): EINVAL for a tag
on anything but a global FUNC (every program), an empty name, a static or
hidden callback; ENOENT for a callback no subprogram is. Each case is made
from ``exception_cb``'s spec, edited as specs may be. Kernels without decl
tags get no callback appended.
"""

from __future__ import annotations

import errno
from dataclasses import replace
from pathlib import Path

import pytest

from pybpf.asm import Instructions
from pybpf.btf import EXCEPTION_CALLBACK_TAG, DeclTag, Func, TypeNotFoundError
from pybpf.btf.kernel import load_kernel_spec
from pybpf.btf.marshal import records
from pybpf.core import BPFError, Collection, NotSupportedError, Program, _btf_probes, _exception_cb
from pybpf.core._objbtf import ObjectBTF
from pybpf.elf import CollectionSpec, load_collection_spec


def _spec(testdata: Path, order: str = "el") -> CollectionSpec:
    return load_collection_spec(testdata / f"exception_cb-{order}.o").copy()


def _tag(spec: CollectionSpec) -> DeclTag:
    assert spec.types is not None
    return next(
        t
        for t in spec.types.own_types()
        if isinstance(t, DeclTag) and t.value.startswith(EXCEPTION_CALLBACK_TAG)
    )


def _check(spec: CollectionSpec, program: str) -> None:
    assert spec.types is not None
    tags = _exception_cb.callback_tags(records(spec.types), spec.types.start_id)
    assert tags is not None
    tags.check(program, spec.programs[program].instructions)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_a_present_global_callback_passes(testdata: Path, order: str) -> None:
    spec = _spec(testdata, order)
    _check(spec, "throws")
    _check(spec, "no_callback")


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("exception_callback:nope", errno.ENOENT, "cannot find exception callback 'nope'"),
        ("exception_callback:maybe_throw", errno.EINVAL, "must be a global, not hidden"),
        ("exception_callback:", errno.EINVAL, "names no callback"),
        # A main program is no subprogram.
        ("exception_callback:no_callback", errno.ENOENT, "cannot find"),
    ],
)
def test_bad_callback_refuses_its_program(
    testdata: Path, value: str, code: int, words: str
) -> None:
    spec = _spec(testdata)
    _tag(spec).value = value
    with pytest.raises(BPFError) as info:
        _check(spec, "throws")
    assert info.value.errno == code
    assert words in str(info.value)
    assert "'throws'" in str(info.value)
    _check(spec, "no_callback")  # only the tagged program is refused


def test_tag_off_a_global_function_refuses_every_program(testdata: Path) -> None:
    spec = _spec(testdata)
    assert spec.types is not None
    static = spec.types.type_by_name("maybe_throw", Func)
    assert isinstance(static, Func)
    spec.types.add(DeclTag("exception_callback:on_throw", static))
    for program in ("throws", "no_callback"):
        with pytest.raises(BPFError, match="is not on a global function") as info:
            _check(spec, program)
        assert info.value.errno == errno.EINVAL


def test_several_callbacks_are_left_to_the_verifier(testdata: Path) -> None:
    spec = _spec(testdata)
    assert spec.types is not None
    throws = spec.types.type_by_name("throws", Func)
    assert isinstance(throws, Func)
    spec.types.add(DeclTag("exception_callback:nope", throws))
    _check(spec, "throws")


def test_objects_without_tags_have_nothing_to_check(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "globals-el.o")
    assert spec.types is not None
    assert _exception_cb.callback_tags(records(spec.types), spec.types.start_id) is None


@pytest.mark.kernel
def test_load_is_refused_before_the_kernel_is_asked(testdata: Path) -> None:
    try:
        load_kernel_spec().type_by_name("bpf_throw", Func)
    except TypeNotFoundError:
        raise NotSupportedError("bpf_throw (exceptions, Linux 6.7)") from None
    spec = _spec(testdata)
    _tag(spec).value = "exception_callback:nope"
    with pytest.raises(BPFError) as info:
        Collection(spec, programs=["throws"])
    assert info.value.errno == errno.ENOENT
    with Collection(spec, programs=["no_callback"]) as coll:
        assert list(coll.programs) == ["no_callback"]


def _symbols(insns: Instructions) -> list[str]:
    return [insn.symbol for insn in insns if insn.symbol]


@pytest.mark.parametrize("order", ["el", "eb"])
def test_kernels_without_decl_tags_get_no_callback(testdata: Path, order: str) -> None:
    spec = _spec(testdata, order)
    assert spec.types is not None
    tags = _exception_cb.callback_tags(records(spec.types), spec.types.start_id)
    assert tags is not None
    throws = spec.programs["throws"].instructions
    assert _symbols(tags.without_callback("throws", throws)) == ["throws", "maybe_throw"]
    untagged = spec.programs["no_callback"].instructions
    assert tags.without_callback("no_callback", untagged) is untagged


def test_a_callback_the_program_calls_stays(testdata: Path) -> None:
    # Tag a subprogram the program reaches: the reader appended nothing.
    spec = _spec(testdata)
    _tag(spec).value = "exception_callback:maybe_throw"
    assert spec.types is not None
    tags = _exception_cb.callback_tags(records(spec.types), spec.types.start_id)
    assert tags is not None
    throws = spec.programs["throws"].instructions
    assert tags.without_callback("throws", throws) is throws


@pytest.mark.kernel
def test_kernel_without_decl_tags_loads_without_the_callback(testdata: Path) -> None:
    """libbpf appends no callback where decl tags cannot reach the kernel."""
    try:
        load_kernel_spec().type_by_name("bpf_throw", Func)
    except TypeNotFoundError:
        raise NotSupportedError("bpf_throw (exceptions, Linux 6.7)") from None
    spec = _spec(testdata)
    assert spec.types is not None
    prog = spec.programs["throws"]
    no_tags = replace(_btf_probes.sanitize_options(spec.types), decl_tag=False)
    btf = ObjectBTF(spec.types, [prog.instructions], no_tags)
    try:
        with Program(prog, types=spec.types, _btf=btf) as loaded:
            # No callback ran: the default one returns no 7.
            assert loaded.run(b"\0" * 64).retval != 7
    finally:
        btf.close()
