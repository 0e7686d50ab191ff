"""Test support shared by every distribution's tests.

- ``testdata``: the folder of committed BPF objects.
- A test that takes an ``obj_path`` argument runs once per testdata object.
- ``@pytest.mark.kernel`` tests need bpf(2): they are skipped, with the reason,
  where the kernel or the privileges are missing.
- ``@pytest.mark.kernel_files`` tests read the running kernel's own files
  (``/sys/kernel/btf``): they are skipped, with the reason, where the kernel
  publishes no readable BTF.
- A test (or a docs page's doctest) that raises ``NotSupportedError`` (this
  kernel lacks or refuses the feature) is reported as skipped, with the
  error's message (the kernel's answer) as the reason.
- Every test fails if it leaves a file descriptor open.
"""

from __future__ import annotations

import doctest
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# In CI every property test replays the same examples: a submission's result
# must not depend on the draw. Developers keep random exploration, which is how
# new counterexamples are found.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent
TESTDATA = ROOT / "testdata"

# Filesystems kernel tests rely on; none is mounted on a fresh machine.
_MOUNTS = [
    ("bpf", "/sys/fs/bpf"),
    ("tracefs", "/sys/kernel/tracing"),
    ("debugfs", "/sys/kernel/debug"),
]


def testdata_objects() -> list[Path]:
    """Every committed testdata object, both byte orders."""
    return sorted(TESTDATA.glob("*.o"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "obj_path" in metafunc.fixturenames:
        objs = testdata_objects()
        metafunc.parametrize("obj_path", objs, ids=[p.name for p in objs])


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA


def _bpf_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for bpf(2)"
    try:
        from pybpf.core import sys as bpf  # noqa: PLC0415 (absent where only offline layers are)
    except ImportError:
        return "pybpf-core is not installed"
    # BPF_PROG_LOAD of an empty attr: EINVAL means the syscall exists and we may
    # call it, ENOSYS/EPERM mean we may not.
    rc = bpf.call(bpf.Command.PROG_LOAD, bpf.new_attr("prog_load"))
    if rc in (-errno.ENOSYS, -errno.EPERM):
        return f"bpf(2) unavailable: {os.strerror(-rc)}"
    return None


_KERNEL_SKIP = _bpf_unavailable_reason()

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")


def _kernel_files_unavailable_reason() -> str | None:
    if not VMLINUX_BTF.exists():
        return f"no {VMLINUX_BTF} (kernel without CONFIG_DEBUG_INFO_BTF)"
    if not os.access(VMLINUX_BTF, os.R_OK):
        return f"{VMLINUX_BTF} is not readable"
    return None


_KERNEL_FILES_SKIP = _kernel_files_unavailable_reason()


def _mount_filesystems() -> None:
    mounted = Path("/proc/self/mounts").read_text()
    for fstype, target in _MOUNTS:
        if f" {target} " in mounted or not Path(target).is_dir():
            continue
        subprocess.run(["mount", "-t", fstype, fstype, target], check=False, capture_output=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for marker, reason in (("kernel", _KERNEL_SKIP), ("kernel_files", _KERNEL_FILES_SKIP)):
        if reason is None:
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(skip)
    if _KERNEL_SKIP is None and any(item.get_closest_marker("kernel") for item in items):
        _mount_filesystems()


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def _no_fd_leak() -> Iterator[None]:
    before = _open_fds()
    yield
    leaked = _open_fds() - before
    # The listing itself holds one descriptor that is gone by now; anything
    # still open that was not open before is a leak.
    leaked = {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    if leaked:
        targets = {}
        for fd in sorted(leaked, key=int):
            try:
                targets[fd] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                targets[fd] = "?"
        pytest.fail(f"test leaked file descriptors: {targets}")


def _not_supported(exc: BaseException) -> BaseException | None:
    """The NotSupportedError behind ``exc`` (a doctest's included), if any."""
    if isinstance(exc, doctest.UnexpectedException):
        exc = exc.exc_info[1]
    # By name: the offline layers' tests run where pybpf.core is not installed.
    if any(cls.__name__ == "NotSupportedError" for cls in type(exc).__mro__):
        return exc
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    excinfo = call.excinfo
    missing = _not_supported(excinfo.value) if excinfo is not None else None
    if call.when in ("setup", "call") and missing is not None:
        report.outcome = "skipped"
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, f"not supported here: {missing}")
