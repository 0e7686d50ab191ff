// The link layer's tracepoint tests: count getpid() calls of one process
// (the test's, set in .rodata before loading) through a tracepoint program,
// and read the attach cookie. Loads on 5.10 (the cookie helper is 5.15+ and
// lives in its own program).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

const volatile u32 target_tgid = 0;

u64 calls = 0;
u64 last_cookie = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		__sync_fetch_and_add(&calls, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int cookie_getppid(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		last_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
