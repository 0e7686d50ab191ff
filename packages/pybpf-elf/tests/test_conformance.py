"""pybpf reads every testdata object as libbpf does, but for documented choices.

The oracle is libbpf itself: ``libbpf_oracle.c`` is built against the
installed libbpf-dev into a temporary directory and prints, as JSON, what
``bpf_object__open`` made of the object. Each difference must be one of the
deliberate ones listed here (and in docs/elf.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pybpf.elf import ELFError, Pinning, load_collection_spec
from pybpf.elf.arena import ARENA_SECTION
from pybpf.elf.cli import summary
from pybpf.elf.sections import NEWER_THAN_LIBBPF_1_1_2, match_section

HERE = Path(__file__).resolve().parent

#: The deliberate differences, one line each (also in docs/elf.md).
DELIBERATE: tuple[tuple[str, str], ...] = (
    (
        'legacy "maps" sections',
        "libbpf 1.x refuses the object (EOPNOTSUPP); pybpf reads them, as ebpf-go does",
    ),
    (
        "data-section maps",
        "libbpf names them '<object prefix>.data' ('.data.foo' for custom sections); "
        "pybpf names them after their section",
    ),
    (
        "attach type",
        "where the section sets none, libbpf reports 0 (cgroup_inet_ingress), pybpf None",
    ),
    (
        "section names newer than libbpf 1.1.2",
        "1.1.2 gives their programs type unspec (NEWER_THAN_LIBBPF_1_1_2)",
    ),
    (
        "big-endian objects",
        "libbpf opens only the host's byte order: they are compared with libbpf's view of "
        "the little-endian build, instruction counts aside (clang's code differs)",
    ),
    (
        "map types newer than libbpf 1.1.2",
        "1.1.2 has no name for them (arena)",
    ),
    (
        ".struct_ops.link sections",
        "newer than libbpf 1.1.2, which ignores them, as it ignores ?.struct_ops and "
        "?.struct_ops.link (optional struct_ops maps, libbpf 1.4+)",
    ),
    (
        "arena globals",
        "newer than libbpf 1.1.2 (arena maps came with 1.4), which skips .addr_space.1 and "
        "refuses code that uses it (LIBBPF_ERRNO__RELOC); pybpf reads them as libbpf 1.4+ does",
    ),
    (
        "extern maps of static links",
        "libbpf's linker leaves an extern map's offset 0 in the .maps DATASEC where the "
        "symbol says otherwise; libbpf keeps it and refuses the object "
        "(LIBBPF_ERRNO__RELOC), pybpf takes the symbol's (EXTERN_MAP_LINKS)",
    ),
    (
        "struct_ops programs",
        "libbpf stores the struct member's index as expected attach type; pybpf None "
        "(the map names the member)",
    ),
)

#: Static links whose .maps DATASEC puts an extern map at the linker's stale
#: offset 0: libbpf cannot open them, pybpf reads each map at its symbol.
EXTERN_MAP_LINKS = frozenset({"linked_extern_map-el.o"})
#: Map types newer than libbpf 1.1.2, whose names it does not know.
NEWER_MAP_TYPES = frozenset({"ARENA"})
_LIBBPF_ERRNO_ENDIAN = 4003
_LIBBPF_ERRNO_RELOC = 4005
_INTERNAL = (".data", ".rodata", ".bss", ".kconfig")


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the libbpf oracle")
    out = tmp_path_factory.mktemp("oracle") / "libbpf_oracle"
    build = subprocess.run(
        [cc, "-O2", "-o", str(out), str(HERE / "libbpf_oracle.c"), "-lbpf"],
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        pytest.skip(f"libbpf-dev missing, cannot build the oracle: {build.stderr.strip()[:200]}")
    return out


def libbpf_view(oracle: Path, obj: Path) -> dict[str, Any]:
    out = subprocess.run([str(oracle), str(obj)], capture_output=True, text=True, check=True)
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _map_name(name: str) -> str:
    """libbpf's internal map name ("loader.rodata") as pybpf names it (".rodata")."""
    if name.startswith("."):
        return name
    for suffix in _INTERNAL:
        if name.endswith(suffix) and "." not in name[: -len(suffix)]:
            return suffix
    return name


