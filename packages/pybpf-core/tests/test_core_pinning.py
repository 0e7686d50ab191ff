"""Pins that stay where asked, loads that undo their pins, objects of the wrong kind."""

from __future__ import annotations

import importlib
import os
import pkgutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf.core
from pybpf.asm import Instructions, builder
from pybpf.asm.opcodes import Register
from pybpf.core import (
    BPFError,
    Collection,
    CollectionOptions,
    CollectionSpec,
    Map,
    MapSpec,
    MapType,
    ObjectKindError,
    Pinning,
    PinPathError,
    Program,
    ProgramSpec,
    ProgramType,
    VerifierError,
    load_collection_spec,
)

pytestmark = pytest.mark.kernel

BPFFS = Path("/sys/fs/bpf")


@pytest.fixture
def pin_dir() -> Iterator[Path]:
    path = BPFFS / f"pybpf_pins_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.fixture
def demo(testdata: Path) -> CollectionSpec:
    return load_collection_spec(testdata / "demo-el.o")


def _pinned_map_spec(name: str) -> CollectionSpec:
    m = MapSpec(name, MapType.ARRAY, 4, 4, 1, pinning=Pinning.BY_NAME)
    return CollectionSpec(maps={name: m}, programs={}, variables={})


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", ".", "nul\0name"])
def test_pin_by_name_stays_in_pin_path(pin_dir: Path, name: str) -> None:
    # The name comes from the object file: it must not lead out of pin_path.
    escaped = pin_dir.parent.parent / "escaped"
    with pytest.raises(PinPathError) as info:
        Collection(_pinned_map_spec(name), CollectionOptions(pin_path=pin_dir))
    assert isinstance(info.value, ValueError)
    assert info.value.name == name
    assert repr(name) in str(info.value)
    assert str(pin_dir) in str(info.value)
    assert not escaped.exists()
    assert list(pin_dir.iterdir()) == []


