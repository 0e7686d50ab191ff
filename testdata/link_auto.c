// Auto-attach conformance: one program per kind of section, each compared
// with what libbpf's bpf_program__attach does with it (link type, or refusal).
// Every program loads on the host kernel and on 5.10; what each attaches to
// depends on the kernel (kprobes: not on the host).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;

SEC("tracepoint/syscalls/sys_enter_getpid")
int tracepoint_full(void *ctx) { return 0; }

SEC("tp/syscalls/sys_enter_getppid")
int tp_short(void *ctx) { return 0; }

SEC("raw_tp/sys_enter")
int raw_tp_short(void *ctx) { return 0; }

SEC("raw_tracepoint/sys_exit")
int raw_tracepoint_full(void *ctx) { return 0; }

SEC("tp_btf/sched_switch")
int tp_btf(u64 *ctx) { return 0; }

SEC("uprobe//lib/x86_64-linux-gnu/libc.so.6:getpid")
int uprobe_libc(void *ctx) { return 0; }

SEC("uretprobe//lib/x86_64-linux-gnu/libc.so.6:getpid")
int uretprobe_libc(void *ctx) { return 0; }

SEC("kprobe/do_nanosleep")
int kprobe_func(void *ctx) { return 0; }

SEC("kretprobe/do_nanosleep")
int kretprobe_func(void *ctx) { return 0; }

SEC("ksyscall/getpid")
int ksyscall_getpid(void *ctx) { return 0; }

SEC("kprobe")
int kprobe_bare(void *ctx) { return 0; }

SEC("uprobe")
int uprobe_bare(void *ctx) { return 0; }

SEC("tracepoint")
int tracepoint_bare(void *ctx) { return 0; }

SEC("xdp")
int xdp_prog(struct xdp_md *ctx) { return XDP_PASS; }

SEC("socket")
int socket_prog(void *ctx) { return 0; }

SEC("cgroup_skb/ingress")
int cgroup_skb_prog(void *ctx) { return 1; }

SEC("tc")
int tc_prog(void *ctx) { return 0; }

SEC("perf_event")
int perf_event_prog(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
