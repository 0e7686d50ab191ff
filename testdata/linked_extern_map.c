// pybpf: link=linked_extern_map_part.c endian=el
// Statically linked from linked_extern_map.c and linked_extern_map_part.c by
// `bpftool gen object`, as the kernel's selftests link linked_maps1.c and
// linked_maps2.c: a map defined here, and one declared extern here and
// defined in the part. libbpf's linker (1.1.2, and 1.7/1.8 still) leaves the
// extern's placeholder offset (0) in the merged .maps DATASEC, on top of the
// map defined here, while the symbol says where the definition went (32).
// libbpf keeps a linker's DATASEC offsets and refuses the object ("map relo
// failed to find map for section '.maps', off 32"); pybpf reads each map at
// its symbol, as it reads linked variables. `read_both` returns the u32 at
// key 1 of each map, summed. Loads on 5.10. Little-endian only (see linked.c).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} here SEC(".maps");

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u32);
} there SEC(".maps");

SEC("socket")
int read_both(struct __sk_buff *skb)
{
	u32 key = 1;
	u32 *h = bpf_map_lookup_elem(&here, &key);
	u32 *t = bpf_map_lookup_elem(&there, &key);

	return (h ? *h : 0) + (t ? *t : 0);
}

char LICENSE[] SEC("license") = "GPL";
