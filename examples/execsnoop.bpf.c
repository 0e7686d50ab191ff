// execsnoop's BPF side: every execve on the machine, with its parent, its
// first arguments and its return code. sys_enter_execve copies the arguments
// into a per-thread event; sys_exit_execve adds the return code and sends the
// event through a ring buffer. The parent's tgid is read with CO-RE from a
// local subset of struct task_struct. Loads on 5.10 (kernel BTF needed).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef int pid_t;

#define TASK_COMM_LEN 16
#define MAX_ARGS 8
#define ARG_LEN 64

// Only the fields used: CO-RE finds their offsets in the running kernel.
struct task_struct {
	pid_t tgid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

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

// Argument i is at args[i * ARG_LEN], NUL-terminated; args_count says how
// many were copied, and truncated that there were more.
struct event {
	u32 pid;
	u32 ppid;
	u32 uid;
	int retval;
	u32 args_count;
	u32 truncated;
	char comm[TASK_COMM_LEN];
	char args[MAX_ARGS * ARG_LEN];
};

const struct event *unused_event __attribute__((unused));

static const struct event empty_event = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_enter(struct syscall_enter *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	const char *const *argv = (const char *const *)ctx->args[1];
	struct task_struct *task;
	struct event *e;
	const char *arg;
	int i;

	if (bpf_map_update_elem(&execs, &tid, &empty_event, BPF_NOEXIST))
		return 0;
	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (u32)bpf_get_current_uid_gid();
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	// Slot 0 is the file executed, as bcc's execsnoop prints it.
	if (bpf_probe_read_user_str(e->args, ARG_LEN, (const char *)ctx->args[0]) <= 0)
		return 0;
	e->args_count = 1;
	for (i = 1; i < MAX_ARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			return 0;
		bpf_probe_read_user_str(&e->args[i * ARG_LEN], ARG_LEN, arg);
		e->args_count++;
	}
	if (!bpf_probe_read_user(&arg, sizeof(arg), &argv[MAX_ARGS]) && arg)
		e->truncated = 1;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct syscall_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&execs, &tid);

	if (!e)
		return 0;
	e->retval = ctx->ret;
	// comm is the new program's name once exec succeeded.
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
