// Second half of linked_statics.o (see linked_statics.c); built only as part of it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static volatile int part_only = 7;
static volatile long shared_name = 202;
static volatile int shared_zero;
int second_out;

SEC("socket")
int statics_second(struct __sk_buff *skb)
{
	static volatile int calls;

	calls += 2;
	second_out = part_only + shared_name + shared_zero + calls;
	return 0;
}
