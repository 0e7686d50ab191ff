// pyflow's BPF side: CPython's USDT probes python:function__entry and
// function__return (file name, function name, line number), written with
// libbpf's usdt.bpf.h, sent with a timestamp through a ring buffer.
// target_tgid, set before loading, keeps one process only. Loads on 5.10.
#include <stdbool.h>
#include <linux/bpf.h>
#include <asm/ptrace.h> /* struct pt_regs, UAPI field names, for bpf_tracing.h */
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define NAME_LEN 64

enum call_kind { CALL_ENTRY = 0, CALL_RETURN = 1 };

struct call {
	u64 ts_ns;
	u32 pid;
	u32 tid;
	enum call_kind kind;
	int lineno;
	char filename[NAME_LEN];
	char function[NAME_LEN];
};

const struct call *unused_call __attribute__((unused));

const volatile u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} calls SEC(".maps");

static __always_inline int send(enum call_kind kind, void *filename, void *function, int lineno)
{
	u64 id = bpf_get_current_pid_tgid();
	struct call *c;

	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	c = bpf_ringbuf_reserve(&calls, sizeof(*c), 0);
	if (!c)
		return 0;
	c->ts_ns = bpf_ktime_get_ns();
	c->pid = id >> 32;
	c->tid = (u32)id;
	c->kind = kind;
	c->lineno = lineno;
	bpf_probe_read_user_str(c->filename, sizeof(c->filename), filename);
	bpf_probe_read_user_str(c->function, sizeof(c->function), function);
	bpf_ringbuf_submit(c, 0);
	return 0;
}

SEC("usdt")
int BPF_USDT(function_entry, void *filename, void *function, int lineno)
{
	return send(CALL_ENTRY, filename, function, lineno);
}

SEC("usdt")
int BPF_USDT(function_return, void *filename, void *function, int lineno)
{
	return send(CALL_RETURN, filename, function, lineno);
}

char LICENSE[] SEC("license") = "GPL";
