"""Run one command inside a row's kernel, or open a shell there.

    python -m kernels.vm 6.1 -- python3 -c 'print(1)'   # run, stream, return its code
    python -m kernels.vm 6.1 --shell                   # a shell in the guest
    python -m kernels.vm host -- pytest ...             # the host row: no VM

The guest sees the host's root read-only and the checkout read-write, each at
its own path, so a venv made on the host in the checkout runs unchanged inside.
Exit status: the command's; 124 on timeout, 125 when the VM itself failed, 130
when interrupted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import cache, fetch, guestinit, initramfs, manifest, qemu

CHECKOUT = Path(__file__).resolve().parent.parent
# Folders the guest gives its own tmpfs: host paths below them are hidden unless shared.
GUEST_TMPFS = ("/tmp", "/var/tmp", "/run")
# Loaded in every guest (when the kernel has it): nf_conntrack gives 6.1+ guests
# module BTF even where virtio is built in, and the conntrack kfuncs BPF programs
# call; kvm is the module with per-CPU variables, for typed ksyms in modules.
DEFAULT_MODULES = ("nf_conntrack", "kvm")
# Host variables worth carrying into the guest's command.
FORWARDED_ENV = ("PATH", "TERM", "CI", "NO_COLOR", "FORCE_COLOR", "COLUMNS")


def _hidden_in_guest(path: Path) -> bool:
    return any(path == Path(t) or Path(t) in path.parents for t in GUEST_TMPFS)


def shares_for(paths: list[Path]) -> list[guestinit.Share]:
    """Root read-only, the checkout read-write, and any needed path the guest's tmpfs hides."""
    shares = [
        guestinit.Share("root", "/", readonly=True),
        guestinit.Share("checkout", str(CHECKOUT), readonly=False),
    ]
    for path in paths:
        covered = any(path == Path(s.path) or Path(s.path) in path.parents for s in shares[1:])
        if _hidden_in_guest(path) and not covered:
            shares.append(guestinit.Share(f"extra{len(shares)}", str(path), readonly=True))
    return shares


def cmdline(entry: cache.Entry) -> str:
    """The guest kernel's command line."""
    args = [
        "console=ttyS0",
        "quiet",
        "loglevel=1",
        # A crash in the guest's init ends the VM instead of hanging it.
        "panic=-1",
        "rdinit=/init",
        # The guest runs only our tests; skipping the mitigations saves emulated time.
        "mitigations=off",
        # Python's os.urandom must not wait for entropy that a TCG guest gathers slowly.
        "random.trust_cpu=on",
    ]
    lsm = entry.kconfig().get("CONFIG_LSM", "")
    if lsm and "bpf" not in lsm.split(","):
        args.append(f"lsm={lsm},bpf")
    return " ".join(args)


def _system_map(entry: cache.Entry) -> dict[str, str]:
    found = sorted(entry.base.glob(f"boot/System.map-{entry.release}"))
    found += sorted(entry.path(entry.modules).glob("System.map"))
    return {f"System.map-{entry.release}": str(found[0])} if found else {}


def _guest_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PYBPF_")})
    env.update(extra)
    return env


def check_tools() -> None:
    """Raise a VMError naming what to install when qemu, virtiofsd or busybox is missing.

    Checked before a kernel is fetched: a missing tool should not cost a download first.
    """
    qemu.qemu_binary()
    qemu.virtiofsd_binary()
    try:
        initramfs.busybox()
    except initramfs.InitramfsError as e:
        raise qemu.VMError(str(e)) from None


