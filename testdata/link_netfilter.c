// The link layer's netfilter test (6.4+): drop the packets of one length
// (the test's UDP datagrams) and count them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define NF_DROP 0
#define NF_ACCEPT 1

struct sk_buff {
	unsigned int len;
} __attribute__((preserve_access_index));

struct nf_hook_state;

struct bpf_nf_ctx {
	const struct nf_hook_state *state;
	struct sk_buff *skb;
} __attribute__((preserve_access_index));

// The length (IP header included) of the packets to drop, set before loading.
const volatile u32 drop_len = 0;

u64 dropped = 0;

SEC("netfilter")
int drop_by_length(struct bpf_nf_ctx *ctx)
{
	if (ctx->skb->len != drop_len)
		return NF_ACCEPT;
	__sync_fetch_and_add(&dropped, 1);
	return NF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
