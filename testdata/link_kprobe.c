// The link layer's kprobe tests: count calls of the getpid() and getppid()
// syscalls made by one process (the test's, set in .rodata before loading)
// through kprobes, kretprobes and kprobe_multi links, and read attach
// cookies. Loads on 5.10: the programs that need newer kernels (the cookie
// helper is 5.15+, kprobe_multi 5.18+, sessions 6.10+) are loaded only by the
// tests that use them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

// x86-64's struct pt_regs as the kernel lays it out: a kprobe's context.
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

const volatile u32 target_tgid = 0;

u64 calls = 0;
u64 returned = 0;
u64 last_cookie = 0;
u64 cookie_sum = 0;

static int mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("kprobe")
int count_calls(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&calls, 1);
	return 0;
}

SEC("kretprobe")
int return_value(struct pt_regs *ctx)
{
	if (mine()) {
		returned = ctx->ax;
		__sync_fetch_and_add(&calls, 1);
	}
	return 0;
}

SEC("kprobe")
int read_cookie(struct pt_regs *ctx)
{
	if (mine()) {
		last_cookie = bpf_get_attach_cookie(ctx);
		__sync_fetch_and_add(&cookie_sum, last_cookie);
	}
	return 0;
}

SEC("kprobe.multi")
int multi_count(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&calls, 1);
	return 0;
}

SEC("kprobe.multi")
int multi_cookie(struct pt_regs *ctx)
{
	if (mine()) {
		last_cookie = bpf_get_attach_cookie(ctx);
		__sync_fetch_and_add(&cookie_sum, last_cookie);
	}
	return 0;
}

// Runs at entry and, as it returns 0, at return too: two counts a call.
SEC("kprobe.session")
int session_count(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