def run_in_vm(
    row: manifest.Row,
    command: list[str] | None,
    *,
    cwd: Path,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    modules: list[str] | None = None,
    memory_mib: int = 1024,
    cpus: int = 2,
    timings: dict[str, float] | None = None,
    raise_memlock: bool = True,
    single_threaded: bool = False,
) -> int:
    """Boot `row`'s kernel, run `command` (None: a shell) in `cwd`, return its exit code.

    `single_threaded` emulates every vCPU on one host thread (see qemu.Machine).
    """
    check_tools()
    entry = fetch.fetch(row)
    python_prefix = Path(sys.executable).resolve().parent.parent
    shares = shares_for([cache.root(), python_prefix, cwd.resolve()])
    if _hidden_in_guest(cwd.resolve()) and not any(Path(s.path) == cwd for s in shares):
        shares.append(guestinit.Share(f"extra{len(shares)}", str(cwd.resolve()), readonly=False))
    marker = f"PYBPF-EXIT-{secrets.token_hex(4)}"
    size = shutil.get_terminal_size() if command is None and sys.stdout.isatty() else None
    plan = guestinit.Plan(
        hostname=f"pybpf-{row.name.replace('.', '-')}",
        shares=shares,
        modules_base=str(entry.base),
        cwd=str(cwd.resolve()),
        command=command,
        marker=marker,
        env=_guest_env(env or {}),
        modules=[*DEFAULT_MODULES, *(modules or [])],
        terminal_size=(size.columns, size.lines) if size else None,
        raise_memlock=raise_memlock,
        boot_files={
            f"config-{entry.release}": str(entry.path(entry.config)),
            **_system_map(entry),
        },
    )
    with tempfile.TemporaryDirectory(prefix="pybpf-vm-") as tmp:
        workdir = Path(tmp)
        initrd = workdir / "initrd.cpio"
        initrd.write_bytes(
            initramfs.build(
                entry.path(entry.modules),
                guestinit.stage1(plan),
                {"stage2": guestinit.stage2(plan)},
            )
        )
        machine = qemu.Machine(
            kernel=entry.path(entry.vmlinuz),
            initrd=initrd,
            cmdline=cmdline(entry),
            shares=shares,
            workdir=workdir,
            memory_mib=memory_mib,
            cpus=cpus,
            single_threaded=single_threaded,
        )
        return qemu.run(
            machine, marker, timeout=timeout, interactive=command is None, timings=timings
        )


def run_on_host(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> int:
    """The host row: the same command on this machine's kernel."""
    try:
        return subprocess.run(
            command, check=False, cwd=cwd, env={**os.environ, **(env or {})}
        ).returncode
    except KeyboardInterrupt:
        return qemu.EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Command line: run a command in a row's kernel."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(__doc__ or "").split("\n\n", 1)[-1],
    )
    parser.add_argument("row", help="a row of kernels/matrix.toml, e.g. 6.1")
    parser.add_argument("--shell", action="store_true", help="an interactive shell instead")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before giving up")
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="where the command runs")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--module", action="append", default=[], help="modprobe this first")
    parser.add_argument("--memory", type=int, default=1024, help="guest memory in MiB")
    parser.add_argument("--cpus", type=int, default=2, help="guest CPUs")
    parser.add_argument(
        "--single-threaded",
        action="store_true",
        help="emulate every guest CPU on one host thread (slower; as a crashed row's retry)",
    )
    parser.add_argument(
        "--keep-memlock",
        action="store_true",
        help="leave RLIMIT_MEMLOCK at the kernel's default (tests the library's own raise)",
    )
    argv = sys.argv[1:] if argv is None else argv
    # Everything after the first `--` is the command, options included.
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    args.command = argv[split + 1 :]
    if bool(args.command) == args.shell:
        parser.error("give a command after --, or --shell")
    malformed = [item for item in args.env if "=" not in item or item.startswith("=")]
    if malformed:
        parser.error(f"--env takes NAME=VALUE, not {malformed[0]!r}")
    env = dict(item.split("=", 1) for item in args.env)
    try:
        row = manifest.row(args.row)
        if row.is_host:
            if args.shell:
                parser.error("the host row has no VM: use your own shell")
            return run_on_host(args.command, cwd=args.cwd, env=env)
        return run_in_vm(
            row,
            None if args.shell else args.command,
            cwd=args.cwd,
            timeout=args.timeout,
            env=env,
            modules=args.module,
            memory_mib=args.memory,
            cpus=args.cpus,
            raise_memlock=not args.keep_memlock,
            single_threaded=args.single_threaded,
        )
    except (manifest.ManifestError, fetch.FetchError, qemu.VMError, initramfs.InitramfsError) as e:
        print(f"vm: error: {e}", file=sys.stderr)
        return qemu.EXIT_VM_ERROR


if __name__ == "__main__":
    sys.exit(main())
