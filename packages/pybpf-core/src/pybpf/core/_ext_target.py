"""freplace (``BPF_PROG_TYPE_EXT``) targets: a function of a loaded program.

As libbpf's ``libbpf_find_prog_btf_id``: the program to replace must have been
loaded with BTF; its BTF is read back from the kernel and the function named
by the section (``freplace/<func>``) is looked up in it.
"""

from __future__ import annotations

import errno

from pybpf.btf import Func, Spec, TypeNotFoundError
from pybpf.core import _kernel_btf
from pybpf.core.errors import BPFError
from pybpf.core.fd import FD


def program_btf(prog_fd: FD, what: str) -> Spec:
    """The BTF a loaded program was loaded with, read back from the kernel."""
    # Imported here: this module is on every load path, freplace programs are rare.
    from pybpf.core.prog_info import ProgramInfo  # noqa: PLC0415

    btf_id = ProgramInfo.from_fd(prog_fd).btf_id
    if not btf_id:
        raise BPFError(errno.EINVAL, what, reason="the target program was loaded without BTF")
    return _kernel_btf.btf_spec_by_id(btf_id)


def func_id(prog_fd: FD, func: str, what: str) -> int:
    """The id of the FUNC ``func`` in the BTF of the program behind ``prog_fd``."""
    spec = program_btf(prog_fd, what)
    try:
        return spec.type_id(spec.type_by_name(func, Func))
    except TypeNotFoundError:
        raise BPFError(
            errno.ESRCH, what, reason=f"function {func!r} not found in the target's BTF"
        ) from None


#: :func:`func_id`, under the name :mod:`pybpf.core.sys` gives it.
program_func_id = func_id
