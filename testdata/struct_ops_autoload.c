// struct_ops programs in SEC("?struct_ops/..."): current libbpf
// (bpf_object_adjust_struct_ops_autoload, 1.4+) loads a struct_ops program
// that a created struct_ops map holds, whatever its "?" says, and leaves off
// one that only maps left uncreated hold. A "?" program no map holds keeps
// its autoload off. The struct is the kernel's tcp_congestion_ops, declared
// locally with only the members set (see struct_ops.c). libbpf 1.1.2 loads
// only the programs without "?" and fails to create the map (EINVAL).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned int u32;

struct sock;

struct tcp_congestion_ops {
	u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, u32 ack, u32 acked);
	u32 (*undo_cwnd)(struct sock *sk);
	u32 flags;
	char name[16];
};

SEC("?struct_ops/pybpf_al_ssthresh")
u32 BPF_PROG(pybpf_al_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops/pybpf_al_cong_avoid")
void BPF_PROG(pybpf_al_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
}

SEC("?struct_ops/pybpf_al_undo_cwnd")
u32 BPF_PROG(pybpf_al_undo_cwnd, struct sock *sk)
{
	return 4;
}

/* Held by no map: stays off. */
SEC("?struct_ops/pybpf_al_unused")
u32 BPF_PROG(pybpf_al_unused, struct sock *sk)
{
	return 8;
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_al_ops = {
	.ssthresh = (void *)pybpf_al_ssthresh,
	.cong_avoid = (void *)pybpf_al_cong_avoid,
	.undo_cwnd = (void *)pybpf_al_undo_cwnd,
	.name = "pybpf_autoload",
};

char _license[] SEC("license") = "GPL";
