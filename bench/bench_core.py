"""pybpf.core figures against libbpf in C: map element operations, batch reads, and
loading a CO-RE object (kernel BTF parse, CO-RE, maps, programs)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pybpf.btf import Int
from pybpf.core import Map, _sys
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

ENTRIES = 100_000
ROUNDS = 3
TARGETS = {
    "lookup": "target <= 1.3x C",
    "update": "target <= 1.3x C",
    "batch_lookup_100k": "target <= 1.5x C",
    "load": "target <= 1.0x C",
}
CORE_OBJECT = Path(__file__).resolve().parent.parent / "testdata" / "core-el.o"
LOAD_PROCESSES = 5

# Run in a fresh interpreter: the kernel's BTF is parsed and indexed anew, as
# libbpf does for every object it loads. Imports are not timed.
_COLD_LOAD = """
import sys, time
from pybpf.core import Collection, load_collection_spec
t0 = time.perf_counter()
Collection(load_collection_spec(sys.argv[1])).close()
print(time.perf_counter() - t0)
"""


def _load_figures(bench: Any) -> list[tuple[str, float]]:
    from pybpf.core import Collection, load_collection_spec  # noqa: PLC0415

    cold = min(
        float(
            subprocess.run(
                [sys.executable, "-c", _COLD_LOAD, str(CORE_OBJECT)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for _ in range(LOAD_PROCESSES)
    )

    def warm() -> None:
        Collection(load_collection_spec(CORE_OBJECT)).close()

    warm()  # the kernel's BTF and its CO-RE index stay cached in this process
    warm_seconds = bench.time(warm, number=5)
    return [
        (f"load {CORE_OBJECT.name} (fresh process: kernel BTF parse + CO-RE)", cold),
        (f"load {CORE_OBJECT.name} (kernel BTF cached in the process)", warm_seconds),
    ]


def _python_figures(bench: Any) -> list[tuple[str, float, str, bool]]:
    # Typed by BTF, as a map of an object's .maps section is: u32 keys, u64 values.
    u32, u64 = Int("unsigned int", 4), Int("unsigned long long", 8)
    spec = MapSpec("bench", MapType.HASH, 4, 8, ENTRIES, key_type=u32, value_type=u64)
    with Map(spec) as m:
        keys = list(range(ENTRIES))
        m.update_batch(keys, keys)
        key = 4242
        raw_key = key.to_bytes(4, sys.byteorder)
        lookup = m.lookup
        update = m.update

        def typed_lookup() -> None:
            lookup(key)

        def item_lookup() -> None:
            m[key]

        def typed_update() -> None:
            update(key, 7)

        def item_update() -> None:
            m[key] = 7

        def bytes_lookup() -> None:
            lookup(raw_key)

        # Every key in turn, as C's loop does: the kernel's hash table and the
        # key objects then compete for the caches, which one key does not show.
        def loop_lookup() -> None:
            for k in keys:
                m[k]

        def loop_update() -> None:
            for k in keys:
                m[k] = 7

        def to_dict() -> None:
            assert len(m.to_dict()) == ENTRIES

        def per_key(fn: Any) -> float:
            return float(bench.time(fn, number=2)) / ENTRIES

        return [
            ("Map.lookup(int) BTF u32->u64 hash", bench.time(typed_lookup), "lookup", True),
            ("m[int] BTF u32->u64 hash", bench.time(item_lookup), "lookup", True),
            ("Map.update(int, int) BTF u32->u64 hash", bench.time(typed_update), "update", True),
            ("m[int] = int BTF u32->u64 hash", bench.time(item_update), "update", True),
            ("Map.lookup(bytes) BTF u32->u64 hash", bench.time(bytes_lookup), "lookup", False),
            ("  m[k] for every key k (one loop)", per_key(loop_lookup), "lookup", False),
            ("  m[k] = 7 for every key k (one loop)", per_key(loop_update), "update", False),
            (
                f"Map.to_dict() of {ENTRIES} entries (batch lookup)",
                bench.time(to_dict, number=3),
                "batch_lookup_100k",
                True,
            ),
            (
                "  the same, the dict's teardown left out (C frees nothing)",
                _without_teardown(m.to_dict),
                "batch_lookup_100k",
                False,
            ),
        ]


def _without_teardown(read: Any, repeat: int = 7) -> float:
    """Best seconds of ``read()``, its result freed outside the timing."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = read()
        best = min(best, time.perf_counter() - t0)
        del result
    return best


def run(bench: Any) -> None:
    backend = "compiled" if _sys.COMPILED else "ABI fallback"
    print(f"  (syscall backend: {backend})")
    # The machine is shared with other work: alternate C and Python rounds and
    # keep each figure's best, so that a noisy moment flatters neither side.
    c = bench.c_seconds("core_map")
    figures = _python_figures(bench)
    for _ in range(ROUNDS - 1):
        again = bench.c_seconds("core_map")
        c = {label: min(seconds, again[label]) for label, seconds in c.items()}
        more = _python_figures(bench)
        figures = [
            (what, min(seconds, other[1]), label, has_target)
            for (what, seconds, label, has_target), other in zip(figures, more, strict=True)
        ]
    for what, seconds, label, has_target in figures:
        target = TARGETS[label] if has_target else ""
        bench.report(what, seconds, baseline=c[label], target=target)
    for label, seconds in c.items():
        bench.report(f"C libbpf {label}", seconds)
    c_load = bench.c_seconds("core_load", str(CORE_OBJECT))["load"]
    loads = _load_figures(bench)
    c_load = min(c_load, bench.c_seconds("core_load", str(CORE_OBJECT))["load"])
    for i, (what, seconds) in enumerate(loads):
        bench.report(what, seconds, baseline=c_load, target=TARGETS["load"] if i == 0 else "")
    bench.report("C libbpf bpf_object__open_file + __load (core-el.o)", c_load)
