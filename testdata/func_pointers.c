// Function pointers (BPF_PSEUDO_FUNC) that point backwards: the bpf_loop
// callback is appended right after the program, which takes its address
// first; the subprogram appended after it takes the same address. libbpf
// writes the relative offset in the first half's immediate only: the second
// half stays zero, also for a negative offset. Loads on 5.17 (bpf_loop); a
// run on 64 bytes leaves total at 0+1+2 + 0+1 = 4 and returns 2.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int total;

static int add_index(__u32 index, void *ctx)
{
	total += index;
	return 0;
}

static __attribute__((noinline)) int loop_again(int n)
{
	/* Appended after add_index: a backward pointer. */
	return bpf_loop(n, add_index, NULL, 0);
}

SEC("tc")
int sum_indices(struct __sk_buff *skb)
{
	bpf_loop(3, add_index, NULL, 0);
	return loop_again(skb->len > 100 ? 4 : 2);
}

char _license[] SEC("license") = "GPL";
