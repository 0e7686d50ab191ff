// A USDT probe the way libbpf's usdt.bpf.h writes it (BPF_USDT): the object
// gains libbpf's hidden helper functions (global, visibility hidden), its two
// maps (__bpf_usdt_specs, __bpf_usdt_ip_to_spec_id), a weak .kconfig extern
// (LINUX_HAS_BPF_COOKIE) and .rodata. Loads on 5.10 (the kernel sees a kprobe).
#include <stdbool.h>
#include <linux/bpf.h>
#include <asm/ptrace.h> /* struct pt_regs, UAPI field names, for bpf_tracing.h */
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

typedef unsigned long long u64;

u64 last_arg;
u64 calls;

SEC("usdt/libc.so.6:libc:setjmp")
int BPF_USDT(on_setjmp, void *env, int savemask, void *pc)
{
	calls++;
	last_arg = (u64)env + savemask;
	return 0;
}

SEC("usdt")
int BPF_USDT(on_any, long a, long b)
{
	last_arg = a * b + bpf_usdt_arg_cnt(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
