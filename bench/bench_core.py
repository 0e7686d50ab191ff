"""pybpf.core figures against libbpf in C: map element operations, batch reads, and
loading a CO-RE object (kernel BTF parse, CO-RE, maps, programs).

Every ratio is paired round by round with one run of the C program doing the
same work: ``bench/c/core_map.c`` walks every key of a 100k-entry u32 -> u64
hash once, as the Python rows do, and reads it whole with one batch lookup.
Targets (issue #18): ``m[k]`` and ``m[k] = v`` <= 1.3x C, ``to_dict`` <= 1.5x
C, a CO-RE load <= libbpf in-process.

Each Python sample starts from a freshly filled map, untimed, as the C
program fills its own just before timing: filled once at the start, the
Python walks read a map the C process between two samples had pushed out
of the caches, and on a machine with cheap syscalls (C's lookup ~0.36 us)
``m[k]`` read 1.3-1.4x C where the same code reads 1.07-1.16x this way.

Where ``to_dict`` goes (2026-12, 100k entries, a machine where C's batch
read takes 12-15 ms): the batch read itself about as long as C's (``perf``:
the kernel's bucket walk and its copies to the buffers are ~55% of the
call), then ~5 ms making 200k ints and inserting them into a presized dict
(~50 ns an entry, in C, through the public API) and ~2 ms of page faults:
pymalloc gives its arenas back when the previous snapshot is freed, so each
call faults ~1,200 pages in again (~1.7 us a fault there). With glibc's
allocator (``PYTHONMALLOC=malloc``) there are no faults but allocating is
slower, for the same total. That is 1.45-1.6x C on such a machine, against
1.3-1.4x where the kernel's read is slower.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from run import Bench

from pybpf.btf import Int
from pybpf.core import Collection, Map, _sys, load_collection_spec
from pybpf.elf import MapSpec, MapType

ENTRIES = 100_000
CORE_OBJECT = Path(__file__).resolve().parent.parent / "testdata" / "core-el.o"

# Run in a fresh interpreter: the kernel's BTF is parsed and indexed anew, as
# libbpf does for every object it loads. Imports are not timed.
_COLD_LOAD = """
import sys, time
from pybpf.core import Collection, load_collection_spec
t0 = time.perf_counter()
Collection(load_collection_spec(sys.argv[1])).close()
print(time.perf_counter() - t0)
"""


def _per_key(walk: Callable[[], None], fill: Callable[[], None]) -> Callable[[], float]:
    """Seconds per key of one walk over every key, the map filled just before."""

    def sample() -> float:
        fill()
        t0 = time.perf_counter()
        walk()
        return (time.perf_counter() - t0) / ENTRIES

    return sample


def _map_rows(bench: Bench) -> None:
    # Typed by BTF, as a map of an object's .maps section is: u32 keys, u64 values.
    u32, u64 = Int("unsigned int", 4), Int("unsigned long long", 8)
    spec = MapSpec("bench", MapType.HASH, 4, 8, ENTRIES, key_type=u32, value_type=u64)
    with Map(spec) as m:
        keys = list(range(ENTRIES))

        def fill() -> None:
            # Untimed, before every sample, as the C program does (see the
            # module's docstring: a difference of caches, not of code).
            m.update_batch(keys, keys)

        fill()
        lookup, update = m.lookup, m.update

        def item_lookup() -> None:
            for k in keys:
                m[k]

        def item_update() -> None:
            for k in keys:
                m[k] = 7

        def method_lookup() -> None:
            for k in keys:
                lookup(k)

        def method_update() -> None:
            for k in keys:
                update(k, 7)

        def to_dict() -> float:
            fill()
            t0 = time.perf_counter()
            snapshot = m.to_dict()
            seconds = time.perf_counter() - t0
            # Freed after the clock stops, as the C program keeps its buffers:
            # a caller has the dict when the call returns.
            assert len(snapshot) == ENTRIES
            return seconds

        rows: list[tuple[str, Callable[[], float], str, float | None]] = [
            ("m[k], every key once", _per_key(item_lookup, fill), "lookup", 1.3),
            ("m[k] = 7, every key once", _per_key(item_update, fill), "update", 1.3),
            ("Map.lookup(k), every key once", _per_key(method_lookup, fill), "lookup", None),
            ("Map.update(k, 7), every key once", _per_key(method_update, fill), "update", None),
            (f"Map.to_dict() of {ENTRIES} entries", to_dict, "batch_lookup_100k", 1.5),
        ]
        for what, ours, label, target in rows:
            bench.compare(
                what,
                ours,
                bench.c_figure("core_map", label, "1"),
                baseline_name="C libbpf",
                target=target,
            )
        key = 4242
        bench.report("m[4242] (one key, repeated)", bench.time(lambda: m[key]))
        bench.report(
            "Map.lookup(bytes) (one key, repeated)",
            bench.time(lambda: lookup(key.to_bytes(4, sys.byteorder))),
        )


def _cold_load() -> float:
    out = subprocess.run(
        [sys.executable, "-c", _COLD_LOAD, str(CORE_OBJECT)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out)


def run(bench: Bench) -> None:
    """Map rows and CO-RE loads, each paired with the C program doing the same."""
    backend = "compiled" if _sys.COMPILED else "ABI fallback"
    print(f"  (syscall backend: {backend})")
    _map_rows(bench)
    c_load = bench.c_figure("core_load", "load", str(CORE_OBJECT), "1")
    bench.compare(
        f"load {CORE_OBJECT.name}, first in a process (kernel BTF parse + CO-RE)",
        _cold_load,
        c_load,
        baseline_name="C libbpf",
        target=1.0,
    )

    def warm() -> None:
        Collection(load_collection_spec(CORE_OBJECT)).close()

    warm()  # the kernel's BTF and its CO-RE index stay cached in this process
    bench.compare(
        f"load {CORE_OBJECT.name}, kernel BTF cached in the process",
        bench.in_process(warm, number=3),
        c_load,
        baseline_name="C libbpf",
    )
