// Global variables of hidden visibility (__hidden, as selftests' private()
// macro makes them): libbpf's btf_fixup_datasec makes their BTF VARs static,
// so a data section holding only such variables is no BPF_F_MMAPABLE map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __hidden __attribute__((visibility("hidden")))

/* Only hidden variables: not mmapable. */
SEC(".data.priv") __hidden int priv_count = 1;
SEC(".data.priv") __hidden long priv_total = 2;

/* A hidden and a visible variable: still mmapable. */
__hidden int hidden_hits = 3;
int visible_hits = 4;

SEC("socket")
int count(struct __sk_buff *skb)
{
	priv_count++;
	priv_total += skb->len;
	hidden_hits++;
	visible_hits++;
	return 0;
}

char _license[] SEC("license") = "GPL";
