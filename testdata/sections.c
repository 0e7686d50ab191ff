// One program per libbpf section form (program type and attach type come from
// the section name), plus: "?"-prefixed sections (autoload off), several
// programs in one section, a subprogram shared by programs of different
// sections, a bpf_loop callback (BPF_PSEUDO_FUNC), "license" and "version".
// Section names newer than libbpf 1.1.2 are marked NEW: 1.1.2 opens the object
// but cannot tell their type (README.md lists what it says for each).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SK_PASS 1
#define NF_ACCEPT 1

typedef unsigned int u32;

/* Shared by programs in several sections: one copy per program after loading. */
static __noinline int shared_subprog(u32 x)
{
	return x & 1;
}

static int loop_step(u32 index, void *ctx)
{
	*(u32 *)ctx += index;
	return 0;
}

SEC("socket")
int socket_one(struct __sk_buff *skb)
{
	return shared_subprog(skb->len);
}

/* Two more programs in the same section. */
SEC("socket")
int socket_two(struct __sk_buff *skb)
{
	return shared_subprog(skb->mark);
}

SEC("socket")
int socket_loop(struct __sk_buff *skb)
{
	u32 sum = 0;

	bpf_loop(8, loop_step, &sum, 0);
	return sum;
}

SEC("?socket")
int socket_no_autoload(struct __sk_buff *skb)
{
	return 0;
}

