"""The guest's two init stages, rendered as shell scripts.

Stage 1 is /init in the initramfs (busybox): it loads the boot modules, mounts
the host's root read-only and the other shares, gives the guest its own tmpfs
for /tmp, /var/tmp and /run, and switches root. Stage 2 runs on the host's
files (the host's /bin/sh): it mounts what BPF needs (bpffs, tracefs, debugfs,
cgroup2), makes modprobe use the fetched kernel's modules, runs the one
command, prints the exit-code marker and powers the guest off.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

STAGE2_PATH = "/run/pybpf/stage2"
MODPROBE_WRAPPER = "/run/pybpf/bin/modprobe"


@dataclass(frozen=True)
class Share:
    """A host folder the guest mounts over virtiofs at the same path."""

    tag: str
    path: str
    readonly: bool


@dataclass
class Plan:
    """Everything the guest needs to know to run one command."""

    hostname: str
    shares: list[Share]
    modules_base: str
    cwd: str
    command: list[str] | None
    marker: str
    env: dict[str, str] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    terminal_size: tuple[int, int] | None = None
    raise_memlock: bool = True
    # Files the guest finds in its own /boot: name -> host path (the kernel's config,
    # read by libbpf-style kconfig resolution as /boot/config-$(uname -r)).
    boot_files: dict[str, str] = field(default_factory=dict)


def _q(value: str) -> str:
    return shlex.quote(value)


def stage1(plan: Plan) -> str:
    """/init of the initramfs."""
    lines = [
        "#!/bin/busybox sh",
        "/bin/busybox --install -s /bin",
        "export PATH=/bin",
        "fail() {",
        f'  echo "{plan.marker}-ERROR: $*"',
        "  echo o > /proc/sysrq-trigger",
        "  sleep 10",
        "}",
        "mount -t proc proc /proc",
        "mount -t sysfs sysfs /sys",
        "mount -t devtmpfs devtmpfs /dev",
        'for m in /modules/*.ko; do [ -e "$m" ] || continue; insmod "$m" || fail "insmod $m"; done',
        "mount -t virtiofs -o ro root /newroot || fail 'mounting the host root'",
        "mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || fail 'tmpfs on /tmp'",
        "mount -t tmpfs -o mode=1777 tmpfs /newroot/var/tmp || fail 'tmpfs on /var/tmp'",
        "mount -t tmpfs -o mode=755 tmpfs /newroot/run || fail 'tmpfs on /run'",
    ]
    for share in sorted(plan.shares, key=lambda s: s.path.count("/")):
        if share.tag == "root":
            continue
        target = _q("/newroot" + share.path)
        opts = "-o ro " if share.readonly else ""
        lines += [
            f"mkdir -p {target} 2>/dev/null",
            f"mount -t virtiofs {opts}{share.tag} {target} || fail 'mounting {share.path}'",
        ]
    lines += [
        "mkdir -p /newroot/run/pybpf/bin",
        f"cp /stage2 /newroot{STAGE2_PATH}",
        'for fs in dev proc sys; do mount --move /$fs /newroot/$fs || fail "moving /$fs"; done',
        f"exec switch_root /newroot /bin/sh {STAGE2_PATH}",
        "",
    ]
    return "\n".join(lines)


def stage2(plan: Plan) -> str:
    """The script PID 1 runs once on the host's files."""
    lines = [
        "#!/bin/sh",
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        # Soft failures: a kernel without one of these still runs the tests, which
        # then skip with their own reasons.
        "mount -t bpf bpf /sys/fs/bpf 2>/dev/null",
        "mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null",
        "mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null",
        "mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null",
        "mount -t securityfs securityfs /sys/kernel/security 2>/dev/null",
        "mkdir -p /dev/pts /dev/shm",
        "mount -t devpts -o ptmxmode=666 devpts /dev/pts 2>/dev/null",
        "mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null",
        # The fetched kernel's modules live in the cache, not in /lib/modules: every
        # modprobe, the kernel's own requests included, goes through this wrapper.
        f"cat > {MODPROBE_WRAPPER} <<'EOF'",
        "#!/bin/sh",
        f'exec /sbin/modprobe -d {_q(plan.modules_base)} "$@"',
        "EOF",
        f"chmod 755 {MODPROBE_WRAPPER}",
        f"echo {MODPROBE_WRAPPER} > /proc/sys/kernel/modprobe",
        f"hostname {_q(plan.hostname)}",
    ]
    if plan.boot_files:
        lines.append("mount -t tmpfs -o mode=755 tmpfs /boot 2>/dev/null")
        lines += [f"cp {_q(src)} /boot/{_q(name)}" for name, src in sorted(plan.boot_files.items())]
    lines += [
        "ulimit -n 65536 2>/dev/null",
    ]
    if plan.raise_memlock:
        # Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK (64 KiB by default).
        lines.append("ulimit -l unlimited")
    for module in plan.modules:
        lines.append(f"{MODPROBE_WRAPPER} {_q(module)} || echo 'vm: could not load {module}'")
    env = {"HOME": "/root", "LANG": "C.UTF-8", **plan.env}
    env["PATH"] = "/run/pybpf/bin:" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    lines += [f"export {k}={_q(v)}" for k, v in sorted(env.items()) if k.isidentifier()]
    lines.append(f"cd {_q(plan.cwd)} || cd /")
    if plan.command is None:
        if plan.terminal_size:
            cols, rows = plan.terminal_size
            lines.append(f"stty cols {cols} rows {rows} < /dev/ttyS0 2>/dev/null")
        lines += [
            "echo 'vm: a shell in the guest; exit it (or Ctrl-A x) to stop the VM'",
            "setsid -c /bin/bash -i <>/dev/ttyS0 >&0 2>&0",
        ]
    else:
        lines.append(f"{shlex.join(plan.command)} </dev/null")
    lines += [
        "rc=$?",
        # Everything the command wrote is on the host before the host stops the VM.
        "sync",
        f'echo "{plan.marker}=$rc"',
        "echo o > /proc/sysrq-trigger",
        "sleep 10",
        "",
    ]
    return "\n".join(lines)