def test_matches_libbpf(oracle: Path, obj_path: Path) -> None:
    theirs = libbpf_view(oracle, obj_path)
    spec = load_collection_spec(obj_path)
    other_order = theirs.get("error") == _LIBBPF_ERRNO_ENDIAN and obj_path.name.endswith("-eb.o")
    if other_order:
        # libbpf opens only objects of the host's byte order: compare the
        # big-endian build with what libbpf sees in the little-endian one.
        theirs = libbpf_view(oracle, obj_path.with_name(obj_path.name[:-5] + "-el.o"))
    if "error" in theirs:
        if any(v.section == ARENA_SECTION for v in spec.variables.values()):
            assert theirs["error"] == _LIBBPF_ERRNO_RELOC, (
                f"libbpf 1.1.2 on arena globals: {theirs}"
            )
            return
        if obj_path.name in EXTERN_MAP_LINKS:
            assert theirs["error"] == _LIBBPF_ERRNO_RELOC, f"libbpf on {obj_path.name}: {theirs}"
            return
        legacy = any(m.extra or m.key_type is None for m in spec.maps.values())
        assert theirs["error"] == 95 and legacy, f"libbpf refuses {obj_path.name}: {theirs}"
        return
    ours = summary(spec)
    assert list(ours["programs"]) == list(theirs["programs"]), "programs or their order differ"
    for name, prog in theirs["programs"].items():
        mine = ours["programs"][name]
        spec_prog = spec.programs[name]
        info = match_section(spec_prog.section)
        assert mine["section"] == prog["section"], name
        if not other_order:
            # clang's code differs between byte orders (bpf_htons is a no-op on
            # big-endian), so only same-order builds have comparable lengths.
            assert mine["insn_slots"] == prog["insn_slots"], name
        assert spec_prog.autoload == prog["autoload"], name
        if info is None:
            # A section libbpf does not know either: both leave the type unset.
            assert (mine["type"], prog["type"]) == ("unspec", "unspec"), name
            continue
        if info.definition.pattern in NEWER_THAN_LIBBPF_1_1_2:
            assert prog["type"] == "unspec", f"{name}: libbpf 1.1.2 knows {info.name} now"
            continue
        assert mine["type"] == prog["type"], name
        if mine["attach_type"] is None:
            if spec_prog.type.name == "STRUCT_OPS":
                continue
            assert prog["attach_type"] == "cgroup_inet_ingress", name
        else:
            assert mine["attach_type"] == prog["attach_type"], name
    theirs_maps = {_map_name(n): m for n, m in theirs["maps"].items()}
    for name, m in spec.maps.items():
        if m.section in (".struct_ops.link", "?.struct_ops", "?.struct_ops.link"):
            # libbpf 1.1.2 predates these sections and ignores them.
            theirs_maps.setdefault(
                name,
                {
                    **ours["maps"][name],
                    "map_extra": 0,
                    "numa_node": 0,
                    "pinned": False,
                    "inner_map": False,
                    "initial_value": None,
                },
            )
    assert sorted(ours["maps"]) == sorted(theirs_maps)
    for name, m in theirs_maps.items():
        mine = ours["maps"][name]
        if m["type"] is None:
            assert spec.maps[name].type.name in NEWER_MAP_TYPES, name
        for key in ("type", "key_size", "value_size", "max_entries", "flags"):
            if key == "type" and m["type"] is None:
                continue
            assert mine[key] == m[key], f"map {name}: {key}"
        ms = spec.maps[name]
        assert ms.map_extra == m["map_extra"], name
        assert ms.numa_node == m["numa_node"], name
        assert (ms.pinning == Pinning.BY_NAME) == m["pinned"], name
        assert (ms.inner_map is not None) == m["inner_map"], name
        if m["initial_value"] is not None and not other_order:
            assert ms.contents[0][1] == bytes.fromhex(m["initial_value"]), name


def test_deliberate_differences_documented() -> None:
    docs = HERE.parents[2] / "docs" / "elf.md"
    if not docs.exists():
        pytest.skip("docs/elf.md not written yet")
    text = docs.read_text()
    for what, _ in DELIBERATE:
        assert what in text, f"docs/elf.md does not mention: {what}"


def test_elferror_is_valueerror() -> None:
    assert issubclass(ELFError, ValueError)
