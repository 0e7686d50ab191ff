// opensnoop's BPF side: every openat with its file name, flags and result.
// sys_enter_openat keeps the name's address and the flags per thread;
// sys_exit_openat reads the name (still in the caller's memory) and sends
// the event through a ring buffer. target_tgid, set before loading, keeps
// one process only. Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define TASK_COMM_LEN 16
#define NAME_MAX 255

// The records of syscalls/sys_enter_* and sys_exit_* (tracefs format files).
struct syscall_enter {
	u64 common;
	long id;
	unsigned long args[6];
};

struct syscall_exit {
	u64 common;
	long id;
	long ret;
};

struct start {
	u64 filename;
	int flags;
};

struct event {
	u32 pid;
	u32 uid;
	int flags;
	int ret;
	char comm[TASK_COMM_LEN];
	char filename[NAME_MAX + 1];
};

const struct event *unused_event __attribute__((unused));

const volatile u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct syscall_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct start s = {};

	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	// openat(dirfd, filename, flags, mode)
	s.filename = ctx->args[1];
	s.flags = (int)ctx->args[2];
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct syscall_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct start *s = bpf_map_lookup_elem(&starts, &tid);
	struct event *e;

	if (!s)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = id >> 32;
		e->uid = (u32)bpf_get_current_uid_gid();
		e->flags = s->flags;
		e->ret = ctx->ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)s->filename) < 0)
			e->filename[0] = 0;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
