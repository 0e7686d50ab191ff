"""Start virtiofsd and qemu for one guest, stream its console, and always clean up.

Every child gets PR_SET_PDEATHSIG, so it dies with this process even if this
process is killed outright; on any other way out (exit, failure, timeout,
Ctrl-C, SIGTERM) the children are terminated, then killed, and waited for.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from .guestinit import Share

QEMU = "qemu-system-x86_64"
# Debian ships the C virtiofsd inside qemu-system-common up to bookworm and the
# Rust one as its own package (`virtiofsd`) from trixie on.
VIRTIOFSD_CANDIDATES = ("/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd")
_PR_SET_PDEATHSIG = 1

EXIT_TIMEOUT = 124
EXIT_VM_ERROR = 125
EXIT_INTERRUPTED = 130


class VMError(RuntimeError):
    """The VM could not be started, or ended without reporting an exit code."""


class GuestStopped(VMError):
    """The guest stopped without reporting an exit code: its kernel crashed, or qemu did."""


class _Terminated(Exception):
    pass


@dataclass
class Machine:
    """How to boot one guest."""

    kernel: Path
    initrd: Path
    cmdline: str
    shares: list[Share]
    workdir: Path
    memory_mib: int = 1024
    cpus: int = 2
    # One host thread runs every vCPU in turn. Slower, but a vCPU then never runs
    # code another vCPU is patching (multi-threaded TCG has crashed kernels
    # while they patch their own text).
    single_threaded: bool = False


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """In a child, before exec: have the kernel send it `signum` when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)


def qemu_binary() -> str:
    """The qemu executable, or a VMError saying how to install it."""
    path = shutil.which(QEMU)
    if not path:
        raise VMError(f"{QEMU} not found: install qemu-system-x86 (tools/setup.sh does)")
    return path


def virtiofsd_binary() -> Path:
    """The virtiofsd executable, or a VMError saying how to install it."""
    for candidate in VIRTIOFSD_CANDIDATES:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise VMError(
        "virtiofsd not found in "
        + ", ".join(VIRTIOFSD_CANDIDATES)
        + ": install qemu-system-common (bookworm) or virtiofsd (trixie and later)"
    )


def _virtiofsd_args(binary: Path, socket: Path, source: str) -> list[str]:
    help_text = subprocess.run(
        [str(binary), "--help"], capture_output=True, text=True, check=False
    ).stdout
    if "--shared-dir" in help_text:  # the Rust implementation
        return [
            str(binary),
            f"--socket-path={socket}",
            f"--shared-dir={source}",
            "--cache=always",
            "--sandbox=chroot",
        ]
    return [
        str(binary),
        f"--socket-path={socket}",
        "-o",
        f"source={source}",
        "-o",
        "cache=always",
        "-o",
        "sandbox=chroot",
        "-o",
        "log_level=err",
    ]


