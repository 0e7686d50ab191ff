// xdp_counter: packets and bytes per IP protocol, counted by XDP on receive.
// Built into xdp_counter_bpf.py by `pybpf gen` (see xdp_counter.py).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// What was received of one protocol. A frame's bytes are counted from its
// Ethernet header, as the device saw them.
struct proto_stats {
	__u64 packets;
	__u64 bytes;
};

// Key: the IP protocol number (IPv4's protocol, IPv6's next header).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct proto_stats);
} per_proto SEC(".maps");

// The IP protocol of an Ethernet frame; -1 if it carries neither IPv4 nor IPv6.
static __always_inline int ip_protocol(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return -1;
		return ip->protocol;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		return ip6->nexthdr;
	}
	return -1;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int proto = ip_protocol(data, data_end);
	__u32 key;
	struct proto_stats *stats;

	if (proto < 0)
		return XDP_PASS;
	key = proto;
	stats = bpf_map_lookup_elem(&per_proto, &key);
	if (!stats) {
		struct proto_stats zero = {};

		// Two CPUs may race to add the key: whichever loses finds it after.
		bpf_map_update_elem(&per_proto, &key, &zero, BPF_NOEXIST);
		stats = bpf_map_lookup_elem(&per_proto, &key);
		if (!stats)
			return XDP_PASS;
	}
	__sync_fetch_and_add(&stats->packets, 1);
	__sync_fetch_and_add(&stats->bytes, data_end - data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
