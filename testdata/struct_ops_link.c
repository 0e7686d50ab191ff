// struct_ops in the ".struct_ops.link" section: the map is created with
// BPF_F_LINK and registered through a BPF link (6.4+). libbpf 1.1.2 ignores
// the section, so its programs have no struct_ops map and fail to load
// (ENOTSUPP, 524): only newer libbpf, ebpf-go and pybpf load this one.
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

SEC("struct_ops/pybpf_link_ssthresh")
u32 BPF_PROG(pybpf_link_ssthresh, struct sock *sk)
{
	return 4;
}

SEC("struct_ops/pybpf_link_cong_avoid")
void BPF_PROG(pybpf_link_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
}

SEC("struct_ops/pybpf_link_undo_cwnd")
u32 BPF_PROG(pybpf_link_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops pybpf_cc_link = {
	.ssthresh = (void *)pybpf_link_ssthresh,
	.cong_avoid = (void *)pybpf_link_cong_avoid,
	.undo_cwnd = (void *)pybpf_link_undo_cwnd,
	.name = "pybpf_cc_link",
};

char LICENSE[] SEC("license") = "GPL";
