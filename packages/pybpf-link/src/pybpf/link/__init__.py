"""Attaching BPF programs: one type per ``bpf_link_type`` and the older attach paths.

This layer is planned, not built yet: it will sit on :mod:`pybpf.core`'s syscall
layer. Nothing is exported so far.
"""

__all__: list[str] = []