def _qemu_args(machine: Machine, sockets: list[Path], interactive: bool) -> list[str]:
    mem = f"{machine.memory_mib}M"
    args = [
        qemu_binary(),
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-display",
        "none",
        "-accel",
        "tcg,thread=single" if machine.single_threaded else "tcg,thread=multi",
        "-cpu",
        "max",
        "-smp",
        str(machine.cpus),
        "-m",
        mem,
        # vhost-user devices need the guest's memory shared with virtiofsd.
        "-object",
        f"memory-backend-memfd,id=mem,size={mem},share=on",
        "-numa",
        "node,memdev=mem",
        "-kernel",
        str(machine.kernel),
        "-initrd",
        str(machine.initrd),
        "-append",
        machine.cmdline,
        "-serial",
        "mon:stdio" if interactive else "stdio",
    ]
    for i, (share, socket) in enumerate(zip(machine.shares, sockets, strict=True)):
        args += [
            "-chardev",
            f"socket,id=fs{i},path={socket}",
            "-device",
            f"vhost-user-fs-pci,chardev=fs{i},tag={share.tag}",
        ]
    return args


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _ConsoleFilter:
    """Console bytes in, text to print out; the exit-code marker line is taken out."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.exit_code: int | None = None
        self.error: str | None = None
        self._line = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes) -> str:
        out = []
        text = self._line + self._decoder.decode(data).replace("\r", "")
        *complete, self._line = text.split("\n")
        for line in complete:
            if line.startswith(self.marker + "-ERROR: "):
                self.error = line.split(": ", 1)[1]
                out.append(f"vm: guest init failed: {self.error}\n")
            elif line.startswith(self.marker + "="):
                with contextlib.suppress(ValueError):
                    self.exit_code = int(line.split("=", 1)[1])
            else:
                out.append(line + "\n")
        # Stream a partial line (pytest's progress dots) unless it may be the marker.
        if self._line and not self.marker.startswith(self._line[: len(self.marker)]):
            out.append(self._line)
            self._line = ""
        return "".join(out)


def run(
    machine: Machine,
    marker: str,
    *,
    timeout: float | None,
    interactive: bool,
    timings: dict[str, float] | None = None,
) -> int:
    """Boot the guest, stream its console to stdout, and return the command's exit code.

    `timings`, if given, receives "first_output": seconds from starting qemu to
    the guest's first line, which is the boot time plus the command's start.
    """
    binary = virtiofsd_binary()
    qemu_binary()
    children: list[subprocess.Popen[bytes]] = []
    log_path = machine.workdir / "host.log"
    with log_path.open("wb") as log, _sigterm_raises():
        try:
            sockets = []
            for share in machine.shares:
                socket = machine.workdir / f"{share.tag}.sock"
                children.append(
                    subprocess.Popen(
                        _virtiofsd_args(binary, socket, share.path),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        # Its own process group: a Ctrl-C reaches only us, and we stop it.
                        process_group=0,
                        preexec_fn=die_with_parent,  # noqa: PLW1509 (this process starts no threads)
                    )
                )
                sockets.append(socket)
            _wait_for_sockets(sockets, children, log_path)
            qemu = subprocess.Popen(
                _qemu_args(machine, sockets, interactive),
                stdin=None if interactive else subprocess.DEVNULL,
                stdout=None if interactive else subprocess.PIPE,
                stderr=log,
                # Interactive qemu must stay in the terminal's foreground group to read it.
                process_group=None if interactive else 0,
                preexec_fn=die_with_parent,  # noqa: PLW1509 (this process starts no threads)
            )
            children.append(qemu)
            if interactive:
                # The terminal is raw while qemu runs: Ctrl-C goes to the guest.
                with _ignoring(signal.SIGINT):
                    qemu.wait()
                return 0
            return _stream(qemu, marker, timeout, log_path, timings if timings is not None else {})
        except KeyboardInterrupt:
            print("\nvm: interrupted; stopping the VM", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        except _Terminated:
            print("vm: terminated; stopping the VM", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        finally:
            for child in reversed(children):
                _stop(child)


@contextlib.contextmanager
def _ignoring(signum: int) -> Iterator[None]:
    previous = signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signum, previous)


def _wait_for_sockets(
    sockets: list[Path], children: list[subprocess.Popen[bytes]], log_path: Path
) -> None:
    deadline = time.monotonic() + 15
    while not all(s.exists() for s in sockets):
        if any(c.poll() is not None for c in children) or time.monotonic() > deadline:
            raise VMError("virtiofsd did not start:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.02)


def _stream(
    qemu: subprocess.Popen[bytes],
    marker: str,
    timeout: float | None,
    log_path: Path,
    timings: dict[str, float],
) -> int:
    assert qemu.stdout is not None
    console = _ConsoleFilter(marker)
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    fd = qemu.stdout.fileno()
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            print(f"\nvm: timed out after {timeout:.0f}s; stopping the VM", flush=True)
            return EXIT_TIMEOUT
        data = os.read(fd, 65536)
        if not data:
            break
        timings.setdefault("first_output", time.monotonic() - start)
        sys.stdout.write(console.feed(data))
        sys.stdout.flush()
        if console.exit_code is not None:
            break
    # The marker is the guest's last word; don't wait for the power-off.
    if console.exit_code is not None:
        return console.exit_code
    qemu.wait()
    details = log_path.read_text(errors="replace").strip()
    raise GuestStopped(
        f"the guest stopped without an exit code (qemu exited {qemu.returncode})"
        + (f": {console.error}" if console.error else "")
        + (f"\n{details}" if details else "")
    )
