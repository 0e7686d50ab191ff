// tcx_firewall: drop the packets to one TCP or UDP port at tc ingress.
// Built into tcx_firewall_bpf.py by `pybpf gen` (see tcx_firewall.py).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// The verdicts, the same numbers for tcx and for tc's direct action.
#define TC_NEXT -1 // TCX_NEXT, TC_ACT_UNSPEC: let the next program decide
#define TC_DROP 2  // TCX_DROP, TC_ACT_SHOT

// Set by user space before loading (.rodata): the port and IPPROTO_TCP or IPPROTO_UDP.
const volatile __u16 port = 0;
const volatile __u8 protocol = IPPROTO_UDP;

// What the program saw (.bss): packets dropped, and the other IP packets let through.
__u64 dropped = 0;
__u64 passed = 0;

// The offset of the layer-4 header and the IP protocol of an Ethernet frame; -1 if not IP.
static __always_inline int l4_offset(void *data, void *data_end, __u8 *proto)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return -1;
		*proto = ip->protocol;
		return sizeof(*eth) + ip->ihl * 4;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		*proto = ip6->nexthdr; // extension headers are not followed
		return sizeof(*eth) + sizeof(*ip6);
	}
	return -1;
}

SEC("tcx/ingress")
int drop_port(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 proto = 0;
	int off = l4_offset(data, data_end, &proto);
	__be16 *dest;

	if (off < 0 || off > 80) // the bound lets the verifier check the access below
		return TC_NEXT;
	if (proto == protocol && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		// Both headers start with the source port, then the destination port.
		dest = data + off + 2;
		if ((void *)(dest + 1) > data_end)
			return TC_NEXT;
		if (*dest == bpf_htons(port)) {
			__sync_fetch_and_add(&dropped, 1);
			return TC_DROP;
		}
	}
	__sync_fetch_and_add(&passed, 1);
	return TC_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
