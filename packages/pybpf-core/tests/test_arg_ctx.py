"""``__arg_ctx`` on kernels without it: each program's retyped subprogram copies.

On kernels before 6.8 the loader gives every program its own FUNC and
FUNC_PROTO copy of a global subprogram whose argument carries ``arg:ctx``,
that argument a pointer to the context struct the program type's verifier
expects (current libbpf's ``bpf_program_fixup_func_info``). Kernels that
read the tag get the object's BTF unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Kind, Linkage, SanitizeOptions, collect_ext_infos
from pybpf.btf.marshal import records
from pybpf.btf.marshal_record import Record
from pybpf.core import BPFError, Collection, Program, _arg_ctx, _btf_probes
from pybpf.core._objbtf import ObjectBTF
from pybpf.elf import CollectionSpec, ProgramType, load_collection_spec


def _funcs(spec: CollectionSpec, program: str) -> list[int]:
    assert spec.types is not None
    infos = collect_ext_infos(spec.programs[program].instructions)
    return [spec.types.type_id(r.func) for r in infos.func_infos]


def _rewrite(
    spec: CollectionSpec, *programs: str
) -> tuple[list[Record], dict[str, dict[int, int]]]:
    assert spec.types is not None
    recs = records(spec.types)
    before = len(recs)
    named = [(p, int(spec.programs[p].type), _funcs(spec, p)) for p in programs]
    replaced = _arg_ctx.rewrite(recs, spec.types.start_id, named)
    return recs[before:], replaced


def _id(spec: CollectionSpec, name: str) -> int:
    assert spec.types is not None
    return spec.types.type_id(spec.types.type_by_name(name))


@pytest.mark.parametrize("order", ["el", "eb"])
def test_void_argument_becomes_the_context(testdata: Path, order: str) -> None:
    spec = load_collection_spec(testdata / f"arg_ctx-{order}.o")
    assert spec.types is not None
    added, replaced = _rewrite(spec, "tc_void")
    first = spec.types.start_id + len(records(spec.types))
    func = _id(spec, "skb_len")
    proto = records(spec.types)[func - 1].size_or_type
    (param_name, _) = records(spec.types)[proto - 1].extra
    # libbpf's order: FUNC, FUNC_PROTO, STRUCT, PTR, DECL_TAG.
    assert added == [
        Record(Kind.FUNC, "skb_len", first + 1, int(Linkage.GLOBAL)),
        Record(
            Kind.FUNC_PROTO,
            "",
            records(spec.types)[proto - 1].size_or_type,
            1,
            extra=[param_name, first + 3],
        ),
        Record(Kind.STRUCT, "__sk_buff"),
        Record(Kind.PTR, "", first + 2),
        Record(Kind.DECL_TAG, "arg:ctx", first, extra=[0]),
    ]
    assert replaced == {"tc_void": {func: first}}


def test_each_program_gets_its_own_copy(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    added, replaced = _rewrite(spec, "tc_shared", "xdp_shared")
    shared = _id(spec, "ctx_seen")
    assert set(replaced) == {"tc_shared", "xdp_shared"}
    assert replaced["tc_shared"][shared] != replaced["xdp_shared"][shared]
    assert [r.name for r in added if r.kind == Kind.STRUCT] == ["__sk_buff", "xdp_md"]
    # Only the tagged argument changes: the second keeps its int.
    assert spec.types is not None
    proto = records(spec.types)[records(spec.types)[shared - 1].size_or_type - 1]
    for copy in (r for r in added if r.kind == Kind.FUNC_PROTO):
        assert copy.extra[2:] == proto.extra[2:]
        assert copy.extra[1] != proto.extra[1]


@pytest.mark.parametrize(
    ("program", "struct"),
    [
        ("kprobe_void", "bpf_user_pt_regs_t"),
        ("raw_tp_args", "bpf_raw_tracepoint_args"),
        ("xdp_void", "xdp_md"),
    ],
)
def test_context_struct_per_program_type(testdata: Path, program: str, struct: str) -> None:
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    added, _ = _rewrite(spec, program)
    assert [r.name for r in added if r.kind == Kind.STRUCT] == [struct]


def test_context_typed_argument_is_left_alone(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    assert _rewrite(spec, "tc_typed") == ([], {})


def test_types_without_a_named_context_are_left_alone(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    assert spec.types is not None
    recs = records(spec.types)
    named = [("tc_void", int(ProgramType.TRACEPOINT), _funcs(spec, "tc_void"))]
    assert _arg_ctx.rewrite(recs, spec.types.start_id, named) == {}
    assert recs == records(spec.types)


def test_raw_tp_arguments_array_only_for_raw_tracepoints(testdata: Path) -> None:
    # A u64 * is an xdp program's context no more than any other pointer.
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    assert spec.types is not None
    recs = records(spec.types)
    named = [("raw_tp_args", int(ProgramType.XDP), _funcs(spec, "raw_tp_args"))]
    assert _arg_ctx.rewrite(recs, spec.types.start_id, named) == {}


_RUNS = {"tc_void": 64, "tc_typed": 65, "tc_shared": 42, "xdp_void": 2, "xdp_shared": 2}


@pytest.mark.kernel
def test_kernel_loads_and_runs_every_program(testdata: Path) -> None:
    # Natively where the kernel reads arg:ctx (6.8+), rewritten before.
    with Collection(testdata / "arg_ctx-el.o") as coll:
        for name, retval in _RUNS.items():
            assert coll.programs[name].run(b"\0" * 64).retval == retval, name
        assert set(coll.programs) == {*_RUNS, "kprobe_void", "raw_tp_args"}


@pytest.mark.kernel
def test_kernel_takes_the_rewrite_too(testdata: Path) -> None:
    """The rewritten BTF and func info, forced where the kernel would not need them."""
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    assert spec.types is not None
    names = list(spec.programs)
    btf = ObjectBTF(
        spec.types,
        [spec.programs[n].instructions for n in names],
        _btf_probes.sanitize_options(spec.types),
        kinds=[(n, spec.programs[n].type) for n in names],
        native_arg_ctx=False,
    )
    # A kernel that reads the tag checks the tagged type itself, and wants a
    # kprobe's as `struct pt_regs *`: libbpf's copy is for older kernels only.
    loaded = names if not _btf_probes.native_arg_ctx() else set(names) - {"kprobe_void"}
    try:
        assert btf.error is None
        assert set(btf.arg_ctx_funcs) == set(names) - {"tc_typed"}
        for name in loaded:
            with Program(spec.programs[name], types=spec.types, _btf=btf) as prog:
                if name in _RUNS:
                    assert prog.run(b"\0" * 64).retval == _RUNS[name], name
    finally:
        btf.close()


@pytest.mark.kernel
def test_native_kernel_gets_the_object_unchanged(testdata: Path) -> None:
    if not _btf_probes.native_arg_ctx():
        pytest.skip("this kernel does not read arg:ctx: the rewrite applies")
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    assert spec.types is not None
    insns = spec.programs["tc_void"].instructions
    opts = _btf_probes.sanitize_options(spec.types)
    native = ObjectBTF(spec.types, [insns], opts, kinds=[("tc_void", ProgramType.SCHED_CLS)])
    plain = ObjectBTF(spec.types, [insns], opts)
    try:
        assert native.arg_ctx_funcs == {}
        assert native.ext_infos(insns, "tc_void") == plain.ext_infos(insns)
    finally:
        native.close()
        plain.close()


def test_untagged_objects_are_never_probed(testdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> bool:
        raise AssertionError("probed")

    monkeypatch.setattr(_btf_probes, "native_arg_ctx", refuse)
    spec = load_collection_spec(testdata / "globals-el.o")
    assert spec.types is not None
    prog = next(iter(spec.programs.values()))
    btf = ObjectBTF(
        spec.types, [prog.instructions], SanitizeOptions(), kinds=[(prog.name, prog.type)]
    )
    btf.close()


@pytest.mark.kernel
def test_probe_agrees_with_a_direct_attempt(testdata: Path) -> None:
    """The probe's answer is whether the object's tagged `void *` loads as it is."""
    spec = load_collection_spec(testdata / "arg_ctx-el.o")
    assert spec.types is not None
    prog = spec.programs["tc_void"]
    btf = ObjectBTF(
        spec.types,
        [prog.instructions],
        _btf_probes.sanitize_options(spec.types),
        kinds=[(prog.name, prog.type)],
        native_arg_ctx=True,
    )
    try:
        with Program(prog, types=spec.types, _btf=btf):
            loaded = True
    except BPFError:
        loaded = False
    finally:
        btf.close()
    assert _btf_probes.native_arg_ctx() is loaded
