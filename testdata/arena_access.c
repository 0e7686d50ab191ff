// pybpf: clang=clang-19
// A program that reads and writes __arena globals (libbpf 1.4+, kernel 6.9):
// every access through an address_space(1) pointer makes clang emit
// addr_space_cast (ALU64 MOV with offset 1, imm 1: arena to kernel pointer),
// and the loader must map the arena and place the globals before the program
// loads. A syscall program, so that BPF_PROG_TEST_RUN runs it: each run bumps
// the counters, doubles a struct field, records the running total in a ring
// of four and returns the new count.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PYBPF_MAP_TYPE_ARENA 33
#define __arena __attribute__((address_space(1)))

typedef unsigned long long u64;
typedef unsigned int u32;

struct {
	__uint(type, PYBPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4); /* pages */
} arena SEC(".maps");

struct point {
	int x;
	int y;
};

int __arena runs = 10;
u64 __arena total;
struct point __arena origin = {.x = 3, .y = -1};
u64 __arena history[4] = {1, 2, 3, 4};
static u32 __arena slot;
/* Written by user space before a run, read by the program. */
u32 __arena step = 1;

SEC("syscall")
int arena_bump(void *ctx)
{
	runs += 1;
	total += step;
	origin.x *= 2;
	origin.y = origin.x + 1;
	history[slot & 3] = total;
	slot += 1;
	return runs;
}

char LICENSE[] SEC("license") = "GPL";
