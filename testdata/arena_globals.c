// pybpf: clang=clang-19
// Globals in a BPF arena (libbpf 1.4+, kernel 6.9): variables declared
// __arena (address_space(1)) land in section .addr_space.1, live in the
// object's BPF_MAP_TYPE_ARENA map, and code taking their address gets a value
// of that map. Global, zero, struct, array and static (relocated against the
// section symbol with an addend) variables. The program only takes addresses:
// dereferencing an __arena pointer makes clang emit addr_space_cast, which
// not every reader decodes yet. libbpf 1.1.2 refuses the object.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PYBPF_MAP_TYPE_ARENA 33
#define __arena __attribute__((address_space(1)))

typedef unsigned long long u64;
typedef unsigned int u32;

struct {
	__uint(type, PYBPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2); /* pages */
} arena SEC(".maps");

/* Where the program found each variable: the loader's arena addresses. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, u32);
	__type(value, u64);
} addresses SEC(".maps");

struct arena_stats {
	u64 hits;
	u32 last;
};

int __arena initial = 42;
u64 __arena table[4] = {1, 2, 3, 4};
int __arena counter;
struct arena_stats __arena stats = {.hits = 5, .last = 6};
static u32 __arena hidden = 7;

static void record(u32 key, u64 where)
{
	bpf_map_update_elem(&addresses, &key, &where, BPF_ANY);
}

SEC("syscall")
int arena_addresses(void *ctx)
{
	record(0, (u64)&initial);
	record(1, (u64)&table[2]);
	record(2, (u64)&counter);
	record(3, (u64)&stats.last);
	record(4, (u64)&hidden);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
