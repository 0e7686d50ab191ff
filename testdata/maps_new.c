// Map types beyond maps.c: those added after 5.10 (task storage 5.11, bloom
// filter with map_extra 5.16, user ring buffer 6.1, cgroup storage 6.2, arena
// 6.9) and older special ones (inode storage, legacy cgroup storage, reuseport
// array). Types newer than Debian's 6.1 UAPI headers are numbered here.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PYBPF_MAP_TYPE_CGRP_STORAGE 32
#define PYBPF_MAP_TYPE_ARENA 33

typedef unsigned long long u64;
typedef unsigned int u32;

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 256);
	__type(value, u64);
	__uint(map_extra, 3); /* number of hash functions */
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} task_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u32);
} inode_storage SEC(".maps");

struct {
	__uint(type, PYBPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} cgrp_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, u64);
} legacy_cgroup_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, u64);
} legacy_percpu_cgroup_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} reuseport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} user_events SEC(".maps");

/* max_entries counts pages; no key or value. */
struct {
	__uint(type, PYBPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4);
} arena SEC(".maps");

SEC("socket")
int use_bloom(struct __sk_buff *skb)
{
	u64 v = skb->hash, probe;

	bpf_map_push_elem(&bloom, &v, BPF_ANY);
	/* A bloom filter's peek reads its value: give it a slot of its own that
	 * is written right before (Linux 7.3's verifier refuses the first slot,
	 * "poisoned by dead code elimination", once push has consumed it). */
	probe = v;
	barrier_var(probe);
	return bpf_map_peek_elem(&bloom, &probe) == 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int use_task_storage(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	u64 *n = bpf_task_storage_get(&task_storage, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (n)
		*n += 1;
	return 0;
}

SEC("cgroup_skb/ingress")
int use_cgroup_storage(struct __sk_buff *skb)
{
	u64 *n = bpf_get_local_storage(&legacy_cgroup_storage, 0);
	u64 *m = bpf_get_local_storage(&legacy_percpu_cgroup_storage, 0);

	__sync_fetch_and_add(n, 1);
	*m += 1;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
