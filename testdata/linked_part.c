// Second half of linked.o (see linked.c); built only as part of it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32;
typedef unsigned long long u64;

u64 part_counter = 10;
int overridden_var = 2;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} linked_map SEC(".maps");

const volatile u32 part_rodata = 7;

__noinline int overridden_func(int x)
{
	return x + 100;
}

static __noinline int same_name_helper(int x)
{
	return x + 1;
}

__noinline int part_global_func(int x)
{
	return same_name_helper(x) + part_rodata;
}

SEC("socket")
int part_prog(struct __sk_buff *skb)
{
	u32 key = 1;
	u64 *v = bpf_map_lookup_elem(&linked_map, &key);

	if (v)
		*v += part_counter;
	return overridden_func(skb->len);
}
