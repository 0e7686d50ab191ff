// pybpf: link=linked_weak_part.c endian=el
// Statically linked from linked_weak.c and linked_weak_part.c by `bpftool gen
// object`, as the kernel's selftests link linked_funcs1.c and linked_funcs2.c:
// both files define one weak function, and its body reads a global variable
// and a map (relocations). The first definition wins; the linker keeps the
// losing one's code and relocations in .text but drops its symbol, so those
// relocations fall outside every function. libbpf skips them ("probably
// overridden weak function"); a reader must too. A strong function in the
// second file also overrides a weak one of the first, whose body is relocated.
// Loads on 5.10. Little-endian only (libbpf 1.1.2's linker, see linked.c).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32;
typedef unsigned long long u64;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} weak_counts SEC(".maps");

u64 first_seen;
u64 weak_calls;

/* Weak in both files: this one wins, the part's copy is dropped. */
__weak __noinline int weak_both(int x)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&weak_counts, &key);

	if (v)
		*v += 1;
	weak_calls += 1;
	return x + 1;
}

/* Weak here, strong in the part: this relocated body is dropped. */
__weak __noinline int weak_here(int x)
{
	first_seen = x;
	return x;
}

SEC("socket")
int weak_first(struct __sk_buff *skb)
{
	return weak_both(skb->len) + weak_here(skb->mark);
}

char LICENSE[] SEC("license") = "GPL";
