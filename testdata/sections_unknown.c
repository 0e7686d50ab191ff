// Sections that name no program type libbpf knows (the kernel selftests use
// such names: "cls_test", "sk_skb1", "redirect_map_0"). libbpf opens them as
// programs of type unspec for the user to set; so does pybpf. A "?" prefix
// still turns autoload off, and a known section sits beside them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline int verdict(int len)
{
	return len > 64;
}

SEC("cls_test")
int cls_test_prog(struct __sk_buff *skb)
{
	return verdict(skb->len);
}

SEC("?sk_skb1")
int sk_skb1_prog(struct __sk_buff *skb)
{
	return verdict(skb->len);
}

SEC("redirect_map_0")
int redirect_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("socket")
int known_prog(struct __sk_buff *skb)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
