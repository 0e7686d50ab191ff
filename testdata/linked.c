// pybpf: link=linked_part.c endian=el
// Statically linked from linked.c and linked_part.c by `bpftool gen object`
// (libbpf's linker): an extern function and an extern variable defined in the
// other file, a weak function and a weak variable overridden by strong ones
// there, a weak function nobody overrides, a map declared extern here and
// defined there, a static function of the same name in both files, and
// programs of the same section name in both files (merged into one section).
// Loads on 5.10 (global functions across files need BTF func info).
// Little-endian only: libbpf 1.1.2's linker refuses big-endian objects
// ("unsupported byte order"); cross-endian linking came with libbpf 1.5.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32;
typedef unsigned long long u64;

extern int part_global_func(int x);
extern u64 part_counter;

/* Weak: the strong definitions in linked_part.c win. */
__weak int overridden_var = 1;

__weak __noinline int overridden_func(int x)
{
	return x + 1;
}

/* Weak, with no strong counterpart: stays. */
__weak __noinline int kept_weak_func(int x)
{
	return x * 2;
}

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} linked_map SEC(".maps");

const volatile u32 main_rodata = 5;

static __noinline int same_name_helper(int x)
{
	return x - 1;
}

SEC("socket")
int main_prog(struct __sk_buff *skb)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&linked_map, &key);

	if (v)
		*v += 1;
	part_counter += main_rodata;
	return part_global_func(skb->len) + overridden_func(overridden_var) +
	       kept_weak_func(skb->mark) + same_name_helper(skb->priority);
}

char LICENSE[] SEC("license") = "GPL";