/* Tracing: kprobes, uprobes, tracepoints. */
SEC("kprobe/do_unlinkat")
int kprobe_unlinkat(void *ctx) { return 0; }
SEC("kretprobe/do_unlinkat")
int kretprobe(void *ctx) { return 0; }
SEC("kprobe")
int kprobe_bare(void *ctx) { return 0; }
SEC("kprobe.multi/do_unlinkat")
int kprobe_multi(void *ctx) { return 0; }
SEC("kretprobe.multi/do_unlink*")
int kretprobe_multi(void *ctx) { return 0; }
SEC("ksyscall/getpid")
int ksyscall(void *ctx) { return 0; }
SEC("kretsyscall/getpid")
int kretsyscall(void *ctx) { return 0; }
SEC("uprobe/libc.so.6:malloc")
int uprobe(void *ctx) { return 0; }
SEC("uretprobe/libc.so.6:malloc")
int uretprobe(void *ctx) { return 0; }
SEC("uprobe.s/libc.so.6:free")
int uprobe_sleepable(void *ctx) { return 0; }
SEC("uretprobe.s/libc.so.6:free")
int uretprobe_sleepable(void *ctx) { return 0; }
SEC("uprobe.multi/libc.so.6:mem*") /* NEW (libbpf 1.3) */
int uprobe_multi(void *ctx) { return 0; }
SEC("usdt/libc.so.6:libc:setjmp")
int usdt(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint(void *ctx) { return 0; }
SEC("tp/sched/sched_process_exec")
int tp(void *ctx) { return 0; }
SEC("raw_tracepoint/sched_switch")
int raw_tracepoint(void *ctx) { return 0; }
SEC("raw_tp/sys_enter")
int raw_tp(void *ctx) { return 0; }
SEC("raw_tp.w/sys_enter")
int raw_tp_writable(void *ctx) { return 0; }
SEC("tp_btf/sched_wakeup")
int tp_btf(void *ctx) { return 0; }
SEC("perf_event")
int perf_event_prog(void *ctx) { return 0; }

/* BTF-attached tracing: fentry & co, LSM, iterators. */
SEC("fentry/bpf_fentry_test1")
int fentry(void *ctx) { return 0; }
SEC("fexit/bpf_fentry_test1")
int fexit(void *ctx) { return 0; }
SEC("fmod_ret/security_file_open")
int fmod_ret(void *ctx) { return 0; }
SEC("fentry.s/__x64_sys_getpgid")
int fentry_sleepable(void *ctx) { return 0; }
SEC("lsm/file_open")
int lsm(void *ctx) { return 0; }
SEC("lsm.s/file_open")
int lsm_sleepable(void *ctx) { return 0; }
SEC("lsm_cgroup/socket_bind")
int lsm_cgroup(void *ctx) { return 1; }
SEC("iter/task")
int iter(void *ctx) { return 0; }
SEC("iter.s/task")
int iter_sleepable(void *ctx) { return 0; }
/* Replaces socket_one once the loader is given that program as target. */
SEC("freplace/socket_one")
int freplace(struct __sk_buff *skb) { return 0; }
SEC("syscall")
int syscall_prog(void *ctx) { return 0; }

/* XDP. */
SEC("xdp")
int xdp_prog(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp")
int xdp_second(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp.frags")
int xdp_frags(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp/devmap")
int xdp_devmap(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp/cpumap")
int xdp_cpumap(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp.frags/devmap")
int xdp_frags_devmap(struct xdp_md *ctx) { return XDP_PASS; }
SEC("?xdp")
int xdp_no_autoload(struct xdp_md *ctx) { return XDP_PASS; }

/* Traffic control and friends. */
SEC("tc")
int tc_prog(struct __sk_buff *skb) { return shared_subprog(skb->len); }
SEC("tc/ingress") /* NEW (libbpf 1.3, tcx) */
int tc_ingress(struct __sk_buff *skb) { return 0; }
SEC("tcx/ingress") /* NEW (libbpf 1.3) */
int tcx_ingress(struct __sk_buff *skb) { return 0; }
SEC("tcx/egress") /* NEW (libbpf 1.3) */
int tcx_egress(struct __sk_buff *skb) { return 0; }
SEC("netkit/primary") /* NEW (libbpf 1.3) */
int netkit_primary(struct __sk_buff *skb) { return 0; }
SEC("netkit/peer") /* NEW (libbpf 1.3) */
int netkit_peer(struct __sk_buff *skb) { return 0; }
SEC("classifier")
int classifier_prog(struct __sk_buff *skb) { return 0; }
SEC("action")
int action_prog(struct __sk_buff *skb) { return 0; }
SEC("netfilter") /* NEW (libbpf 1.2) */
int netfilter_prog(void *ctx) { return NF_ACCEPT; }

/* Lightweight tunnels, flow dissector, infrared. */
SEC("lwt_in")
int lwt_in_prog(struct __sk_buff *skb) { return BPF_OK; }
SEC("lwt_out")
int lwt_out_prog(struct __sk_buff *skb) { return BPF_OK; }
SEC("lwt_xmit")
int lwt_xmit_prog(struct __sk_buff *skb) { return BPF_OK; }
SEC("lwt_seg6local")
int lwt_seg6local_prog(struct __sk_buff *skb) { return BPF_OK; }
SEC("flow_dissector")
int flow_dissector_prog(struct __sk_buff *skb) { return BPF_OK; }
SEC("lirc_mode2")
int lirc_mode2_prog(unsigned int *sample) { return 0; }

/* Cgroups. */
SEC("cgroup_skb/ingress")
int cgroup_skb_ingress(struct __sk_buff *skb) { return shared_subprog(skb->len) | 1; }
SEC("cgroup_skb/egress")
int cgroup_skb_egress(struct __sk_buff *skb) { return 1; }
SEC("cgroup/skb")
int cgroup_skb(struct __sk_buff *skb) { return 1; }
SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk) { return 1; }
SEC("cgroup/sock_release")
int sock_release(struct bpf_sock *sk) { return 1; }
SEC("cgroup/sock")
int sock(struct bpf_sock *sk) { return 1; }
SEC("cgroup/post_bind4")
int post_bind4(struct bpf_sock *sk) { return 1; }
SEC("cgroup/post_bind6")
int post_bind6(struct bpf_sock *sk) { return 1; }
SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/bind6")
int bind6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect_unix") /* NEW (libbpf 1.3) */
int connect_unix(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/recvmsg4")
int recvmsg4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/recvmsg6")
int recvmsg6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/getpeername4")
int getpeername4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/getpeername6")
int getpeername6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/getsockname4")
int getsockname4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/getsockname6")
int getsockname6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sysctl")
int sysctl(struct bpf_sysctl *ctx) { return 1; }
SEC("cgroup/getsockopt")
int getsockopt(struct bpf_sockopt *ctx) { return 1; }
SEC("cgroup/setsockopt")
int setsockopt(struct bpf_sockopt *ctx) { return 1; }
SEC("cgroup/dev")
int dev(struct bpf_cgroup_dev_ctx *ctx) { return 1; }
SEC("sockops")
int sockops_prog(struct bpf_sock_ops *ctx) { return 1; }

/* Sockets. */
SEC("sk_skb/stream_parser")
int stream_parser(struct __sk_buff *skb) { return skb->len; }
SEC("sk_skb/stream_verdict")
int stream_verdict(struct __sk_buff *skb) { return SK_PASS; }
SEC("sk_skb")
int sk_skb_prog(struct __sk_buff *skb) { return SK_PASS; }
SEC("sk_msg")
int sk_msg_prog(struct sk_msg_md *msg) { return SK_PASS; }
SEC("sk_lookup")
int sk_lookup_prog(struct bpf_sk_lookup *ctx) { return SK_PASS; }
SEC("sk_reuseport")
int sk_reuseport_prog(struct sk_reuseport_md *ctx) { return SK_PASS; }
SEC("sk_reuseport/migrate")
int sk_reuseport_migrate(struct sk_reuseport_md *ctx) { return SK_PASS; }

char LICENSE[] SEC("license") = "GPL";
/* The version section, as pre-5.0 kprobe loaders required (here: 5.10.0). */
unsigned int VERSION SEC("version") = 0x050a00;
