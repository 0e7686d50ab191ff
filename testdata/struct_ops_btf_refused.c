// struct_ops_btf_refused: a TCP congestion control (struct tcp_congestion_ops,
// local subset as in struct_ops.c) in an object whose BTF the 6.18 host
// refuses (EINVAL): pybpf_btf_refused_node holds a bpf_list_node, so the
// kernel checks its special fields when the BTF loads, and its referenced
// kptr points to struct sock, which the object only declares. libbpf loads
// an object's BTF whatever happens and fails only where the kernel needs it,
// struct_ops: "Error loading .BTF into kernel: -22. BTF is mandatory, can't
// proceed." (libbpf 1.1.2 and current libbpf alike). Kernels that do not
// check special fields at BTF load accept it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned int u32;

struct sock;

// The kernel finds its special types by name in the object's BTF.
struct bpf_list_node {
	__u64 __opaque[3];
} __attribute__((aligned(8)));

struct pybpf_btf_refused_node {
	struct sock __attribute__((btf_type_tag("kptr"))) *sk;
	struct bpf_list_node node;
};

// Only here to bring the struct into the BTF.
struct pybpf_btf_refused_node *pybpf_btf_refused_keep;

struct tcp_congestion_ops {
	u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, u32 ack, u32 acked);
	u32 (*undo_cwnd)(struct sock *sk);
	u32 flags;
	char name[16];
};

SEC("struct_ops/pybpf_br_ssthresh")
u32 BPF_PROG(pybpf_br_ssthresh, struct sock *sk)
{
	return 2;
}

SEC("struct_ops/pybpf_br_cong_avoid")
void BPF_PROG(pybpf_br_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
}

SEC("struct_ops/pybpf_br_undo_cwnd")
u32 BPF_PROG(pybpf_br_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_br_cc = {
	.ssthresh = (void *)pybpf_br_ssthresh,
	.cong_avoid = (void *)pybpf_br_cong_avoid,
	.undo_cwnd = (void *)pybpf_br_undo_cwnd,
	.name = "pybpf_br_cc",
};

char LICENSE[] SEC("license") = "GPL";
