// Exception callbacks (__exception_cb: a BTF decl tag "exception_callback:<name>"
// on the program's FUNC). The program never calls its callback: the loader
// appends it, as libbpf does, after the subprograms the program calls; the
// verifier finds it through the tag. Loads on 6.7+ (bpf_throw).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;

extern void bpf_throw(u64 cookie) __ksym;

#define __exception_cb(name) __attribute__((btf_decl_tag("exception_callback:" #name)))

int seen_cookie;

__attribute__((noinline)) int record(u64 cookie)
{
	seen_cookie = cookie;
	return 0;
}

/* The callback: global, called by nobody, itself calling a subprogram. */
__attribute__((noinline)) int on_throw(u64 cookie)
{
	return record(cookie) + 7;
}

static __attribute__((noinline)) int maybe_throw(struct __sk_buff *skb)
{
	if (skb->len > 10)
		bpf_throw(3);
	return 1;
}

SEC("tc")
__exception_cb(on_throw)
int throws(struct __sk_buff *skb)
{
	return maybe_throw(skb);
}

/* The same subprograms without the tag: no callback appended. */
SEC("tc")
int no_callback(struct __sk_buff *skb)
{
	return maybe_throw(skb);
}

char _license[] SEC("license") = "GPL";
