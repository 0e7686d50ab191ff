"""RLIMIT_MEMLOCK, raised only where the kernel still charges BPF memory to it.

Kernels before 5.11 charge maps and programs to the locked-memory rlimit; later
ones charge the memory cgroup. Detection (the way ebpf-go does it): drop the
soft limit to zero, create a tiny array map, restore the limit. If creation
worked, memory is not charged to the rlimit and nothing needs raising. If it
failed, the same creation is tried under the restored limit: only when that
one works was it the rlimit that refused (a process that may not use bpf(2)
at all gets EPERM both times, and then nothing is known or raised).
"""

from __future__ import annotations

# _thread's lock, not threading's (the same lock): threading costs every load an import.
import _thread
import errno

from pybpf.core._uapi import Command


class _State:
    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()
        self.checked = False
        #: Whether this kernel charges BPF memory to RLIMIT_MEMLOCK (None: unknown).
        self.charged: bool | None = None


_state = _State()


def _try_create() -> int:
    """Create and close a tiny array map: 0, or the -errno it failed with."""
    # Here, not at the top: the command layer needs this module to load first,
    # and the ELF layer's type enums are for this once-per-boot probe only.
    from pybpf.core import _cmds  # noqa: PLC0415
    from pybpf.elf import MapType  # noqa: PLC0415

    attr = _cmds.new_attr("map_create")
    attr.map_type = MapType.ARRAY
    attr.key_size = 4
    attr.value_size = 4
    attr.max_entries = 1
    got = _cmds.receive_fd(Command.MAP_CREATE, attr)
    if isinstance(got, int):
        return got
    got.close()
    return 0


def _detect() -> bool | None:
    import resource  # noqa: PLC0415 (see _charged)

    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft == resource.RLIM_INFINITY:
        return None
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, hard))
    try:
        rc = _try_create()
    finally:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (soft, hard))
    if rc == 0:
        return False
    if rc != -errno.EPERM:
        return None
    # EPERM under a zero limit; under the real one too means "not allowed at
    # all", which is no news about the rlimit.
    return True if _try_create() == 0 else None


def _charged() -> bool | None:
    """:func:`_detect`'s answer, found once per boot (the kernel decides it, not the process).

    The boot's answer comes first: where the kernel charges the memory cgroup
    (5.11 and later) a process then needs no ``resource`` module at all.
    """
    # Imported here, as _cmds: the command layer needs this module to load first.
    from pybpf.core import _boot_facts  # noqa: PLC0415

    return _boot_facts.probed("memlock_charged", _detect)


def ensure_memlock() -> None:
    """Once per process: lift RLIMIT_MEMLOCK if this kernel charges BPF memory to it."""
    if _state.checked:
        return
    with _state.lock:
        if _state.checked:
            return
        _state.checked = True
        _state.charged = _charged()
        if not _state.charged:
            return
        import resource  # noqa: PLC0415 (see _charged)

        inf = resource.RLIM_INFINITY
        try:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (inf, inf))
        except (OSError, ValueError):
            # Without CAP_SYS_RESOURCE only the soft limit may rise, to the hard one.
            _, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
            try:  # noqa: SIM105 (contextlib is not on a load's path)
                resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))
            except (OSError, ValueError):
                pass


def memlock_hint() -> str:
    """A note for EPERM messages when the rlimit may be what refused."""
    if not _state.charged:
        return ""
    import resource  # noqa: PLC0415 (see _charged)

    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft == resource.RLIM_INFINITY:
        return ""
    return (
        f"this kernel charges BPF memory to RLIMIT_MEMLOCK (as kernels before 5.11 do), "
        f"which is {soft} bytes and could not be raised (needs CAP_SYS_RESOURCE)"
    )
