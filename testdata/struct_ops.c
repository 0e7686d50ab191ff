// struct_ops: a TCP congestion control (the kernel's struct tcp_congestion_ops,
// declared locally with only the members set) in the ".struct_ops" section,
// registered by updating the map (5.6+), with its programs in
// "struct_ops/<name>" sections. The link flavour is in struct_ops_link.c.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned int u32;

struct sock;

struct tcp_congestion_ops {
	u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, u32 ack, u32 acked);
	u32 (*undo_cwnd)(struct sock *sk);
	void (*init)(struct sock *sk);
	u32 flags;
	char name[16];
};

SEC("struct_ops/pybpf_init")
void BPF_PROG(pybpf_init, struct sock *sk)
{
}

SEC("struct_ops/pybpf_ssthresh")
u32 BPF_PROG(pybpf_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops/pybpf_cong_avoid")
void BPF_PROG(pybpf_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
}

SEC("struct_ops/pybpf_undo_cwnd")
u32 BPF_PROG(pybpf_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_cc = {
	.init = (void *)pybpf_init,
	.ssthresh = (void *)pybpf_ssthresh,
	.cong_avoid = (void *)pybpf_cong_avoid,
	.undo_cwnd = (void *)pybpf_undo_cwnd,
	.name = "pybpf_cc",
};

char LICENSE[] SEC("license") = "GPL";
