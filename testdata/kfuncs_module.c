// kfuncs of a kernel module: nf_conntrack's (loaded in every VM guest).
// ct_lookup calls bpf_xdp_ct_lookup and bpf_ct_release (BPF_PSEUDO_KFUNC_CALL
// with the module BTF fd's index in fd_array as offset), and a weak kfunc no
// kernel has, behind bpf_ksym_exists(): the load of its address is 0 and its
// call, poisoned, is dead code. ct_exists takes bpf_ksym_exists() of a weak
// module kfunc: an LD_IMM64 of its BTF id and the module BTF fd (6.4+).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// libbpf 1.2's macro; Debian bookworm's headers (libbpf 1.1.2) lack it.
#define bpf_ksym_exists(sym) (!!(sym))

typedef unsigned int u32;
typedef int s32;
typedef unsigned char u8;

struct nf_conn {
	unsigned long status;
};

// The 12-byte layout every kernel with these kfuncs takes.
struct bpf_ct_opts {
	s32 netns_id;
	s32 error;
	u8 l4proto;
	u8 dir;
	u8 reserved[2];
};

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					 u32 tuple_len, struct bpf_ct_opts *opts,
					 u32 opts_len) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;
extern struct nf_conn *bpf_xdp_ct_alloc(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					u32 tuple_len, struct bpf_ct_opts *opts,
					u32 opts_len) __ksym __weak;
extern void pybpf_no_such_kfunc(void) __ksym __weak;

u32 found, exists, missing;

SEC("xdp")
int ct_lookup(struct xdp_md *ctx)
{
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = 6 };
	struct bpf_sock_tuple tuple = {};
	struct nf_conn *ct;

	tuple.ipv4.saddr = 0x0100007f;
	tuple.ipv4.daddr = 0x0100007f;
	tuple.ipv4.sport = 0x5000;
	tuple.ipv4.dport = 0x5100;
	if (bpf_ksym_exists(pybpf_no_such_kfunc)) {
		pybpf_no_such_kfunc();
		missing = 1;
	}
	ct = bpf_xdp_ct_lookup(ctx, &tuple, sizeof(tuple.ipv4), &opts, sizeof(opts));
	if (ct) {
		found = 1;
		bpf_ct_release(ct);
		return XDP_PASS;
	}
	return opts.error == -2 ? XDP_DROP : XDP_ABORTED;
}

SEC("xdp")
int ct_exists(struct xdp_md *ctx)
{
	exists = bpf_ksym_exists(bpf_xdp_ct_alloc);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
