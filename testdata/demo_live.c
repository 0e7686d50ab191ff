// The live part of the main demo (examples/demo.py): every exec on the
// machine streams an event through a ring buffer (a tracepoint program), and
// a uprobe/uretprobe pair on libc's clock_nanosleep times each sleep into a
// log2 histogram and a per-process table. Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define HIST_SLOTS 32

struct exec_event {
	u32 pid;
	u32 ppid_unused;
	char comm[16];
	char filename[64];
};

struct sleeper {
	u64 calls;
	u64 total_ns;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u64);
	__type(value, u64);
} started SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIST_SLOTS);
	__type(key, u32);
	__type(value, u64);
} sleep_usecs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct sleeper);
} sleepers SEC(".maps");

// Names struct exec_event in the object's BTF, for the ring buffer reader.
struct exec_event *unused_exec_event __attribute__((unused));

// The sched:sched_process_exec tracepoint's record (tracefs format file):
// the filename is a __data_loc, its offset in the record's low 16 bits.
struct sched_process_exec {
	u64 common;
	u32 filename_loc;
	int pid;
	int old_pid;
};

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct sched_process_exec *ctx)
{
	struct exec_event *e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	unsigned short offset = ctx->filename_loc & 0xFFFF;

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid_unused = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + offset);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe/libc.so.6:clock_nanosleep")
int sleep_enter(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&started, &id, &now, BPF_ANY);
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

SEC("uretprobe/libc.so.6:clock_nanosleep")
int sleep_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 *start = bpf_map_lookup_elem(&started, &id);
	u32 pid = id >> 32;
	struct sleeper *s, fresh = {};
	u64 delta, *count;
	u32 slot;

	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&started, &id);
	slot = log2_slot(delta / 1000);
	count = bpf_map_lookup_elem(&sleep_usecs, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	s = bpf_map_lookup_elem(&sleepers, &pid);
	if (!s) {
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		bpf_map_update_elem(&sleepers, &pid, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sleepers, &pid);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->calls, 1);
	__sync_fetch_and_add(&s->total_ns, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
