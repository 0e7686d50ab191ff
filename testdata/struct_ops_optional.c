// struct_ops_optional: struct_ops maps in SEC("?.struct_ops") and
// SEC("?.struct_ops.link"), as the kernel's selftests write optional ones
// (struct_ops_autocreate.c, the bpf_qdisc tests): libbpf 1.4+ reads them as
// struct_ops maps it does not create unless asked (autocreate off), the second
// with BPF_F_LINK. Beside them, a map in plain ".struct_ops" that is created,
// sharing a program with the optional ones, and a program only an optional map
// holds. The struct is the kernel's struct tcp_congestion_ops, declared
// locally with only the members set (see struct_ops.c).
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

SEC("struct_ops/pybpf_opt_ssthresh")
u32 BPF_PROG(pybpf_opt_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops/pybpf_opt_undo_cwnd")
u32 BPF_PROG(pybpf_opt_undo_cwnd, struct sock *sk)
{
	return 4;
}

SEC("struct_ops/pybpf_opt_cong_avoid")
void BPF_PROG(pybpf_opt_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
}

SEC("struct_ops/pybpf_opt_init")
void BPF_PROG(pybpf_opt_init, struct sock *sk)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_opt_always = {
	.ssthresh = (void *)pybpf_opt_ssthresh,
	.cong_avoid = (void *)pybpf_opt_cong_avoid,
	.undo_cwnd = (void *)pybpf_opt_undo_cwnd,
	.name = "pybpf_opt_a",
};

SEC("?.struct_ops")
struct tcp_congestion_ops pybpf_opt_maybe = {
	.ssthresh = (void *)pybpf_opt_ssthresh,
	.cong_avoid = (void *)pybpf_opt_cong_avoid,
	.undo_cwnd = (void *)pybpf_opt_undo_cwnd,
	.init = (void *)pybpf_opt_init,
	.name = "pybpf_opt_m",
};

SEC("?.struct_ops.link")
struct tcp_congestion_ops pybpf_opt_link = {
	.ssthresh = (void *)pybpf_opt_ssthresh,
	.cong_avoid = (void *)pybpf_opt_cong_avoid,
	.undo_cwnd = (void *)pybpf_opt_undo_cwnd,
	.name = "pybpf_opt_l",
};

char _license[] SEC("license") = "GPL";
