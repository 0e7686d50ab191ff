// Legacy map definitions: "struct bpf_map_def" in SEC("maps"), as libbpf before
// 1.0 and samples/bpf declared them, several in one section. No BTF describes
// them. libbpf 1.x refuses the section ("legacy map definitions in 'maps'
// section are not supported by libbpf v1.0+"); ebpf-go still reads it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(unsigned int),
	.value_size = sizeof(unsigned long long),
	.max_entries = 32,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 4,
	.max_entries = 2,
};

struct bpf_map_def SEC("maps") legacy_perf = {
	.type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	.key_size = 4,
	.value_size = 4,
};

SEC("socket")
int legacy_maps(struct __sk_buff *skb)
{
	unsigned int key = 0, *hits;
	unsigned long long len = skb->len;

	hits = bpf_map_lookup_elem(&legacy_array, &key);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	bpf_map_update_elem(&legacy_hash, &key, &len, BPF_ANY);
	bpf_perf_event_output(skb, &legacy_perf, BPF_F_CURRENT_CPU, &len, sizeof(len));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
