// Readers fed by real events: every getpid() and getppid() of one process
// (set in .rodata) becomes a record in a ring buffer and in a perf buffer.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct event {
	u32 pid;
	u32 seq;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

// Puts struct event in the object's BTF, for the readers' record= (as with bpf2go).
struct event *unused_event __attribute__((unused));

const volatile u32 target_tgid = 0;
u32 seq = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int ring_getpid(void *ctx)
{
	struct event *e;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = target_tgid;
	e->seq = seq++; /* one thread: no atomic, whose fetch needs 5.12 */
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int perf_getppid(void *ctx)
{
	struct event e = {};

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	e.pid = target_tgid;
	e.seq = seq++;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
