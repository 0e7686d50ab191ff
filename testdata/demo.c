// The object of the core demo (examples/demo.py) and of core's Program and
// Collection tests: an XDP program that counts packets per IP protocol in a
// hash map, drops one protocol chosen by a .rodata constant, and keeps a
// running total in .bss; a socket filter that reads its limit from a map
// filled by user space; and, off by default (SEC("?socket")), a program the
// verifier rejects because it reads above the stack frame (r10 + 8). Loads on
// 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define ETH_HLEN 14
#define IP_PROTO_OFF (ETH_HLEN + 9)

struct proto_stats {
	u64 packets;
	u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, struct proto_stats);
} per_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} limits SEC(".maps");

/* Set by the loader before the program is loaded. */
const volatile u32 drop_proto = 0;
const volatile u32 verdict_pass = XDP_PASS;

u64 total_packets = 0;
u64 last_len = 0;

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct proto_stats *st, fresh = {};
	u32 proto;

	if (data + IP_PROTO_OFF + 1 > end)
		return XDP_ABORTED;
	proto = *(u8 *)(data + IP_PROTO_OFF);
	__sync_fetch_and_add(&total_packets, 1);
	last_len = end - data;
	st = bpf_map_lookup_elem(&per_proto, &proto);
	if (!st) {
		bpf_map_update_elem(&per_proto, &proto, &fresh, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&per_proto, &proto);
		if (!st)
			return XDP_ABORTED;
	}
	__sync_fetch_and_add(&st->packets, 1);
	__sync_fetch_and_add(&st->bytes, end - data);
	if (drop_proto && proto == drop_proto)
		return XDP_DROP;
	return verdict_pass;
}

SEC("socket")
int cap_length(struct __sk_buff *skb)
{
	u32 zero = 0, *limit;

	limit = bpf_map_lookup_elem(&limits, &zero);
	if (!limit || !*limit)
		return skb->len;
	return skb->len < *limit ? skb->len : *limit;
}

SEC("?socket")
int bad_stack(struct __sk_buff *skb)
{
	u64 value;

	asm volatile("%0 = *(u64 *)(r10 + 8)" : "=r"(value));
	return value;
}

char _license[] SEC("license") = "Dual MIT/GPL";
