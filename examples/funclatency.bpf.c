// funclatency's BPF side: the time between a function's entry and its return,
// per call, as a log2 histogram of `divisor` units (1 = ns, 1000 = us,
// 1000000 = ms). The same pair works as uprobe/uretprobe (a user-space
// function) and kprobe/kretprobe (a kernel function): the user-space side
// loads one pair and attaches it. target_tgid, set before loading, keeps one
// process only. Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define HIST_SLOTS 32

const volatile u32 target_tgid = 0;
const volatile u64 divisor = 1000;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIST_SLOTS);
	__type(key, u32);
	__type(value, u64);
} hist SEC(".maps");

static __always_inline int start_timer(void)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	u64 now;

	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
	return 0;
}

// bcc's slots: 0 holds 0, slot i holds 2^(i-1) to 2^i - 1.
static __always_inline u32 log2_slot(u64 v)
{
	u32 slot = 0;

	while (v && slot < HIST_SLOTS - 1) {
		v >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline int record_latency(void)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 *start = bpf_map_lookup_elem(&starts, &tid);
	u64 delta, *count;
	u32 slot;

	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &tid);
	slot = log2_slot(delta / divisor);
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

SEC("uprobe")
int user_entry(void *ctx)
{
	return start_timer();
}

SEC("uretprobe")
int user_exit(void *ctx)
{
	return record_latency();
}

SEC("kprobe")
int kernel_entry(void *ctx)
{
	return start_timer();
}

SEC("kretprobe")
int kernel_exit(void *ctx)
{
	return record_latency();
}

char LICENSE[] SEC("license") = "GPL";
