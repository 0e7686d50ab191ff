// syscount's BPF side: counts every system call by number, in a hash map
// keyed by the syscall id (raw_syscalls/sys_enter). target_tgid, set before
// loading, counts one process only. Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

// The record of raw_syscalls/sys_enter (tracefs format file).
struct raw_syscall_enter {
	u64 common;
	long id;
	unsigned long args[6];
};

const volatile u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscall(struct raw_syscall_enter *ctx)
{
	u32 nr = (u32)ctx->id;
	u64 one = 1, *count;

	if (target_tgid && (bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	if (ctx->id < 0) /* a ptracer's skipped syscall */
		return 0;
	count = bpf_map_lookup_elem(&counts, &nr);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counts, &nr, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
