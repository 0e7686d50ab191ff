// Second half of linked_extern_map.o (see linked_extern_map.c); built only as part of it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned int u32;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u32);
} there SEC(".maps");
