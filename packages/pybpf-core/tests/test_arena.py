"""BPF arenas in collections on the running kernel: the mapping, __arena globals, programs."""

from __future__ import annotations

import errno
import mmap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pybpf.core import (
    ArenaError,
    ClosedError,
    Collection,
    LimitError,
    MapType,
    features,
    load_collection_spec,
)

pytestmark = pytest.mark.kernel

PAGE = mmap.PAGESIZE
# Where the kernel selftests put their arenas on x86-64 (map_extra = 1 << 44).
FIXED = 1 << 44


@pytest.fixture(autouse=True)
def _arena_kernel() -> Iterator[None]:
    # Raises NotSupportedError ("requires Linux 6.9"), which conftest turns into a skip.
    features.have_map_type(MapType.ARENA)
    yield


def test_globals_at_the_end_of_the_arena(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "arena_access-el.o")
    data = spec.maps["arena"].contents[0][1]
    assert isinstance(data, bytes)
    with Collection(spec) as coll:
        arena = coll.arena
        assert arena is not None
        assert arena.map is coll.maps["arena"]
        size = spec.maps["arena"].max_entries * PAGE
        assert len(arena.memory) == size
        # Whole pages at the end, as libbpf places them; the pages before stay free.
        assert arena.globals_offset == size - -(-len(data) // PAGE) * PAGE
        start = arena.globals_offset
        assert arena.memory[start : start + len(data)] == data
        assert not any(arena.memory[:start])
        for name, var in spec.variables.items():
            assert coll.variables[name].offset == start + var.offset
            assert coll.variables[name].get() == var.get()


def test_program_reads_and_writes_globals(testdata: Path) -> None:
    with Collection(testdata / "arena_access-el.o") as coll:
        bump = coll.programs["arena_bump"]
        v = coll.variables
        assert v["runs"].get() == 10
        assert bump.run(repeat=0).retval == 11
        assert (v["runs"].get(), v["total"].get(), v["slot"].get()) == (11, 1, 1)
        assert (v["origin"].get().x, v["origin"].get().y) == (6, 7)
        # What Python writes, the program reads, through the same memory.
        v["step"].set(5)
        v["runs"].set(100)
        assert bump.run(repeat=0).retval == 101
        assert v["total"].get() == 6
        assert v["history"].get() == [1, 6, 3, 4]
        assert (v["origin"].get().x, v["origin"].get().y) == (12, 13)
        raw = coll.arena.memory if coll.arena is not None else b""
        total = v["total"]
        assert raw[total.offset : total.offset + 8] == (6).to_bytes(8, "little")


def test_programs_see_the_arena_address(testdata: Path) -> None:
    # The program stores &initial, &table[2], &counter, &stats.last and &hidden:
    # user addresses in the arena's mapping, where the globals were placed.
    spec = load_collection_spec(testdata / "arena_globals-el.o")
    with Collection(spec) as coll:
        arena = coll.arena
        assert arena is not None
        assert coll.programs["arena_addresses"].run(repeat=0).retval == 0
        base = arena.address + arena.globals_offset
        v = spec.variables
        want = [
            v["initial"].offset,
            v["table"].offset + 2 * 8,
            v["counter"].offset,
            v["stats"].offset + 8,
            v["hidden"].offset,
        ]
        # The map's BTF says u64: values come back as ints.
        assert list(coll.maps["addresses"].values()) == [base + off for off in want]
        assert coll.variables["stats"].get().hits == 5
        assert coll.variables["hidden"].get() == 7


def test_closed_arena(testdata: Path) -> None:
    coll = Collection(testdata / "arena_access-el.o")
    arena, runs = coll.arena, coll.variables["runs"]
    coll.close()
    assert arena is not None
    with pytest.raises(ClosedError):
        arena.address  # noqa: B018
    with pytest.raises(ClosedError):
        runs.get()


@pytest.mark.parametrize("map_extra", [0, FIXED])
def test_close_with_a_buffer_held(testdata: Path, map_extra: int) -> None:
    # A buffer taken on the memory keeps the mapping; closing still closes
    # every program and map (the fd-leak check would fail otherwise).
    spec = load_collection_spec(testdata / "arena_access-el.o")
    spec.maps["arena"].map_extra = map_extra
    coll = Collection(spec)
    assert coll.arena is not None
    held = memoryview(coll.arena.memory)
    var = spec.variables["runs"]
    runs = coll.arena.globals_offset + var.offset
    coll.close()
    try:
        assert all(p.closed for p in coll.programs.values())
        assert all(m.closed for m in coll.maps.values())
        assert held[runs : runs + var.size].tobytes() == (10).to_bytes(var.size, "little")
    finally:
        # Python's mmap keeps a duplicate of the map's fd until this goes.
        held.release()
    if map_extra:
        assert not _mapped(map_extra)


def test_arena_without_globals_is_mapped(testdata: Path) -> None:
    with Collection(testdata / "maps_new-el.o") as coll:
        assert coll.arena is not None
        assert coll.arena.globals_offset == len(coll.arena.memory)


def test_globals_larger_than_the_arena(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "arena_access-el.o")
    arena = spec.maps["arena"]
    arena.contents = [(b"", bytes(arena.max_entries * PAGE + 1))]
    with pytest.raises(LimitError, match="max_entries=4") as info:
        Collection(spec)
    assert info.value.limit == "max_entries=4"


def test_map_extra_without_globals(testdata: Path) -> None:
    spec = load_collection_spec(testdata / "maps_new-el.o")
    spec.maps["arena"].map_extra = FIXED
    with Collection(spec) as coll:
        arena = coll.arena
        assert arena is not None and isinstance(arena.memory, memoryview)
        assert arena.address == FIXED
        assert len(arena.memory) == spec.maps["arena"].max_entries * PAGE
        assert arena.globals_offset == len(arena.memory)
    assert not _mapped(FIXED)


def test_map_extra_with_globals(testdata: Path) -> None:
    # Mapped at map_extra, as libbpf maps it: the programs' pointers are
    # user addresses there, and the globals are read and written through it.
    spec = load_collection_spec(testdata / "arena_globals-el.o")
    spec.maps["arena"].map_extra = FIXED
    with Collection(spec) as coll:
        arena = coll.arena
        assert arena is not None
        assert arena.address == FIXED and _mapped(FIXED)
        assert coll.programs["arena_addresses"].run(repeat=0).retval == 0
        initial = spec.variables["initial"].offset
        assert next(iter(coll.maps["addresses"].values())) == FIXED + arena.globals_offset + initial
        assert coll.variables["initial"].get() == 42
        coll.variables["counter"].set(9)
        counter = arena.globals_offset + spec.variables["counter"].offset
        assert arena.memory[counter : counter + 4] == (9).to_bytes(4, "little")
        assert coll.variables["stats"].get().last == 6
        view = arena.memory[counter : counter + 4]
    # The mapping outlives the collection while a view of it does.
    assert view.tobytes() == (9).to_bytes(4, "little") and _mapped(FIXED)
    del view
    assert not _mapped(FIXED)


def test_map_extra_address_in_use(testdata: Path) -> None:
    # libbpf's MAP_FIXED would replace what is there; pybpf refuses.
    spec = load_collection_spec(testdata / "maps_new-el.o")
    spec.maps["arena"].map_extra = FIXED
    with Collection(spec) as first:
        assert first.arena is not None
        with pytest.raises(ArenaError, match="already has a mapping") as info:
            Collection(spec)
        assert info.value.errno == errno.EEXIST
        assert first.arena.memory[0] == 0  # the first mapping is untouched


def _mapped(address: int) -> bool:
    """Whether this process has a mapping that starts at ``address``."""
    with open("/proc/self/maps") as maps:
        return any(int(line.split("-", 1)[0], 16) == address for line in maps)
