// Atomic instructions (BPF_STX | BPF_ATOMIC), from C builtins: add/or/and/xor
// with and without BPF_FETCH, xchg and cmpxchg, 32 and 64 bits. -mcpu=v3
// (the default) is needed for anything but the plain 64-bit add; loads on 5.12+.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

u64 counter64;
u32 counter32;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} cells SEC(".maps");

SEC("socket")
int atomics64(struct __sk_buff *skb)
{
	u64 v = skb->len, r = 0;

	/* Results unused: clang emits the non-fetching forms. */
	__sync_fetch_and_add(&counter64, v);
	__sync_fetch_and_or(&counter64, v);
	__sync_fetch_and_and(&counter64, v);
	__sync_fetch_and_xor(&counter64, v);
	/* Results used: BPF_FETCH forms. */
	r += __sync_fetch_and_add(&counter64, 1);
	r += __sync_fetch_and_or(&counter64, 2);
	r += __sync_fetch_and_and(&counter64, 3);
	r += __sync_fetch_and_xor(&counter64, 4);
	r += __sync_lock_test_and_set(&counter64, v);
	r += __sync_val_compare_and_swap(&counter64, r, v);
	return r;
}

SEC("socket")
int atomics32(struct __sk_buff *skb)
{
	u32 v = skb->len, r = 0;

	__sync_fetch_and_add(&counter32, v);
	__sync_fetch_and_or(&counter32, v);
	__sync_fetch_and_and(&counter32, v);
	__sync_fetch_and_xor(&counter32, v);
	r += __sync_fetch_and_add(&counter32, 1);
	r += __sync_fetch_and_or(&counter32, 2);
	r += __sync_fetch_and_and(&counter32, 3);
	r += __sync_fetch_and_xor(&counter32, 4);
	r += __sync_lock_test_and_set(&counter32, v);
	r += __sync_val_compare_and_swap(&counter32, r, v);
	return r;
}

/* Atomics on a map value rather than a global. */
SEC("socket")
int atomics_map(struct __sk_buff *skb)
{
	u32 key = 0;
	u64 *cell = bpf_map_lookup_elem(&cells, &key);

	if (!cell)
		return 0;
	__sync_fetch_and_add(cell, 1);
	return __sync_fetch_and_add(cell, skb->len);
}

char LICENSE[] SEC("license") = "GPL";
