// The link layer's socket and sockmap tests: a socket filter that truncates,
// a reuseport selector, and sk_msg/sk_skb programs for sockmaps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} group SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} socks SEC(".maps");

// The bytes of each packet the filter keeps (the UDP header's 8 included).
const volatile u32 keep_bytes = 0xffffffff;
// The index in group the selector picks.
const volatile u32 pick = 0;

u64 filtered = 0;
u64 selected = 0;
u64 messages = 0;
u64 skbs = 0;

SEC("socket")
int truncate_packets(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&filtered, 1);
	return keep_bytes;
}

SEC("sk_reuseport")
int select_socket(struct sk_reuseport_md *md)
{
	u32 key = pick;

	if (bpf_sk_select_reuseport(md, &group, &key, 0))
		return SK_DROP;
	__sync_fetch_and_add(&selected, 1);
	return SK_PASS;
}

SEC("sk_msg")
int pass_msg(struct sk_msg_md *msg)
{
	__sync_fetch_and_add(&messages, 1);
	return SK_PASS;
}

SEC("sk_msg")
int drop_msg(struct sk_msg_md *msg)
{
	__sync_fetch_and_add(&messages, 1);
	return SK_DROP;
}

SEC("sk_skb/stream_parser")
int parse_stream(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int pass_stream(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&skbs, 1);
	return SK_PASS;
}

// SK_SKB_VERDICT (5.13+): the section names no attach type.
SEC("sk_skb")
int pass_skb(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&skbs, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
