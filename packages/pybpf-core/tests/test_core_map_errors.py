"""Map errors: typed before any syscall, and EPERM diagnosed for what it really is."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pybpf.core import (
    BatchCursor,
    BPFError,
    FileFlags,
    Map,
    PinPathError,
    _privileges,
)
from pybpf.core._cpus import possible_cpus
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

pytestmark = pytest.mark.kernel


@pytest.fixture
def hmap() -> Iterator[Map]:
    with Map(MapSpec("errs", MapType.HASH, 4, 8, 4), key_codec=int, value_codec=int) as m:
        yield m


@pytest.fixture
def raw() -> Iterator[Map]:
    with Map(MapSpec("errs_raw", MapType.PERCPU_HASH, 4, 8, 4)) as m:
        yield m


@pytest.fixture
def pinpath() -> Iterator[Path]:
    path = Path("/sys/fs/bpf") / f"pybpf_errs_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield path
    if path.exists():
        path.unlink()


# -- 4. typed errors that name the argument ---------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key_size", -1),
        ("value_size", 1 << 40),
        ("max_entries", -1),
        ("flags", -1),
        ("type", -1),
        ("numa_node", 1 << 32),
        ("map_extra", -1),
    ],
)
def test_spec_fields_out_of_range_name_the_field(field: str, value: int) -> None:
    spec = MapSpec("bad", MapType.HASH, 4, 8, 4)
    setattr(spec, field, value)
    with pytest.raises(ValueError, match=field):
        Map(spec)


def test_spec_field_of_the_wrong_type_is_a_type_error() -> None:
    spec = MapSpec("bad", MapType.HASH, 4, 8, 4)
    spec.key_size = "4"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="key_size"):
        Map(spec)


def test_inner_map_fields_are_checked_too() -> None:
    inner = MapSpec("inner", MapType.ARRAY, 4, -4, 1)
    outer = MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 1, inner_map=inner)
    with pytest.raises(ValueError, match="value_size"):
        Map(outer)


def test_map_of_none_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="MapSpec"):
        Map(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 1 << 32, 1 << 70])
def test_ids_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="id"):
        Map.from_id(bad)


def test_open_flags_out_of_range(hmap: Map, pinpath: Path) -> None:
    with pytest.raises(ValueError, match="flags"):
        Map.from_id(1, flags=-1)  # type: ignore[arg-type]
    hmap.pin(pinpath)
    with pytest.raises(ValueError, match="flags"):
        Map.load_pinned(pinpath, flags=1 << 40)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 1 << 40])
def test_from_fd_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="fd"):
        Map.from_fd(bad)


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1 << 70])
def test_update_flags_out_of_range(hmap: Map, raw: Map, bad: int) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: hmap.update(1, 1, bad),  # the compiled path
        lambda: hmap.update(b"\0" * 4, b"\0" * 8, bad),
        lambda: raw.update(b"\0" * 4, [b"\0" * 8] * possible_cpus(), bad),
        lambda: hmap.update_batch([1], [1], bad),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="flags"):
            call()
    assert hmap.get(1) is None


@pytest.mark.parametrize("key", [-1, 1 << 32, 1 << 70])
def test_int_keys_out_of_range(hmap: Map, key: int) -> None:
    for call in (hmap.lookup, hmap.delete, hmap.__contains__, hmap.next_key):
        with pytest.raises(ValueError, match="key"):
            call(key)


@pytest.mark.parametrize("count", [0, -1, 1 << 32])
def test_batch_counts_out_of_range(hmap: Map, count: int) -> None:
    with pytest.raises(ValueError, match="count"):
        hmap.lookup_batch(BatchCursor(), count)


def test_huge_batch_count_is_capped_by_the_map_size(hmap: Map) -> None:
    hmap[1] = 2
    keys, values = hmap.lookup_batch(BatchCursor(), (1 << 32) - 1)
    assert (keys, values) == ([1], [2])


def test_from_fd_of_a_program_is_refused(testdata: Path) -> None:
    from pybpf.core import Program
    from pybpf.elf import load_collection_spec

    demo = load_collection_spec(testdata / "demo-el.o")
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}, types=demo.types) as prog,
        pytest.raises((TypeError, ValueError)),
    ):
        Map.from_fd(prog.fd.number).close()


# -- 5. what EPERM really means -------------------------------------------------------------


def test_pin_outside_bpffs_says_so(hmap: Map, tmp_path: Path) -> None:
    # Said before the kernel is asked (PinPathError, a ValueError), not as its EPERM.
    with pytest.raises(PinPathError, match="not a directory in a bpffs mount") as info:
        hmap.pin(tmp_path / "m")
    assert "CAP_" not in str(info.value)


def test_load_pinned_of_a_regular_file_says_so() -> None:
    with pytest.raises(PinPathError, match="not a directory in a bpffs mount") as info:
        Map.load_pinned("/etc/passwd")
    assert "CAP_" not in str(info.value)


def test_writing_a_frozen_map_says_frozen() -> None:
    with Map(MapSpec("frozen", MapType.ARRAY, 4, 8, 1), value_codec=int) as m:
        m.freeze()
        with pytest.raises(BPFError, match="frozen") as info:
            m[0] = 1
        assert info.value.errno == errno.EPERM
        assert "CAP_" not in str(info.value)
        # Another handle knows it from the kernel's fdinfo.
        with (
            Map.from_id(m.info().id, value_codec=int) as other,
            pytest.raises(BPFError, match="frozen"),
        ):
            other[0] = 1


def test_writing_through_a_read_only_fd_says_so(hmap: Map, pinpath: Path) -> None:
    hmap.pin(pinpath)
    with Map.load_pinned(pinpath, flags=FileFlags.RDONLY, key_codec=int) as ro:
        with pytest.raises(BPFError, match="read-only") as info:
            ro[1] = 1
        assert info.value.errno == errno.EPERM


def test_iterating_a_ring_buffer_names_the_reader() -> None:
    with (
        Map(MapSpec("rb", MapType.RINGBUF, 0, 0, 4096)) as rb,
        pytest.raises(BPFError, match="RingBuffer"),
    ):
        list(rb.keys())


def test_refusal_with_every_capability_blames_no_capability() -> None:
    caps = _privileges.effective_capabilities()
    if caps is None or not {"CAP_BPF", "CAP_SYS_ADMIN"} <= caps:
        pytest.skip("this process lacks CAP_BPF or CAP_SYS_ADMIN")
    hint = _privileges.permission_hint(("CAP_BPF",))
    assert "lacks" not in hint
    assert "not for lack of privileges" in hint


def test_on_bpffs() -> None:
    assert _privileges.on_bpffs("/sys/fs/bpf") is True
    assert _privileges.on_bpffs("/sys/fs/bpf/not-there-yet") is True
    assert _privileges.on_bpffs("/etc/passwd") is False


# -- 5/6. as a user without privileges ------------------------------------------------------

#: Run as ``nobody``: every kernel operation must fail with one BPFPermissionError
#: saying what is missing, and the offline layers must work.
_UNPRIVILEGED = r"""
import json, resource, sys
from pathlib import Path
from pybpf.asm import Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.core import BPFPermissionError, Map, Program
from pybpf.elf import load_collection_spec
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

