"""pybpf.core figures: map element operations and batch reads, against libbpf in C."""

from __future__ import annotations

import sys
from typing import Any

from pybpf.core import Map, _sys
from pybpf.elf._uapi import MapType
from pybpf.elf.spec import MapSpec

ENTRIES = 100_000


def _c_baseline(bench: Any, c: dict[str, float]) -> dict[str, float]:
    # The machine is shared: the best of two C runs (before and after the
    # Python figures) keeps a noisy moment from flattering the ratios.
    again = bench.c_seconds("core_map")
    return {label: min(seconds, again[label]) for label, seconds in c.items()}


def run(bench: Any) -> None:
    first = bench.c_seconds("core_map")
    backend = "compiled" if _sys.COMPILED else "ABI fallback"
    print(f"  (syscall backend: {backend})")
    spec = MapSpec("bench", MapType.HASH, 4, 8, ENTRIES)
    with Map(spec, key_codec=int, value_codec=int) as m:
        m.update_batch(list(range(ENTRIES)), list(range(ENTRIES)))
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

        target = "target <= 1.3x C"
        bench.report(
            "Map.lookup(int) u32->u64 hash",
            bench.time(typed_lookup),
            baseline=c["lookup"],
            target=target,
        )
        bench.report(
            "m[int] u32->u64 hash", bench.time(item_lookup), baseline=c["lookup"], target=target
        )
        bench.report(
            "Map.update(int, int) u32->u64 hash",
            bench.time(typed_update),
            baseline=c["update"],
            target=target,
        )
        bench.report(
            "m[int] = int u32->u64 hash",
            bench.time(item_update),
            baseline=c["update"],
            target=target,
        )
        bench.report(
            "Map.lookup(bytes) u32->u64 hash", bench.time(bytes_lookup), baseline=c["lookup"]
        )

        def to_dict() -> None:
            d = m.to_dict()
            assert len(d) == ENTRIES

        bench.report(
            f"Map.to_dict() of {ENTRIES} entries (batch lookup)",
            bench.time(to_dict, number=3),
            baseline=c["batch_lookup_100k"],
            target="target <= 1.5x C",
        )
