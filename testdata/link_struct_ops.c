// The link layer's struct_ops tests: two BPF TCP congestion controls (the
// kernel's struct tcp_congestion_ops, declared locally with only the members
// set), one in ".struct_ops" (registered by the map update, 5.6+) and one in
// ".struct_ops.link" (registered by a BPF link, 6.4+). init counts the
// connections that chose them; the rest keeps a fixed window.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct sock;

struct tcp_congestion_ops {
	u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, u32 ack, u32 acked);
	u32 (*undo_cwnd)(struct sock *sk);
	void (*init)(struct sock *sk);
	char name[16];
};

u64 inits = 0;
u64 link_inits = 0;

SEC("struct_ops/cc_init")
void BPF_PROG(cc_init, struct sock *sk)
{
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops/cc_link_init")
void BPF_PROG(cc_link_init, struct sock *sk)
{
	__sync_fetch_and_add(&link_inits, 1);
}

SEC("struct_ops/cc_ssthresh")
u32 BPF_PROG(cc_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops/cc_cong_avoid")
void BPF_PROG(cc_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
}

SEC("struct_ops/cc_undo_cwnd")
u32 BPF_PROG(cc_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_plain = {
	.init = (void *)cc_init,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "pybpf_plain",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops pybpf_linked = {
	.init = (void *)cc_link_init,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "pybpf_linked",
};

char LICENSE[] SEC("license") = "GPL";
