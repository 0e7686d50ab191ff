// iproute2's map definition (tc's "struct bpf_elf_map"): the five legacy
// fields followed by id, pinning, inner_id and inner_idx, in SEC("maps"),
// and programs in iproute2's section names ("classifier", "action").
// Readers must keep the extra bytes (ebpf-go: MapSpec.Extra). libbpf 1.x
// refuses the "maps" section.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define PIN_NONE 0
#define PIN_OBJECT_NS 1
#define PIN_GLOBAL_NS 2

struct bpf_elf_map {
	unsigned int type;
	unsigned int size_key;
	unsigned int size_value;
	unsigned int max_elem;
	unsigned int flags;
	unsigned int id;
	unsigned int pinning;
	unsigned int inner_id;
	unsigned int inner_idx;
};

struct bpf_elf_map SEC("maps") tc_counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(unsigned int),
	.size_value = sizeof(unsigned long long),
	.max_elem = 4,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map SEC("maps") tc_flows = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(unsigned int),
	.size_value = sizeof(unsigned int),
	.max_elem = 64,
	.id = 1,
	.pinning = PIN_OBJECT_NS,
};

SEC("classifier")
int tc_count(struct __sk_buff *skb)
{
	unsigned int key = skb->protocol & 3;
	unsigned long long *n = bpf_map_lookup_elem(&tc_counters, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_OK;
}

SEC("action")
int tc_track(struct __sk_buff *skb)
{
	unsigned int key = skb->hash, val = skb->len;

	bpf_map_update_elem(&tc_flows, &key, &val, BPF_ANY);
	return TC_ACT_PIPE;
}

char LICENSE[] SEC("license") = "GPL";
