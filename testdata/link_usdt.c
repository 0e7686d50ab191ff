// The link layer's USDT tests: Python's own probe python:function__entry
// (filename, function name, line number), written with libbpf's usdt.bpf.h.
// Counts the calls of each function name in one process (target_tgid, set in
// .bss after loading) and keeps the user's cookie. Loads on 5.10.
#include <stdbool.h>
#include <linux/bpf.h>
#include <asm/ptrace.h> /* struct pt_regs, UAPI field names, for bpf_tracing.h */
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define NAME_LEN 32

u32 target_tgid = 0;
u64 calls = 0;
u64 last_cookie = 0;
long last_line = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, char[NAME_LEN]);
	__type(value, u64);
} calls_by_name SEC(".maps");

SEC("usdt")
int BPF_USDT(function_entry, void *filename, void *funcname, int lineno)
{
	char name[NAME_LEN] = {};
	u64 one = 1, *count;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	__sync_fetch_and_add(&calls, 1);
	last_cookie = bpf_usdt_cookie(ctx);
	last_line = lineno;
	bpf_probe_read_user_str(name, sizeof(name), funcname);
	count = bpf_map_lookup_elem(&calls_by_name, name);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&calls_by_name, name, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
