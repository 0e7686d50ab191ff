"""Which bpf_links of this test process exist: the kernel-wide list holds other processes' too.

A test that checks "nothing of ours is left" must not fail because something
else on the machine (systemd attaching a unit's cgroup programs, another test
run) created a link meanwhile: only links that run a program this process holds
count.
"""

from __future__ import annotations

import os

from pybpf.link import links


def our_program_ids() -> set[int]:
    """The ids of the programs this process holds an fd of (programs, and links' programs)."""
    ids: set[int] = set()
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:  # closed since the listing
            continue
        for line in text.splitlines():
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    return ids


def link_ids_now() -> set[int]:
    """Every link id in the kernel now, to pass as ``before`` to :func:`our_links_since`."""
    return {info.id for info in links()}


def our_links_since(before: set[int]) -> set[int]:
    """Links created since ``before`` that run a program of this process.

    A link that reports no program (a struct_ops link holds a map) counts too:
    it cannot be told apart, and other processes seldom make one.
    """
    ours = our_program_ids() | {0}
    return {info.id for info in links() if info.id not in before and info.program_id in ours}
