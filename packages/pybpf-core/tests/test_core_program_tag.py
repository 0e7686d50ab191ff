"""``Instructions.tag()`` against the tag the running kernel reports for the same program."""

from __future__ import annotations

from pathlib import Path

import pytest

from pybpf.core import Map, Program, load_collection_spec

pytestmark = pytest.mark.kernel


def test_tag_matches_kernel(testdata: Path) -> None:
    # The program loads a map's fd: the tag must not depend on it.
    demo = load_collection_spec(testdata / "demo-el.o")
    spec = demo.programs["cap_length"]
    with (
        Map(demo.maps["limits"]) as limits,
        Program(spec, maps={"limits": limits}, types=demo.types) as prog,
    ):
        tag = prog.info().tag
    insns = spec.instructions
    # Kernels hash with SHA-256 (6.18 and later) or SHA-1: which one this
    # kernel uses is its answer, accepted only as one of the two computed.
    computed = {algorithm: insns.tag(algorithm=algorithm) for algorithm in ("sha256", "sha1")}
    assert computed["sha256"] != computed["sha1"]
    assert tag in computed.values()
    assert insns.matches_tag(tag)
