// pybpf: clang=clang-19 cflags=-mcpu=v4
// The cpu v4 additions (kernel 6.6+): signed division and modulo, sign-extending
// moves and loads (BPF_MEMSX), unconditional byte swaps (BPF_ALU64 | BPF_END),
// stores of immediates as clang emits them for v4, and may_goto (6.9+).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef int s32;
typedef short s16;
typedef signed char s8;

struct sample {
	s8 a;
	s16 b;
	s32 c;
	s64 d;
};

struct sample sample = { -1, -2, -3, -4 };
/* Results go to 64-bit globals so that clang keeps the 64-bit forms. */
s64 sink64;
s32 sink32;

SEC("socket")
int sdiv_smod(struct __sk_buff *skb)
{
	s64 a = -(s64)skb->len, b = (s64)skb->mark - 5;
	s32 c = -(s32)skb->priority, d = (s32)skb->protocol - 7;

	if (b == 0 || d == 0)
		return 0;
	sink64 = a / b;
	sink64 += a % b;
	sink64 += a / -3;
	sink64 += a % -3;
	sink32 = c / d;
	sink32 += c % d;
	sink32 += c / -3;
	sink32 += c % -3;
	return 0;
}

SEC("socket")
int movsx(struct __sk_buff *skb)
{
	u64 x = skb->len;
	u32 y = skb->mark;

	/* 64-bit from 8/16/32, 32-bit from 8/16. */
	sink64 = (s64)(s8)x * (s64)(s16)x * (s64)(s32)x;
	sink32 = (s32)(s8)y * (s32)(s16)y;
	return 0;
}

SEC("socket")
int ldsx(struct __sk_buff *skb)
{
	volatile struct sample *p = &sample;
	s64 sum = p->a;

	sum *= p->b;
	sum *= p->c;
	sum *= p->d;
	sink64 = sum;
	return 0;
}

SEC("socket")
int bswap(struct __sk_buff *skb)
{
	u64 x = skb->hash;

	sink64 = __builtin_bswap16((unsigned short)x);
	sink64 ^= __builtin_bswap32((u32)x);
	sink64 ^= __builtin_bswap64(x);
	return 0;
}

SEC("socket")
int store_imm(struct __sk_buff *skb)
{
	sample.a = 1;
	sample.b = 2;
	sample.c = 3;
	sample.d = 4;
	return skb->len;
}

/* Each v4 opcode once more in assembly, in every operand form, so none depends
 * on what the optimizer chose above. */
SEC("socket")
int v4_asm(struct __sk_buff *skb)
{
	u64 a = skb->len, b = skb->mark;
	u32 c = skb->priority, d = skb->protocol;

	asm volatile(
		"%[a] s/= %[b]\n" "%[a] s/= -3\n"
		"%[a] s%%= %[b]\n" "%[a] s%%= -3\n"
		"%[c] s/= %[d]\n" "%[c] s/= -3\n"
		"%[c] s%%= %[d]\n" "%[c] s%%= -3\n"
		"%[b] = (s8)%[a]\n" "%[b] = (s16)%[a]\n" "%[b] = (s32)%[a]\n"
		"%[d] = (s8)%[c]\n" "%[d] = (s16)%[c]\n"
		"%[a] = bswap16 %[a]\n" "%[a] = bswap32 %[a]\n" "%[a] = bswap64 %[a]\n"
		"gotol +0\n"
		: [a] "+r"(a), [b] "+r"(b), [c] "+w"(c), [d] "+w"(d));
	sink64 = a + b;
	sink32 = c + d;
	return 0;
}

/* may_goto: a loop the verifier bounds itself (what bpf_experimental.h's can_loop is). */
SEC("socket")
int may_goto(struct __sk_buff *skb)
{
	u64 n = 0;

	asm volatile(
		"1:\n"
		"may_goto 2f\n"
		"%[n] += 1\n"
		"goto 1b\n"
		"2:\n"
		: [n] "+r"(n));
	return n + skb->len;
}

char LICENSE[] SEC("license") = "GPL";
