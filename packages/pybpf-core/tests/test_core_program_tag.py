"""``Instructions.tag()`` against the tag the running kernel reports for the same program."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Literal

import pytest

from pybpf.core import Map, Program, load_collection_spec

pytestmark = pytest.mark.kernel


def kernel_tag_algorithm() -> Literal["sha256", "sha1"]:
    """The hash behind the running kernel's tags: SHA-256 from Linux 6.18, SHA-1 before."""
    release = tuple(int(part) for part in platform.release().split("-")[0].split(".")[:2])
    return "sha256" if release >= (6, 18) else "sha1"


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
    assert insns.tag(algorithm=kernel_tag_algorithm()) == tag
    assert insns.matches_tag(tag)
