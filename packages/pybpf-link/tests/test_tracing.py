"""fentry, fexit, fmod_ret, LSM and freplace links on the real kernel.

Where this kernel refuses trampolines (a probe says so), the tests skip with
its answer; the VM rows run them.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from leftovers import link_ids_now, our_links_since

from pybpf.core import BPFError, Collection, NotSupportedError, Program, features
from pybpf.core.sys import AttachType, ProgramType
from pybpf.elf import CollectionSpec, load_collection_spec
from pybpf.link import Link, LinkType, TracingLink, freplace, tracing

pytestmark = pytest.mark.kernel

PACKET = bytes(64)


def _fentry_spec(testdata: Path, *programs: str) -> CollectionSpec:
    spec = load_collection_spec(testdata / "link_tracing_fentry-el.o")
    spec.variables["target_tgid"].set(os.getpid())
    for name, prog in spec.programs.items():
        prog.autoload = name in programs
    return spec


def _count(coll: Collection, name: str) -> int:
    return int(coll.variables[name].get())


@pytest.fixture
def fentry(testdata: Path) -> Iterator[Collection]:
    features.have_attach_type(ProgramType.TRACING, AttachType.TRACE_FENTRY)
    features.have_attach_type(ProgramType.TRACING, AttachType.TRACE_FEXIT)
    with Collection(_fentry_spec(testdata, "on_fentry", "on_fexit")) as c:
        yield c


def test_fentry_and_fexit_run_until_close(fentry: Collection) -> None:
    on_fentry, on_fexit = fentry.programs["on_fentry"], fentry.programs["on_fexit"]
    with tracing(on_fentry) as entry, tracing(on_fexit) as exit_:
        assert isinstance(entry, TracingLink) and entry.type == LinkType.TRACING
        assert entry.name == "fentry/bpf_fentry_test1"
        assert exit_.name == "fexit/bpf_fentry_test1"
        # A test run of a tracing program calls bpf_fentry_test1(1), which returns 2.
        on_fentry.run()
        assert _count(fentry, "fentry_calls") == 1
        assert _count(fentry, "fentry_arg") == 1
        assert _count(fentry, "fexit_calls") == 1
        assert _count(fentry, "fexit_ret") == 2
        with Link.from_id(entry.info().id) as again:
            assert type(again) is TracingLink
    on_fentry.run()
    assert _count(fentry, "fentry_calls") == 1
    assert _count(fentry, "fexit_calls") == 1


def test_fentry_of_an_opened_program(fentry: Collection) -> None:
    with Program.from_fd(fentry.programs["on_fentry"].fd.number) as opened:
        with tracing(opened) as link:
            assert isinstance(link, TracingLink)
            opened.run()
        opened.run()
    assert _count(fentry, "fentry_calls") == 1


def test_fentry_cookie(testdata: Path) -> None:
    features.have_attach_type(ProgramType.TRACING, AttachType.TRACE_FENTRY)
    try:
        coll = Collection(_fentry_spec(testdata, "fentry_cookie"))
    except BPFError as e:
        raise NotSupportedError(
            "bpf_get_attach_cookie in fentry programs", min_version="5.19"
        ) from e
    with coll:
        prog = coll.programs["fentry_cookie"]
        with tracing(prog, cookie=0xF00D):
            prog.run()
        assert _count(coll, "fentry_cookie_seen") == 0xF00D


def test_fmod_ret(testdata: Path) -> None:
    spec = _fentry_spec(testdata, "on_fmod_ret")
    # The target's answer too: 5.10 may not let fmod_ret change bpf_modify_return_test.
    features.check_spec(spec)
    with Collection(spec) as coll:
        prog = coll.programs["on_fmod_ret"]
        with tracing(prog) as link:
            assert link.name == "fmod_ret/bpf_modify_return_test"
            prog.run()  # calls bpf_modify_return_test
            assert _count(coll, "fmod_ret_calls") == 1
        prog.run()
        assert _count(coll, "fmod_ret_calls") == 1


def _active_lsms() -> str:
    try:
        return Path("/sys/kernel/security/lsm").read_text().strip()
    except OSError:
        return "unknown (no securityfs)"


def test_lsm_runs_until_close(testdata: Path, tmp_path: Path) -> None:
    features.have_attach_type(ProgramType.LSM, AttachType.LSM_MAC)
    target = tmp_path / "opened"
    target.write_bytes(b"x")
    with Collection(_fentry_spec(testdata, "on_file_open")) as coll:
        with tracing(coll.programs["on_file_open"]) as link:
            assert link.name == "lsm/file_open"
            target.read_bytes()
            seen = _count(coll, "lsm_calls")
            if seen == 0:
                lsms = _active_lsms()
                if "bpf" not in lsms.split(","):
                    raise NotSupportedError(
                        "LSM programs", reason=f"the BPF LSM is not active (lsm={lsms})"
                    )
            assert seen >= 1
        target.read_bytes()
        assert _count(coll, "lsm_calls") == seen


@pytest.fixture
def ext(testdata: Path) -> Iterator[tuple[Collection, Program]]:
    spec = load_collection_spec(testdata / "link_tracing_ext-el.o")
    with Collection(spec, programs=["ask"]) as coll:
        try:
            new_answer = Program(
                spec.programs["new_answer"],
                types=spec.types,
                maps=coll.maps,
                attach_target=coll.programs["ask"],
            )
        except BPFError as e:
            if e.errno not in (errno.EPERM, errno.EACCES, errno.EINVAL, errno.ENOTSUP):
                raise
            # No probe loads an EXT program without a target of its own: this
            # load is the probe, and its refusal the kernel's answer.
            raise NotSupportedError("freplace programs", code=e.errno, reason=str(e)) from e
        with new_answer:
            yield coll, new_answer


def test_freplace_runs_until_close(ext: tuple[Collection, Program]) -> None:
    coll, new_answer = ext
    ask = coll.programs["ask"]
    assert ask.run(PACKET).retval == 2
    with freplace(new_answer, ask, "answer") as link:
        assert isinstance(link, TracingLink)
        assert link.name == "freplace ask/answer"
        assert ask.run(PACKET).retval == 42
    assert ask.run(PACKET).retval == 2


def test_freplace_of_a_missing_function_attaches_nothing(ext: tuple[Collection, Program]) -> None:
    coll, new_answer = ext
    before = link_ids_now()
    with pytest.raises(BPFError, match="pybpf_no_such_function") as e:
        freplace(new_answer, coll.programs["ask"], "pybpf_no_such_function")
    assert e.value.errno == errno.ESRCH
    assert not our_links_since(before)


def test_bad_arguments_attach_nothing(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "link_tracing_ext-el.o")
    before = link_ids_now()
    with Collection(spec, programs=["ask"]) as coll:
        ask = coll.programs["ask"]
        with pytest.raises(TypeError, match="prog must be a Program"):
            tracing(None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not a tracing or LSM one"):
            tracing(ask)
        with pytest.raises(ValueError, match="not a freplace one"):
            freplace(ask, ask, "answer")
        with pytest.raises(TypeError, match="target_program must be a Program"):
            freplace(ask, "ask", "answer")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="function_name must be a str"):
            freplace(ask, ask, 1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not a function name"):
            freplace(ask, ask, "")
    assert not our_links_since(before)


def test_lsm_cgroup_points_to_the_cgroup_module(testdata: Path) -> None:
    features.have_attach_type(ProgramType.LSM, AttachType.LSM_CGROUP)
    spec = _fentry_spec(testdata, "on_file_open")
    prog = spec.programs["on_file_open"]
    prog.attach_type = AttachType.LSM_CGROUP
    prog.attach_to = "socket_bind"
    before = link_ids_now()
    with Collection(spec) as coll, pytest.raises(ValueError, match=r"pybpf\.link\.cgroup"):
        tracing(coll.programs["on_file_open"])
    assert not our_links_since(before)
