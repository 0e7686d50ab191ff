// The link layer's raw tracepoint and BTF tracepoint tests: count the
// syscalls of one number (target_nr) made by one process (target_tgid), both
// set in .rodata before loading, through a raw_tp and a tp_btf program on
// sys_enter. The cookie readers are programs of their own: raw_tp and tp_btf
// cookies are Linux 6.10+, and older kernels must load the rest.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct pt_regs;

const volatile u32 target_tgid = 0;
const volatile long target_nr = -1;

u64 raw_calls = 0;
u64 btf_calls = 0;
u64 raw_cookie = 0;
u64 btf_cookie = 0;

static __always_inline int ours(long id)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid && id == target_nr;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (ours(ctx->args[1]))
		__sync_fetch_and_add(&raw_calls, 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (ours(id))
		__sync_fetch_and_add(&btf_calls, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_cookie_reader(struct bpf_raw_tracepoint_args *ctx)
{
	if (ours(ctx->args[1]))
		raw_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_cookie_reader, struct pt_regs *regs, long id)
{
	if (ours(id))
		btf_cookie = bpf_get_attach_cookie(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
