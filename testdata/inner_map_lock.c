// An array of maps whose inner maps hold a bpf_spin_lock in their value. The
// verifier takes an inner map's special fields from the inner map template
// given at the outer map's creation, so the template needs the value's BTF
// (libbpf creates it with its key and value types; the outer map gets none).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked {
	struct bpf_spin_lock lock;
	int count;
};

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct locked);
};

struct inner inner_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, int);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { &inner_map },
};

SEC("tc")
int count_locked(struct __sk_buff *skb)
{
	int zero = 0, n;
	struct locked *v;
	void *map;

	map = bpf_map_lookup_elem(&outer, &zero);
	if (!map)
		return 0;
	v = bpf_map_lookup_elem(map, &zero);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	n = ++v->count;
	bpf_spin_unlock(&v->lock);
	return n;
}

char _license[] SEC("license") = "GPL";
