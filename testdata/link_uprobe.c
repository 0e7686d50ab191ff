// The link layer's uprobe tests: count calls of a user-space function in one
// process (target_tgid, set in .bss after loading), record its first
// argument, its return value and the attach cookies; count the calls made by
// any other process in `others` (a pid filter keeps it at 0). The cookie
// helper (5.15+) and the uprobe.multi programs (6.6+) are programs of their
// own, so that older kernels load the rest.
#include <linux/bpf.h>
#include <asm/ptrace.h> /* struct pt_regs, UAPI field names, for bpf_tracing.h */
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned long long u64;
typedef unsigned int u32;

u32 target_tgid = 0;

u64 calls = 0;
u64 others = 0;
u64 last_arg = 0;
u64 last_ret = 0;
u64 last_cookie = 0;
u64 cookie_sum = 0;

static __always_inline int from_target(void)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		return 1;
	__sync_fetch_and_add(&others, 1);
	return 0;
}

SEC("uprobe")
int on_entry(struct pt_regs *ctx)
{
	if (from_target()) {
		__sync_fetch_and_add(&calls, 1);
		last_arg = PT_REGS_PARM1(ctx);
	}
	return 0;
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx)
{
	if (from_target()) {
		__sync_fetch_and_add(&calls, 1);
		last_ret = PT_REGS_RC(ctx);
	}
	return 0;
}

SEC("uprobe")
int with_cookie(struct pt_regs *ctx)
{
	if (from_target()) {
		__sync_fetch_and_add(&calls, 1);
		last_cookie = bpf_get_attach_cookie(ctx);
		__sync_fetch_and_add(&cookie_sum, last_cookie);
	}
	return 0;
}

SEC("uprobe.multi")
int multi_entry(struct pt_regs *ctx)
{
	if (from_target()) {
		__sync_fetch_and_add(&calls, 1);
		__sync_fetch_and_add(&cookie_sum, bpf_get_attach_cookie(ctx));
	}
	return 0;
}

SEC("uretprobe.multi")
int multi_return(struct pt_regs *ctx)
{
	if (from_target()) {
		__sync_fetch_and_add(&calls, 1);
		last_ret = PT_REGS_RC(ctx);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
