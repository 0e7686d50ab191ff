"""A map of maps' inner template is created with its key and value BTF, as libbpf creates it.

The verifier takes an inner map's special fields (``bpf_spin_lock``,
``bpf_list_head``...) from the template: without BTF it refuses a program
that locks an inner map's value ("map '' has to have BTF in order to use
bpf_spin_lock"), as it refused the kernel selftests' ``linked_list.o``.
The outer map gets no key/value BTF, as libbpf gives it none.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from pybpf.core import BPFError, Collection, NotSupportedError, VerifierError

pytestmark = pytest.mark.kernel

#: The kernel's ENOTSUPP: older kernels allow no spin lock in an inner map.
_ENOTSUPP = 524

#: What the verifier says of a lock in an inner map's value when the kernel
#: keeps no BTF for the inner template (the meta map it makes has none): the
#: template's BTF cannot reach it, whoever creates the template.
_NO_META_BTF = "map '' has to have BTF in order to use bpf_spin_lock"


def test_inner_map_value_lock(testdata: Path) -> None:
    try:
        coll = Collection(testdata / "inner_map_lock-el.o")
    except BPFError as exc:
        if exc.errno in (_ENOTSUPP, errno.EOPNOTSUPP) or (
            isinstance(exc, VerifierError) and _NO_META_BTF in str(exc)
        ):
            raise NotSupportedError(f"bpf_spin_lock in an inner map's value ({exc})") from exc
        raise
    with coll:
        prog = coll.programs["count_locked"]
        assert prog.run(bytes(64)).retval == 1
        assert prog.run(bytes(64)).retval == 2
