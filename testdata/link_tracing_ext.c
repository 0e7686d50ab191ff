// The link layer's freplace test: a tc program whose answer comes from a
// global function, and a freplace program that replaces that function
// (loaded with the tc program as its target, attached by pybpf.link.freplace).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__noinline int answer(int x)
{
	return x + 1;
}

SEC("tc")
int ask(struct __sk_buff *skb)
{
	return answer(skb->len > 0);
}

SEC("freplace/answer")
int new_answer(int x)
{
	return 42;
}

char LICENSE[] SEC("license") = "GPL";
