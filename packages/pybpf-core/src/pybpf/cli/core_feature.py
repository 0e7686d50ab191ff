"""``pybpf feature probe``: what the running kernel offers, each answer from the kernel itself.

Every probe of :mod:`pybpf.core.features` gives one of four answers, shown
apart: supported; missing (the kernel predates the feature: the first
version that has it is named, where one is known: helpers a program type
may not call have none); not built (the kernel knows the feature but was
configured without it: ``EINVAL``); refused (it has it but would not let this
process use it: ``EPERM`` and the like).
"""

from __future__ import annotations

import argparse
import errno
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from pybpf.asm import Helper
from pybpf.cli.output import Progress, print_json
from pybpf.core import features
from pybpf.core._probes import MAP_TYPE_SINCE
from pybpf.core.errors import NotSupportedError
from pybpf.elf import MapType, ProgramType

__all__ = ["answer", "probe"]

_SECTIONS = ("program_types", "map_types", "helpers", "misc")

_MISC: dict[str, tuple[Callable[[], None], str]] = {
    "bpf_link": (features.have_bpf_link, "5.7"),
    "isa_v2": (features.have_isa_v2, "4.14"),
    "isa_v3": (features.have_isa_v3, "5.1"),
    "isa_v4": (features.have_isa_v4, "6.6"),
    "large_instructions": (features.have_large_instructions, "5.2"),
    "bounded_loops": (features.have_bounded_loops, "5.3"),
    "atomics": (features.have_atomics, "5.12"),
}


def answer(probe: Callable[[], None], since: str = "") -> dict[str, Any]:
    """Run one probe: ``{"supported": bool, "status": ..., "since": ..., "reason": ...}``."""
    doc: dict[str, Any] = {"supported": True, "status": "yes"}
    try:
        probe()
    except NotSupportedError as e:
        doc["supported"] = False
        if e.min_version:
            doc["status"] = "missing"
            since = e.min_version
        elif (e.strerror or "").endswith(": not supported by this kernel"):
            doc["status"] = "missing"  # no version known: a helper a program type cannot call
        elif e.errno == errno.EINVAL:
            doc["status"] = "not built"
        else:
            doc["status"] = "refused"
        doc["reason"] = e.strerror or str(e)
    if since:
        doc["since"] = since
    return doc


def _program_types() -> Iterator[tuple[str, Callable[[], None], str]]:
    for t in ProgramType:
        if t != ProgramType.UNSPEC:
            since = features.PROGRAM_TYPE_SINCE.get(t, "")
            yield t.name.lower(), partial(features.have_program_type, t), since


def _map_types() -> Iterator[tuple[str, Callable[[], None], str]]:
    seen: set[int] = set()
    for t in MapType:
        if t == MapType.UNSPEC or int(t) in seen:
            continue
        seen.add(int(t))
        since = MAP_TYPE_SINCE.get(t, "")
        yield (
            t.name.lower().removesuffix("_deprecated"),
            partial(features.have_map_type, t),
            since,
        )


def _helpers(prog_types: list[ProgramType]) -> Iterator[tuple[str, Callable[[], None], str]]:
    for p in prog_types:
        for h in Helper:
            if h != Helper.UNSPEC:
                # The kernel's spelling, as bpftool prints it.
                yield f"{p.name.lower()}/{h.name.lower()}", partial(features.have_helper, p, h), ""


def _show(section: str, results: dict[str, dict[str, Any]]) -> None:
    print(f"{section.replace('_', ' ')}:")
    width = max((len(n) for n in results), default=0) + 2
    for name, doc in results.items():
        status = doc["status"]
        since = f" (Linux {doc['since']}+)" if "since" in doc else ""
        line = f"  {name:<{width}}{status}{since}"
        if status in ("refused", "not built"):
            line += f": {doc['reason'].split(': ', 1)[-1]}"
        print(line)


def probe(args: argparse.Namespace) -> int:
    """Probe and print each section; helpers only for the program types this kernel loads."""
    chosen = args.only or list(_SECTIONS)
    doc: dict[str, dict[str, dict[str, Any]]] = {}
    with Progress("pybpf feature probe") as progress:
        if "program_types" in chosen or "helpers" in chosen:
            doc["program_types"] = {}
            for name, run, since in _program_types():
                progress.note(f"program type {name}")
                doc["program_types"][name] = answer(run, since)
        if "map_types" in chosen:
            doc["map_types"] = {}
            for name, run, since in _map_types():
                progress.note(f"map type {name}")
                doc["map_types"][name] = answer(run, since)
        if "helpers" in chosen:
            loadable = [
                ProgramType[name.upper()]
                for name, d in doc["program_types"].items()
                if d["supported"]
            ]
            doc["helpers"] = {}
            for name, run, since in _helpers(loadable):
                progress.note(f"helper {name}")
                doc["helpers"][name] = answer(run, since)
        if "misc" in chosen:
            doc["misc"] = {name: answer(run, since) for name, (run, since) in _MISC.items()}
    if "program_types" not in chosen:
        doc.pop("program_types", None)
    if args.json:
        print_json(doc)
        return 0
    for n, (section, results) in enumerate(doc.items()):
        if n:
            print()
        _show(section, results)
    return 0
