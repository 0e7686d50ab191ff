// One function without SEC(), the object's only function: it lands in .text
// and libbpf (1.0 to 1.4) opens it as the object's one program, of type unspec
// and section ".text". Any second function would make it a subprogram.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int lone_filter(struct __sk_buff *skb)
{
	return skb->len;
}

char _license[] SEC("license") = "GPL";
