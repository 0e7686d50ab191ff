// The link layer's device tests (XDP, tcx, tc, netkit): count the packets
// the test sends through a namespace of its own, and drop one UDP port.
// Every program loads on 5.10 (direct packet access and globals only).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define TC_NEXT -1 // TCX_NEXT, TC_ACT_UNSPEC: the next program decides
#define TC_PASS 0  // TCX_PASS, TC_ACT_OK
#define TC_DROP 2  // TCX_DROP, TC_ACT_SHOT

// XDP: packets per IP protocol number (IPv4 only), and the UDP port it drops.
u64 xdp_by_proto[256] = {};
u32 xdp_drop_port = 0;

// tc, tcx and netkit: UDP packets to watch_port seen, the port to drop, and
// for ordering: the step at which each of two programs last ran.
u32 watch_port = 0;
u32 drop_port = 0;
u64 seen = 0;
u64 step = 0;
u64 first_step = 0;
u64 second_step = 0;

// The UDP destination port of an IPv4 packet whose IP header is at data + off; 0 if none.
static __always_inline u32 udp_dest(void *data, void *data_end, u32 off, u32 *proto)
{
	struct iphdr *ip = data + off;
	struct udphdr *udp;

	if ((void *)(ip + 1) > data_end)
		return 0;
	*proto = ip->protocol;
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return 0;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return 0;
	return bpf_ntohs(udp->dest);
}

// The UDP destination port of an Ethernet frame; 0 if none.
static __always_inline u32 frame_udp_dest(void *data, void *data_end, u32 *proto)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return udp_dest(data, data_end, sizeof(*eth), proto);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u32 proto = 0;
	u32 port = frame_udp_dest(data, data_end, &proto);

	if (proto)
		__sync_fetch_and_add(&xdp_by_proto[proto & 0xff], 1);
	if (port && port == xdp_drop_port)
		return XDP_DROP;
	return XDP_PASS;
}

// The verdict on a packet to UDP ``port`` (0: not UDP over IPv4): counted if
// to watch_port, dropped if to drop_port.
static __always_inline int port_verdict(u32 port)
{
	if (!port)
		return TC_NEXT;
	if (port == watch_port)
		__sync_fetch_and_add(&seen, 1);
	if (port == drop_port)
		return TC_DROP;
	return TC_NEXT;
}

// The verdict of a tc/tcx program on an Ethernet frame.
static __always_inline int verdict(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	u32 proto = 0;

	return port_verdict(frame_udp_dest(data, data_end, &proto));
}

// The UDP destination port of an skb's IPv4 packet, read from its network
// header wherever the data starts: netkit's L3 mode has no Ethernet header,
// its L2 mode has one.
static __always_inline u32 net_udp_dest(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;

	if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
		return 0;
	if (ip.version != 4 || ip.protocol != IPPROTO_UDP || ip.ihl != 5)
		return 0;
	if (bpf_skb_load_bytes_relative(skb, sizeof(ip), &udp, sizeof(udp), BPF_HDR_START_NET))
		return 0;
	return bpf_ntohs(udp.dest);
}

SEC("tcx/ingress")
int tcx_ingress(struct __sk_buff *skb)
{
	return verdict(skb);
}

SEC("tcx/egress")
int tcx_egress(struct __sk_buff *skb)
{
	return verdict(skb);
}

SEC("tc/ingress")
int tc_ingress(struct __sk_buff *skb)
{
	return verdict(skb);
}

// Two programs that note the order they run in, on packets to watch_port.
static __always_inline int note(struct __sk_buff *skb, u64 *mine)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	u32 proto = 0;

	// Not an atomic fetch-and-add: its result needs 5.12's BPF_FETCH. The
	// programs of one hook run one after the other on a packet.
	if (frame_udp_dest(data, data_end, &proto) == watch_port)
		*mine = ++step;
	return TC_NEXT;
}

SEC("tcx/ingress")
int order_first(struct __sk_buff *skb)
{
	return note(skb, &first_step);
}

SEC("tcx/ingress")
int order_second(struct __sk_buff *skb)
{
	return note(skb, &second_step);
}

// netkit: the primary's program runs on what the primary sends, the peer's
// on what the peer sends.
SEC("netkit/primary")
int netkit_primary(struct __sk_buff *skb)
{
	return port_verdict(net_udp_dest(skb));
}

SEC("netkit/peer")
int netkit_peer(struct __sk_buff *skb)
{
	return port_verdict(net_udp_dest(skb));
}

char LICENSE[] SEC("license") = "GPL";
