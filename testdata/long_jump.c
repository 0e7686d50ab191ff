// pybpf: clang=clang-19 cflags=-mcpu=v4
// A conditional branch over more than 32767 instructions: the jump offset does
// not fit the 16-bit field, so clang (cpu v4) inverts the condition and jumps
// with gotol (BPF_JMP32 | BPF_JA, 32-bit offset in imm). Large on purpose:
// about 40,000 instructions. Loads on 6.6+.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;

volatile u64 acc;

#define STEP(i) acc = acc * 7 + (i);
#define S10(i) STEP(i##0) STEP(i##1) STEP(i##2) STEP(i##3) STEP(i##4) \
	STEP(i##5) STEP(i##6) STEP(i##7) STEP(i##8) STEP(i##9)
#define S100(i) S10(i##0) S10(i##1) S10(i##2) S10(i##3) S10(i##4) \
	S10(i##5) S10(i##6) S10(i##7) S10(i##8) S10(i##9)
#define S1000(i) S100(i##0) S100(i##1) S100(i##2) S100(i##3) S100(i##4) \
	S100(i##5) S100(i##6) S100(i##7) S100(i##8) S100(i##9)

SEC("socket")
int long_jump(struct __sk_buff *skb)
{
	if (skb->len > 64) {
		S1000(1)
		S1000(2)
		S1000(3)
		S1000(4)
		S1000(5)
		S1000(6)
		S1000(7)
		S1000(8)
		S1000(9)
	}
	return acc & 1;
}

char LICENSE[] SEC("license") = "GPL";
