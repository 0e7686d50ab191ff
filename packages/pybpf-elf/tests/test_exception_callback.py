"""Exception callbacks: the subprogram an ``exception_callback:`` decl tag names.

A program never calls its exception callback; libbpf's ``bpf_object__relocate``
(``bpf_prog_assign_exc_cb``) appends it, and what it calls, after the
subprograms the program reaches, and the verifier finds it through the tag and
the program's func info. Without it the kernel refuses the program
("exception callback type id not found in func_info").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.btf import Func, TypeNotFoundError
from pybpf.btf.kernel import load_kernel_spec
from pybpf.core import Collection, NotSupportedError
from pybpf.elf import load_collection_spec


def _functions(path: Path, program: str) -> list[str]:
    spec = load_collection_spec(path)
    return [insn.symbol for insn in spec.programs[program].instructions if insn.symbol]


@pytest.mark.parametrize("order", ["el", "eb"])
def test_callback_is_appended_after_the_callees(testdata: Path, order: str) -> None:
    path = testdata / f"exception_cb-{order}.o"
    assert _functions(path, "throws") == ["throws", "maybe_throw", "on_throw", "record"]


@pytest.mark.parametrize("order", ["el", "eb"])
def test_untagged_program_gets_no_callback(testdata: Path, order: str) -> None:
    assert _functions(testdata / f"exception_cb-{order}.o", "no_callback") == [
        "no_callback",
        "maybe_throw",
    ]


@pytest.mark.kernel
def test_kernel_runs_the_callback(testdata: Path) -> None:
    try:
        load_kernel_spec().type_by_name("bpf_throw", Func)
    except TypeNotFoundError:
        raise NotSupportedError("bpf_throw (exceptions, Linux 6.7)") from None
    with Collection(testdata / "exception_cb-el.o", programs=["throws"]) as coll:
        result = coll.programs["throws"].run(b"\0" * 64)
        # bpf_throw(3) unwinds to on_throw(3), which records the cookie.
        assert result.retval == 7
        assert coll.variables["seen_cookie"].get() == 3
