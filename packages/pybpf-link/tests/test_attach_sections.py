"""Auto-attach reads sections as libbpf does: which call, which arguments, or why none."""

from __future__ import annotations

import pytest

from pybpf.link import AutoTarget, SectionNotAttachableError, auto_target

CASES = [
    (
        "tracepoint/syscalls/sys_enter_execve",
        AutoTarget("tracepoint", ("syscalls", "sys_enter_execve")),
    ),
    ("tp/sched/sched_switch", AutoTarget("tracepoint", ("sched", "sched_switch"))),
    ("raw_tp/sys_enter", AutoTarget("raw_tracepoint", ("sys_enter",))),
    ("raw_tracepoint/sched_switch", AutoTarget("raw_tracepoint", ("sched_switch",))),
    (
        "raw_tp.w/bpf_testmod_test_writable_bare",
        AutoTarget("raw_tracepoint", ("bpf_testmod_test_writable_bare",)),
    ),
    ("tp_btf/sched_switch", AutoTarget("tracing")),
    ("fentry/do_unlinkat", AutoTarget("tracing")),
    ("fexit.s/bpf_fentry_test1", AutoTarget("tracing")),
    ("fmod_ret/security_new_get_constant", AutoTarget("tracing")),
    ("lsm/file_open", AutoTarget("tracing")),
    ("lsm.s/bprm_committed_creds", AutoTarget("tracing")),
    ("freplace/handle_kprobe", AutoTarget("tracing")),
    ("iter/task", AutoTarget("iter")),
    ("iter.s/bpf_map_elem", AutoTarget("iter")),
    (
        "kprobe/do_unlinkat",
        AutoTarget("kprobe", ("do_unlinkat",), {"offset": 0, "retprobe": False}),
    ),
    (
        "kprobe/bpf_fentry_test1+0x4",
        AutoTarget("kprobe", ("bpf_fentry_test1",), {"offset": 4, "retprobe": False}),
    ),
    (
        "kretprobe/do_unlinkat",
        AutoTarget("kprobe", ("do_unlinkat",), {"offset": 0, "retprobe": True}),
    ),
    ("ksyscall/getpid", AutoTarget("ksyscall", ("getpid",), {"retprobe": False})),
    ("kretsyscall/kill", AutoTarget("ksyscall", ("kill",), {"retprobe": True})),
    (
        "kprobe.multi/bpf_fentry_test*",
        AutoTarget("kprobe_multi", (), {"pattern": "bpf_fentry_test*"}),
    ),
    (
        "kretprobe.multi/bpf_fentry_test?",
        AutoTarget("kprobe_multi", (), {"pattern": "bpf_fentry_test?", "retprobe": True}),
    ),
    (
        "kprobe.session/bpf_fentry_test*",
        AutoTarget("kprobe_multi", (), {"pattern": "bpf_fentry_test*", "session": True}),
    ),
    (
        "uprobe/libc.so.6:malloc",
        AutoTarget("uprobe", (), {"symbol": "malloc", "offset": 0, "retprobe": False}, "libc.so.6"),
    ),
    (
        "uretprobe//proc/self/exe:trigger_func2",
        AutoTarget(
            "uprobe",
            (),
            {"symbol": "trigger_func2", "offset": 0, "retprobe": True},
            "/proc/self/exe",
        ),
    ),
    (
        "uprobe.s//usr/bin/python3:main+0x10",
        AutoTarget(
            "uprobe", (), {"symbol": "main", "offset": 16, "retprobe": False}, "/usr/bin/python3"
        ),
    ),
    (
        "uprobe/libc.so.6:malloc@GLIBC_2.2.5",
        AutoTarget(
            "uprobe",
            (),
            {"symbol": "malloc@GLIBC_2.2.5", "offset": 0, "retprobe": False},
            "libc.so.6",
        ),
    ),
    (
        "uprobe//bin/true:0x1234",
        AutoTarget(
            "uprobe", (), {"symbol": None, "offset": 0x1234, "retprobe": False}, "/bin/true"
        ),
    ),
    (
        "uprobe.multi/libc.so.6:str*",
        AutoTarget("uprobe_multi", (), {"pattern": "str*"}, "libc.so.6"),
    ),
    (
        "uretprobe.multi.s//proc/self/exe:uprobe_multi_func_*",
        AutoTarget(
            "uprobe_multi",
            (),
            {"pattern": "uprobe_multi_func_*", "retprobe": True},
            "/proc/self/exe",
        ),
    ),
    ("usdt/libc.so.6:libc:setjmp", AutoTarget("usdt", ("libc", "setjmp"), binary="libc.so.6")),
    (
        "usdt//usr/bin/python3:python:function__entry",
        AutoTarget("usdt", ("python", "function__entry"), binary="/usr/bin/python3"),
    ),
]


@pytest.mark.parametrize(("section", "expected"), CASES, ids=[c[0] for c in CASES])
def test_section_names_its_target(section: str, expected: AutoTarget) -> None:
    assert auto_target(section) == expected


NO_TARGET = [
    ("xdp", "pybpf.link.xdp(prog, interface)"),
    ("xdp.frags", "pybpf.link.xdp(prog, interface)"),
    ("socket", "pybpf.link.socket_filter(prog, sock)"),
    ("cgroup_skb/ingress", "pybpf.link.cgroup(prog, cgroup)"),
    ("cgroup/connect4", "pybpf.link.cgroup(prog, cgroup)"),
    ("sockops", "pybpf.link.cgroup(prog, cgroup)"),
    ("tc", "pybpf.link.tcx(prog, interface)"),
    ("tcx/ingress", "pybpf.link.tcx(prog, interface)"),
    ("netkit/primary", "pybpf.link.netkit(prog, interface)"),
    ("sk_lookup", "pybpf.link.netns(prog, netns)"),
    ("sk_skb/stream_verdict", "pybpf.link.sockmap(prog, map)"),
    ("netfilter", "pybpf.link.netfilter("),
    ("struct_ops/dctcp_init", "pybpf.link.struct_ops("),
    ("kprobe", "pybpf.link.kprobe(prog, symbol)"),
    ("kretprobe/", "retprobe=True"),
    ("uprobe", "Executable(path).uprobe"),
    ("usdt", "Executable(path).usdt"),
    ("tp", "pybpf.link.tracepoint(prog, group, name)"),
    ("raw_tp", "pybpf.link.raw_tracepoint"),
    ("perf_event", "pybpf.link.perf_event"),
    ("syscall", "Program.run()"),
]


@pytest.mark.parametrize(("section", "call"), NO_TARGET, ids=[c[0] for c in NO_TARGET])
def test_section_without_target_names_the_explicit_call(section: str, call: str) -> None:
    with pytest.raises(SectionNotAttachableError) as e:
        auto_target(section)
    assert call in str(e.value)
    assert e.value.section == section
    assert not e.value.malformed


MALFORMED = [
    "tracepoint/sys_enter_execve",
    "kretprobe/do_unlinkat+8",
    "kprobe/foo:bar",
    "uprobe/libc.so.6",
    "uretprobe/libc.so.6:malloc+4",
    "usdt/libc.so.6:setjmp",
    "uprobe.multi/libc.so.6",
]


@pytest.mark.parametrize("section", MALFORMED)
def test_malformed_section_is_said(section: str) -> None:
    with pytest.raises(SectionNotAttachableError) as e:
        auto_target(section)
    assert e.value.malformed
