// cgroup_egress: the packets and bytes that the processes of a cgroup send.
// Built into cgroup_egress_bpf.py by `pybpf gen` (see cgroup_egress.py).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// What the cgroup sent. A packet's bytes are counted from its IP header.
struct egress_totals {
	__u64 packets;
	__u64 bytes;
};

struct egress_totals totals = {};

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&totals.packets, 1);
	__sync_fetch_and_add(&totals.bytes, skb->len);
	return 1; // let it go: this program only counts
}

char LICENSE[] SEC("license") = "GPL";