out = {"memlock_before": resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]}
demo = load_collection_spec(Path(sys.argv[1]) / "demo-el.o")
prog = demo.programs["cap_length"].copy()
prog.instructions = Instructions([builder.mov(Register.R0, 0), builder.exit()])
out["offline"] = [len(demo.programs), len(demo.maps), len(prog.instructions.encode())]
out["errors"] = {}
attempts = {
    "create": lambda: Map(MapSpec("denied", MapType.ARRAY, 4, 4, 1)),
    "from_id": lambda: Map.from_id(1),
    "load_pinned": lambda: Map.load_pinned(sys.argv[2]),
    "program": lambda: Program(prog),
}
for name, attempt in attempts.items():
    try:
        attempt().close()
        out["errors"][name] = "worked"
    except BPFPermissionError as exc:
        out["errors"][name] = ["perm", exc.errno, str(exc)]
    except BaseException as exc:
        out["errors"][name] = ["other", repr(exc)]
out["memlock_after"] = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
print(json.dumps(out))
"""


def _run_as(user_args: list[str], code: str, *args: object) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYBPF_ROOT": str(root)}
    out = subprocess.run(
        [*user_args, sys.executable, "-c", code, *map(str, args)],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _setpriv() -> str:
    path = shutil.which("setpriv")
    if path is None:
        pytest.skip("setpriv (util-linux) is not installed")
    return path


def test_unprivileged_user_gets_one_clear_error(testdata: Path, hmap: Map, pinpath: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to become nobody")
    hmap.pin(pinpath)
    user = [_setpriv(), "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    result = _run_as(user, _UNPRIVILEGED, testdata, pinpath)
    assert result["offline"][0] > 0
    disabled = Path("/proc/sys/kernel/unprivileged_bpf_disabled").read_text().strip()
    for name, got in result["errors"].items():
        if got == "worked":
            assert disabled == "0", name  # unprivileged bpf(2) allows a few things
            continue
        assert got[0] == "perm", (name, got)
        text = got[2]
        assert "lacks" in text, (name, text)
        if disabled != "0":
            assert "unprivileged_bpf_disabled" in text, (name, text)
        assert "5.11" not in text and "RLIMIT_MEMLOCK" not in text, (name, text)
    # Detecting whether the kernel charges RLIMIT_MEMLOCK raised nothing.
    assert result["memlock_after"] == result["memlock_before"]


_BY_ID = r"""
import json, sys
from pybpf.core import BPFPermissionError, Map
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

with Map(MapSpec("byid", MapType.ARRAY, 4, 4, 1)) as m:
    try:
        Map.from_id(m.info().id).close()
        print(json.dumps({"error": None}))
    except BPFPermissionError as exc:
        print(json.dumps({"error": str(exc)}))
"""


def test_from_id_with_only_cap_bpf_names_cap_sys_admin() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop a capability")
    # Root without CAP_SYS_ADMIN in its bounding set keeps CAP_BPF.
    user = [_setpriv(), "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]
    result = _run_as(user, _BY_ID)
    error = result["error"]
    assert error is not None, "opening by id worked without CAP_SYS_ADMIN"
    assert "CAP_SYS_ADMIN" in error
    assert "lacks CAP_BPF" not in error
