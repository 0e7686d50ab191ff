// Global subprograms taking their program's context through __arg_ctx (a BTF
// decl tag "arg:ctx" on the parameter). Kernels from 6.8 read the tag; for
// older ones the loader gives each program its own copy of the subprogram's
// FUNC and FUNC_PROTO, the argument retyped as the context struct of the
// program's type (current libbpf's bpf_program_fixup_func_info): without it
// those kernels refuse a `void *` argument of a global function.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))

typedef unsigned long long u64;

/* tc: a `void *` context, rewritten to `struct __sk_buff *`. */
__noinline int skb_len(void *ctx __arg_ctx)
{
	struct __sk_buff *skb = ctx;

	return skb->len;
}

/* Already the context type: left as it is. */
__noinline int skb_len_typed(struct __sk_buff *skb __arg_ctx)
{
	return skb->len + 1;
}

/* Shared by tc and xdp: each program gets its own retyped copy. */
__noinline int ctx_seen(void *ctx __arg_ctx, int extra)
{
	return extra + 1;
}

/* xdp: rewritten to `struct xdp_md *`. */
__noinline int xdp_len(void *ctx __arg_ctx)
{
	struct xdp_md *xdp = ctx;

	return xdp->data_end - xdp->data;
}

/* kprobe: rewritten to `struct bpf_user_pt_regs_t *`. */
__noinline int first_reg(void *ctx __arg_ctx)
{
	unsigned long *regs = ctx;

	return regs[0] & 1;
}

/* raw_tp: a `u64 *` is the arguments array, rewritten too. */
__noinline int first_arg(u64 *args __arg_ctx)
{
	return args[0] != 0;
}

SEC("tc")
int tc_void(struct __sk_buff *skb)
{
	return skb_len(skb);
}

/* clang -O2 counts on r1 surviving a call to a subprogram that leaves it
 * alone; the verifier does not: each program calls one subprogram. */
SEC("tc")
int tc_shared(struct __sk_buff *skb)
{
	return ctx_seen(skb, 41);
}

SEC("xdp")
int xdp_shared(struct xdp_md *ctx)
{
	return ctx_seen(ctx, 1);
}

SEC("tc")
int tc_typed(struct __sk_buff *skb)
{
	return skb_len_typed(skb);
}

SEC("xdp")
int xdp_void(struct xdp_md *ctx)
{
	return xdp_len(ctx) == 64 ? XDP_PASS : XDP_DROP;
}

SEC("kprobe/do_nanosleep")
int kprobe_void(void *ctx)
{
	return first_reg(ctx);
}

SEC("raw_tp/sys_enter")
int raw_tp_args(void *ctx)
{
	return first_arg(ctx);
}

char _license[] SEC("license") = "GPL";
