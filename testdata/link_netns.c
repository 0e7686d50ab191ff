// The link layer's network-namespace tests: an sk_lookup program that hands
// connections to one port to the socket in a sockmap, and a flow dissector.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} target SEC(".maps");

// The port whose connections go to the socket in target (host byte order).
const volatile u32 redirect_port = 0;

u64 redirected = 0;
u64 dissected = 0;

SEC("sk_lookup")
int redirect_port_lookup(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *sk;
	u32 zero = 0;
	long err;

	if (ctx->local_port != redirect_port)
		return SK_PASS;
	sk = bpf_map_lookup_elem(&target, &zero);
	if (!sk)
		return SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return SK_DROP;
	__sync_fetch_and_add(&redirected, 1);
	return SK_PASS;
}

SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&dissected, 1);
	return BPF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
