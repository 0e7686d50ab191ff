"""Kernel flag values that tools/gen_uapi.py does not generate yet.

Hand-copied from ``include/uapi/linux/bpf.h`` (Linux 6.18): the anonymous
enums holding ``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST``/``BPF_F_LOCK``, the
``BPF_MAP_CREATE`` flags (``BPF_F_NO_PREALLOC`` ...), the ``BPF_OBJ_*``
file flags and the ``BPF_F_TEST_*`` test run flags. They belong in the
generator; until then this is their only home.
"""

from __future__ import annotations

import enum


class UpdateFlags(enum.IntFlag):
    """How ``Map.update`` treats an existing key (``BPF_ANY`` ... ``BPF_F_LOCK``)."""

    ANY = 0
    NOEXIST = 1
    EXIST = 2
    LOCK = 4


class MapFlags(enum.IntFlag):
    """``BPF_MAP_CREATE`` flags (``map_flags``)."""

    NONE = 0
    NO_PREALLOC = 1 << 0
    NO_COMMON_LRU = 1 << 1
    NUMA_NODE = 1 << 2
    RDONLY = 1 << 3
    WRONLY = 1 << 4
    STACK_BUILD_ID = 1 << 5
    ZERO_SEED = 1 << 6
    RDONLY_PROG = 1 << 7
    WRONLY_PROG = 1 << 8
    CLONE = 1 << 9
    MMAPABLE = 1 << 10
    PRESERVE_ELEMS = 1 << 11
    INNER_MAP = 1 << 12
    LINK = 1 << 13
    PATH_FD = 1 << 14
    VTYPE_BTF_OBJ_FD = 1 << 15
    TOKEN_FD = 1 << 16
    SEGV_ON_FAULT = 1 << 17
    NO_USER_CONV = 1 << 18


class FileFlags(enum.IntFlag):
    """``file_flags`` of ``BPF_OBJ_GET`` and ``open_flags`` of ``*_GET_FD_BY_ID``."""

    RDWR = 0
    RDONLY = 1 << 3
    WRONLY = 1 << 4


class RunFlags(enum.IntFlag):
    """``BPF_PROG_TEST_RUN`` flags (``Program.run(flags=...)``)."""

    NONE = 0
    #: Run on the CPU given as ``cpu`` (raw tracepoint programs).
    RUN_ON_CPU = 1 << 0
    #: XDP: transmit the frames the program passes on (live frames, 5.18+).
    XDP_LIVE_FRAMES = 1 << 1
    #: tc/skb: give the skb CHECKSUM_COMPLETE and check it after the run (6.11+).
    SKB_CHECKSUM_COMPLETE = 1 << 2
