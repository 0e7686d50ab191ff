// Second half of linked_weak.o (see linked_weak.c); built only as part of it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32;
typedef unsigned long long u64;

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} weak_counts SEC(".maps");

u64 part_seen;
extern u64 weak_calls;

/* Loses to linked_weak.c's: its code stays in .text, symbol-less. */
__weak __noinline int weak_both(int x)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&weak_counts, &key);

	if (v)
		*v += 2;
	weak_calls += 2;
	part_seen = x;
	return x + 2;
}

int weak_here(int x)
{
	part_seen = x;
	return x * 2;
}

SEC("socket")
int weak_second(struct __sk_buff *skb)
{
	return weak_both(skb->protocol) + weak_here(skb->priority);
}
