"""What pybpf-core's kernel tests ask of the running kernel, by trying, never by its version.

Machines of one kind run different kernel builds, so whether a feature is
there is found out by asking the kernel (the root conftest reports a
``NotSupportedError`` as a skip). Some refusals reach a test as another error
although the kernel's answer says it lacks the feature: a kfunc missing from
its BTF, an ``LD_IMM64`` of a kernel function it does not take, a struct_ops
map flag from before struct_ops links. The ``this_kernel`` fixture turns
exactly those into skips carrying the kernel's words; any other refusal still
fails the test. It also answers what the kernel's info structs hold, by
asking with a larger struct than any kernel's.
"""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pybpf.btf import Func, Int, IntEncoding, Struct, load_kernel_spec, marshal
from pybpf.btf.corerelo import essential_name
from pybpf.core import (
    FD,
    BPFError,
    CollectionSpec,
    MapFlags,
    MapType,
    NotSupportedError,
    VerifierError,
    _cmds,
    _kernel_btf,
    _probes,
    _sys,
)
from pybpf.core._uapi import Command

#: Larger than any kernel's info struct, and within the page the oldest
#: kernels accept for one (bpf_check_uarg_tail_zero).
_INFO_PROBE_SIZE = 512

#: A strong extern the library looked up in the kernel's BTF and did not find.
_MISSING_EXTERN = re.compile(r"extern (?:kfunc|ksym) '([^']+)': not found in the kernel's BTF")

#: The verifier's words for what it does not take, whatever the program does.
_VERIFIER_LACKS = (
    # An LD_IMM64 of a kernel function (bpf_ksym_exists): kernels that take
    # only variables there say so; later ones say "isn't KIND_VAR or KIND_FUNC".
    re.compile(r"pseudo btf_id \d+ in ldimm64 isn't KIND_VAR\.$", re.MULTILINE),
    # A kfunc the kernel has but does not let this program type call.
    re.compile(r"calling kernel function \S+ is not allowed", re.MULTILINE),
)


class KernelAnswers:
    """The running kernel's answers, for tests to decide by: tried, not read off a version."""

    def __init__(self) -> None:
        self._vmlinux_btf_id: int | None = None

    @contextmanager
    def skip_if_lacking(self, spec: CollectionSpec | None = None) -> Iterator[None]:
        """Run the block; a refusal saying this kernel lacks a feature becomes a skip.

        ``spec`` is what the block loads, for refusals that only its maps
        explain (an EINVAL for a map flag the kernel predates).
        """
        try:
            yield
        except BPFError as exc:
            lacking = self._lacking(exc, spec)
            if lacking is None:
                raise
            pytest.skip(f"this kernel lacks {lacking}: {exc}")

    def _lacking(self, exc: BPFError, spec: CollectionSpec | None) -> str | None:
        """What ``exc`` says the kernel lacks; None for any other failure."""
        if isinstance(exc, NotSupportedError):
            return exc.feature
        if isinstance(exc, VerifierError):
            for answer in _VERIFIER_LACKS:
                found = answer.search(exc.log)
                if found is not None:
                    return f"what the verifier refused ({found.group(0)!r})"
            return None
        missing = _MISSING_EXTERN.search(str(exc))
        if exc.errno == errno.ESRCH and missing is not None:
            name = essential_name(missing.group(1))
            if load_kernel_spec().types_by_name(name):
                return None  # the kernel has it: the lookup is at fault
            return f"{name!r} (not in its BTF)"
        if (
            exc.errno == errno.EINVAL
            and spec is not None
            and _links_struct_ops(spec)
            and _probes.kernel_enum_has("bpf_attach_type", "BPF_STRUCT_OPS") is False
        ):
            return "struct_ops links (its bpf_attach_type has no BPF_STRUCT_OPS)"
        return None

    def need_function(self, name: str) -> None:
        """Skip unless the kernel's BTF has the function ``name`` (a kfunc, say)."""
        if not load_kernel_spec().types_by_name(name, Func):
            pytest.skip(f"this kernel's BTF has no function {name!r}")

    def struct_has(self, struct: str, member: str) -> bool:
        """Whether the kernel's own ``struct`` has ``member``, as its BTF describes it.

        For a field that took the place of padding: the struct's size, all
        the kernel answers a caller, is the same with or without it.
        """
        found = load_kernel_spec().types_by_name(struct, Struct)
        return any(m.name == member for s in found if isinstance(s, Struct) for m in s.members)

    def info_size(self, fd: FD) -> int:
        """How many bytes the kernel's info struct for the object behind ``fd`` has.

        Asked as the kernel answers any caller: with a zeroed buffer larger
        than its struct, of which it fills (and reports) only its own size.
        """
        buf = _sys.ffi.new("uint8_t[]", _INFO_PROBE_SIZE)
        attr = _cmds.new_attr("info")
        attr.info_len = _INFO_PROBE_SIZE
        attr.info = _sys.addr(buf)
        rc = _cmds.call_with_fd(Command.OBJ_GET_INFO_BY_FD, attr, "bpf_fd", fd)
        if rc < 0:
            raise _cmds.error(-rc, f"fd {fd.number}: get info ({_INFO_PROBE_SIZE} bytes)")
        return int(attr.info_len)

    def names_btf_objects(self) -> bool:
        """Whether the kernel's BTF objects say their name and whether they are its own.

        The kernels whose ``struct bpf_btf_info`` has ``name`` and
        ``kernel_btf`` are the ones that give vmlinux's and modules' BTF an
        id to walk; asked of a BTF object loaded for the purpose.
        """
        blob = marshal(
            [Int("int", 4, encoding=IntEncoding.SIGNED)],
            byte_order="little" if sys.byteorder == "little" else "big",
        )
        with _cmds.btf_load(blob, "test BTF") as fd:
            size = self.info_size(fd)
        return size >= _cmds.field_ends("struct pybpf_btf_info")["kernel_btf"]

    def need_kernel_btf_objects(self) -> None:
        """Skip unless the kernel's own BTF (vmlinux's, modules') are objects with ids."""
        if not self.names_btf_objects():
            pytest.skip(
                "this kernel's struct bpf_btf_info has no name or kernel_btf: "
                "its own BTF is no object with an id"
            )

    def vmlinux_btf_id(self) -> int:
        """The id of vmlinux's BTF object; skipped where the kernel gives it none."""
        if self._vmlinux_btf_id is not None:
            return self._vmlinux_btf_id
        for btf_id in _kernel_btf.btf_ids():
            try:
                fd = _kernel_btf.open_btf(btf_id)
            except BPFError as exc:
                if exc.errno == errno.ENOENT:
                    continue  # gone meanwhile
                raise
            with fd:
                info = _kernel_btf.btf_info(fd)
            if info.kernel_btf and info.name == "vmlinux":
                self._vmlinux_btf_id = btf_id
                return btf_id
        self.need_kernel_btf_objects()
        pytest.fail("the kernel names its BTF objects, but none is vmlinux")


def _links_struct_ops(spec: CollectionSpec) -> bool:
    """Whether ``spec`` has a struct_ops map registered through a link (``BPF_F_LINK``)."""
    return any(m.type == MapType.STRUCT_OPS and m.flags & MapFlags.LINK for m in spec.maps.values())


@pytest.fixture(scope="session")
def this_kernel() -> KernelAnswers:
    """The running kernel's answers (see :class:`KernelAnswers`)."""
    return KernelAnswers()