def test_pin_path_outside_bpffs(tmp_path: Path) -> None:
    with pytest.raises(PinPathError, match="not a directory in a bpffs mount"):
        Collection(_pinned_map_spec("m"), CollectionOptions(pin_path=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_pin_with_nul_byte(pin_dir: Path) -> None:
    with Map(MapSpec("m", MapType.ARRAY, 4, 4, 1)) as m:
        with pytest.raises(PinPathError, match="NUL"):
            m.pin(f"{pin_dir}/a\0b")
        assert list(pin_dir.iterdir()) == []
        assert m.pinned is None
        with pytest.raises(PinPathError, match="NUL"):
            Map.load_pinned(f"{pin_dir}/a\0b")
        with pytest.raises(PinPathError, match="NUL"):
            Program.load_pinned(f"{pin_dir}/a\0b")


def test_pin_outside_bpffs(tmp_path: Path, pin_dir: Path) -> None:
    with Map(MapSpec("m", MapType.ARRAY, 4, 4, 1)) as m:
        with pytest.raises(PinPathError, match="bpffs") as info:
            m.pin(tmp_path / "m")
        assert info.value.path == str(tmp_path / "m")
        with pytest.raises(PinPathError, match="bpffs"):
            m.pin(pin_dir / "missing_dir" / "m")
        with pytest.raises(TypeError, match="pin path"):
            m.pin(b"/sys/fs/bpf/m")  # type: ignore[arg-type]


def _pins_then_fails(name: str) -> CollectionSpec:
    """A pinned map, then a program the verifier rejects (a read above the stack)."""
    spec = _pinned_map_spec(name)
    insns = Instructions([builder.load(Register.R0, Register.R10, 8, 8), builder.exit()])
    spec.programs["bad"] = ProgramSpec(
        name="bad",
        section="socket",
        type=ProgramType.SOCKET_FILTER,
        instructions=insns,
        license="GPL",
    )
    return spec


def test_failed_load_removes_its_pins(pin_dir: Path) -> None:
    with pytest.raises(VerifierError):
        Collection(_pins_then_fails("pinned"), CollectionOptions(pin_path=pin_dir))
    assert list(pin_dir.iterdir()) == []


def test_failed_load_keeps_reused_pins(pin_dir: Path) -> None:
    spec = _pins_then_fails("pinned")
    with Map(spec.maps["pinned"]) as existing:
        existing.pin(pin_dir / "pinned")
        with pytest.raises(VerifierError):
            Collection(spec, CollectionOptions(pin_path=pin_dir))
        assert (pin_dir / "pinned").exists()


def test_pin_by_name_without_pin_path_uses_bpffs_root() -> None:
    # As libbpf: LIBBPF_PIN_BY_NAME maps pin under /sys/fs/bpf by default.
    name = f"pybpf_def_{uuid.uuid4().hex[:6]}"
    path = BPFFS / name
    try:
        with Collection(_pinned_map_spec(name)) as coll:
            assert coll.maps[name].pinned == str(path)
            assert path.exists()
            first = coll.maps[name].info().id
        with Collection(_pinned_map_spec(name)) as again:
            assert again.maps[name].info().id == first
    finally:
        if path.exists():
            path.unlink()


def test_program_load_pinned_of_a_map(pin_dir: Path) -> None:
    with Map(MapSpec("m", MapType.ARRAY, 4, 4, 1)) as m:
        m.pin(pin_dir / "m")
        with pytest.raises(ObjectKindError, match="is a map, not a program") as info:
            Program.load_pinned(pin_dir / "m")
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, BPFError)
        assert info.value.actual == "map"
        assert str(pin_dir / "m") in str(info.value)
        with pytest.raises(ObjectKindError, match="is a map, not a program"):
            Program.from_fd(m.fd.number)
        with pytest.raises(ObjectKindError, match="is a map, not a program"):
            Program.from_fd(m.fd.dup())


def test_map_from_a_program(demo: CollectionSpec, pin_dir: Path) -> None:
    with (
        Map(demo.maps["limits"]) as limits,
        Program(demo.programs["cap_length"], maps={"limits": limits}) as prog,
    ):
        prog.pin(pin_dir / "p")
        with pytest.raises(ObjectKindError, match="is a program, not a map"):
            Map.load_pinned(pin_dir / "p")
        with pytest.raises(ObjectKindError, match="is a program, not a map"):
            Map.from_fd(prog.fd.number)


def test_from_fd_of_a_file(tmp_path: Path) -> None:
    with open(tmp_path / "f", "w") as f, pytest.raises(ObjectKindError, match="no BPF object"):
        Program.from_fd(f.fileno())


@pytest.mark.parametrize("bad", [None, 3, object()])
def test_untyped_arguments(bad: object) -> None:
    with pytest.raises(TypeError, match="ProgramSpec"):
        Program(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="CollectionSpec"):
        Collection(bad)  # type: ignore[arg-type]


def test_collection_options_checked(demo: CollectionSpec) -> None:
    with pytest.raises(TypeError, match="CollectionOptions"):
        Collection(demo, {"pin_path": "/sys/fs/bpf"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log_level"):
        Collection(demo, CollectionOptions(log_level=-1))
    with pytest.raises(ValueError, match="log_size"):
        Collection(demo, CollectionOptions(log_size=1 << 40))


@pytest.mark.parametrize("value", [-1, 1 << 32])
def test_program_ids_and_flags_checked(value: int) -> None:
    with pytest.raises(ValueError, match="prog_id"):
        Program.from_id(value)
    with pytest.raises(ValueError, match="flags"):
        Program.load_pinned("/sys/fs/bpf/x", flags=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["flags", "kernel_version"])
def test_program_spec_numbers_checked(demo: CollectionSpec, field: str) -> None:
    spec = demo.programs["bad_stack"].copy()
    setattr(spec, field, -1)
    with pytest.raises(ValueError, match=f"'bad_stack'.*{field}"):
        Program(spec)


def test_collection_verifier_log(demo: CollectionSpec) -> None:
    with Collection(demo, CollectionOptions(log_level=1), programs=["cap_length"]) as coll:
        log = coll.programs["cap_length"].verifier_log
        assert log is not None
        assert "processed" in log


def test_collection_numbers_checked_before_any_map(demo: CollectionSpec, pin_dir: Path) -> None:
    spec = _pins_then_fails("pinned")
    spec.programs["bad"].flags = 1 << 32
    with pytest.raises(ValueError, match=r"'bad'.*flags"):
        Collection(spec, CollectionOptions(pin_path=pin_dir))
    assert list(pin_dir.iterdir()) == []
    spec = _pins_then_fails("pinned")
    spec.maps["pinned"].key_size = -4
    with pytest.raises(ValueError, match=r"'pinned'.*key_size"):
        Collection(spec, CollectionOptions(pin_path=pin_dir))
    with pytest.raises(ValueError, match=r"'pinned'.*max_entries"):
        Map(MapSpec("pinned", MapType.ARRAY, 4, 4, -1))


def test_every_core_error_is_public() -> None:
    # Users catch these: each must be importable from pybpf.core, wherever it is defined.
    for info in pkgutil.iter_modules(pybpf.core.__path__):
        module = importlib.import_module(f"pybpf.core.{info.name}")
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, Exception)
                and obj.__module__ == module.__name__
            ):
                assert getattr(pybpf.core, name, None) is obj, f"{module.__name__}.{name}"
                assert name in pybpf.core.__all__
