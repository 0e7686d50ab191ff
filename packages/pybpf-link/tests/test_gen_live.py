"""A module written by ``pybpf gen``, imported and used on the real kernel.

Generated from the committed ``testdata/gen_demo-*.o`` (no compiler needed),
type-checked offline by ``pybpf-elf``'s ``test_gen.py``; here it loads, runs
its programs with ``BPF_PROG_TEST_RUN``, reads its typed maps, variables and
ring buffer, and attaches its tracepoint program.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pybpf.core import BPFError
from pybpf.elf.gen import generate

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[3]
OBJECTS = [ROOT / "testdata" / "gen_demo-el.o", ROOT / "testdata" / "gen_demo-eb.o"]
XDP_PASS, XDP_DROP = 2, 1


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate("gen_demo", objects=OBJECTS, types=["event"]).write(out)
    return out


@pytest.fixture(scope="module")
def demo(module_dir: Path) -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("gen_demo", module_dir / "gen_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # As an import does: dataclasses looks the module up to read its annotations.
    sys.modules["gen_demo"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["gen_demo"]


@pytest.fixture
def objs(demo: Any) -> Iterator[Any]:
    with demo.GenDemoObjects.load() as loaded:
        yield loaded


def test_hash_map_keyed_by_a_struct(demo: Any, objs: Any) -> None:
    assert objs.count_packet.run(bytes(64)).retval == 0
    assert objs.count_packet.run(bytes(64)).retval == 0
    key = demo.FlowKey(addr=7, port=80, proto=6)
    assert objs.flows[key] == 2
    assert list(objs.flows.keys()) == [key]
    assert type(next(iter(objs.flows.keys()))) is demo.FlowKey
    other = demo.FlowKey(addr=1)
    objs.flows[other] = 10
    assert objs.flows.to_dict() == {key: 2, other: 10}
    assert objs.flows.raw[other.encode()] == (10).to_bytes(8, sys.byteorder)


def test_array_of_structs(demo: Any, objs: Any) -> None:
    empty = objs.entries[0]
    assert empty == demo.Entry()
    assert empty.verdict is demo.Verdict.VERDICT_PASS
    assert objs.judge.run(bytes(64)).retval == XDP_PASS
    entry = demo.Entry(
        name=b"first",
        where=demo.Point(x=1, y=-2),
        verdict=demo.Verdict.VERDICT_DROP,
        samples=(1, 2, 3),
        mac=bytes(6),
        path=(demo.Point(x=5), demo.Point(y=6)),
    )
    objs.entries[0] = entry
    assert objs.entries[0] == entry
    assert objs.judge.run(bytes(64)).retval == XDP_DROP
    seen = objs.entries[0]
    assert seen == dataclasses.replace(entry, hits=1)
    assert seen.name_str == "first"
    assert isinstance(seen.where, demo.Point)
    # a value no enumerator names stays an int
    objs.entries[1] = dataclasses.replace(entry, verdict=9)
    assert objs.entries[1].verdict == 9


def test_records_refuse_what_does_not_fit(demo: Any, objs: Any) -> None:
    with pytest.raises(ValueError, match="name holds 12 bytes, got 13"):
        objs.entries[0] = demo.Entry(name=b"x" * 13)
    with pytest.raises(ValueError, match="Entry"):
        objs.entries[0] = demo.Entry(samples=(1, 2))
    with pytest.raises(ValueError, match="path holds 2 records, got 1"):
        objs.entries[0] = demo.Entry(path=(demo.Point(),))
    with pytest.raises(ValueError, match="FlowKey"):
        objs.flows[demo.FlowKey(port=1 << 16)] = 1
    with pytest.raises(ValueError, match="Point"):
        demo.Point.decode(b"\0" * 4)


def test_variables(demo: Any, objs: Any) -> None:
    assert objs.magic.get() == 7
    assert objs.runs.get() == 0
    objs.count_packet.run(bytes(64))
    assert objs.runs.get() == 1
    last = objs.last.get()
    assert type(last) is demo.Point
    assert last.y == -1
    objs.last.set(demo.Point(x=3, y=4))
    assert objs.last.get() == demo.Point(x=3, y=4)


def test_rodata_set_on_the_spec(demo: Any) -> None:
    spec = demo.GenDemoObjects.spec()
    spec.variables["magic"].set(9)
    with demo.GenDemoObjects.load(spec) as objs:
        assert objs.magic.get() == 9
        objs.count_packet.run(bytes(64))
        assert objs.flows.to_dict() == {demo.FlowKey(addr=9, port=80, proto=6): 1}


def test_ring_buffer_records_are_typed(demo: Any, objs: Any) -> None:
    objs.count_packet.run(bytes(64), repeat=3)
    with objs.events_reader() as reader:
        events = reader.read_batch()
    assert len(events) == 3
    assert all(type(e) is demo.Event for e in events)
    assert {e.comm_str for e in events} == {"gen_demo"}


def test_selective_loading(demo: Any) -> None:
    with demo.GenDemoObjects.load(programs=["judge"]) as objs:
        assert objs.judge.run(bytes(64)).retval == XDP_PASS
        assert objs.entries[0] == demo.Entry(hits=1)
        with pytest.raises(LookupError, match="program 'count_packet' was not loaded"):
            objs.count_packet  # noqa: B018
        with pytest.raises(LookupError, match="map 'flows' was not loaded"):
            objs.flows  # noqa: B018


def test_attach(objs: Any) -> None:
    links = objs.attach()
    try:
        assert len(links) == 1  # the tracepoint; socket and xdp programs name no target
        before = objs.getpid_calls.get()
        for _ in range(3):
            os.getpid()
        assert objs.getpid_calls.get() >= before + 3
    finally:
        for link in links:
            link.close()


def test_imports_and_loads_without_pybpf_link(module_dir: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['pybpf.link'] = None  # as if pybpf-link were not installed\n"
        "import gen_demo\n"
        "with gen_demo.GenDemoObjects.load() as objs:\n"
        "    objs.count_packet.run(bytes(64))\n"
        "    print(objs.runs.get())\n"
        "    try:\n"
        "        objs.attach()\n"
        "    except ImportError:\n"
        "        print('no link')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=module_dir,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(module_dir)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "no", "link"]


def _objects_class(module: ModuleType) -> Any:
    from pybpf.core import GeneratedObjects

    return next(
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, GeneratedObjects) and v is not GeneratedObjects
    )


#: The testdata objects that no kernel loads whole, on purpose, and what
#: refuses them; each one's own tests load its parts or check the refusal.
#: Their generated modules are imported all the same, and refused alike.
_NEVER_LOADS: dict[str, type[Exception] | tuple[type[Exception], ...]] = {
    "core_local-el.o": BPFError,  # relocation targets only (test_core_local_never_loads)
    "kfunc_missing-el.o": BPFError,  # calls a kfunc no kernel has
    "link_tracing_ext-el.o": ValueError,  # freplace: needs the program it extends
    "raw_insns-el.o": BPFError,  # words the verifier refuses (test_raw_instructions_load)
    "raw_map_fd-el.o": BPFError,  # a map fd of -1
    # A program of every section: some no kernel takes, and freplace needs
    # the program it extends (the newest kernels take all the others).
    "sections-el.o": (BPFError, ValueError),
    "sections_unknown-el.o": ValueError,  # sections that name no program type
    "text_only-el.o": ValueError,  # .text functions only: no program type
}


@pytest.mark.parametrize(
    "obj", sorted(p.name for p in (ROOT / "testdata").glob("*-el.o")), ids=lambda n: n[:-5]
)
def test_every_loadable_testdata_object(obj: str, tmp_path: Path) -> None:
    """What loads as a Collection loads through its generated module, every attribute there."""
    from pybpf.core import Collection

    path = ROOT / "testdata" / obj
    refused = _NEVER_LOADS.get(obj)
    if refused is not None:
        with pytest.raises(refused):
            Collection(path).close()
    else:
        try:
            Collection(path).close()
        except Exception as exc:  # the object's own tests say why
            pytest.skip(f"{obj} does not load here: {type(exc).__name__}")
    name = "every_" + obj.removesuffix("-el.o")
    generate(name, objects=[path]).write(tmp_path)
    spec = importlib.util.spec_from_file_location(name, tmp_path / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        objects = _objects_class(module)
        if refused is not None:
            with pytest.raises(refused):
                objects.load()
            return
        with objects.load() as objs:
            loaded = objs.collection.programs  # not the SEC("?...") ones
            programs = [a for n, a in objects.PROGRAMS.items() if n in loaded]
            for attr in [*programs, *objects.MAPS.values()]:
                assert getattr(objs, attr) is not None
            for attr in objects.VARIABLES.values():
                getattr(objs, attr).get()
    finally:
        del sys.modules[name]


def test_objects_beside_the_module(tmp_path: Path) -> None:
    generate("beside", objects=OBJECTS, object_file=True).write(tmp_path)
    code = "import beside\nwith beside.BesideObjects.load() as objs:\n    print(objs.magic.get())\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "7\n"
