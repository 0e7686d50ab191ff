// pybpf: clang=clang-19 cflags=-mcpu=v3
// Every instruction class and opcode of the v3 instruction set, for the asm
// reader's conformance tests. clang-19 because clang-14's assembler has no
// BPF_ST (store immediate); -mcpu=v3 keeps it loadable on 5.10.
// Atomics live in atomics.c (they need 5.12), v4 opcodes in v4.c.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* Legacy packet access (LD_ABS / LD_IND), the way samples/bpf wrote it. */
u64 load_byte(void *skb, u64 off) asm("llvm.bpf.load.byte");
u64 load_half(void *skb, u64 off) asm("llvm.bpf.load.half");
u64 load_word(void *skb, u64 off) asm("llvm.bpf.load.word");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} values SEC(".maps");

/* One global of each kind of data section: LD_IMM64 with BPF_PSEUDO_MAP_VALUE. */
u64 data_counter = 1;
const volatile u64 rodata_seed = 0x0123456789abcdefULL;
u64 bss_total;

/* Every ALU op, 64-bit, register and immediate source. */
SEC("socket")
int alu64(struct __sk_buff *skb)
{
	u64 a = skb->len, b = skb->protocol;

	asm volatile(
		"%[a] += %[b]\n"  "%[a] += 3\n"
		"%[a] -= %[b]\n"  "%[a] -= 3\n"
		"%[a] *= %[b]\n"  "%[a] *= 3\n"
		"%[a] /= %[b]\n"  "%[a] /= 3\n"
		"%[a] %%= %[b]\n" "%[a] %%= 3\n"
		"%[a] |= %[b]\n"  "%[a] |= 3\n"
		"%[a] &= %[b]\n"  "%[a] &= 3\n"
		"%[a] ^= %[b]\n"  "%[a] ^= 3\n"
		"%[a] <<= %[b]\n" "%[a] <<= 3\n"
		"%[a] >>= %[b]\n" "%[a] >>= 3\n"
		"%[a] s>>= %[b]\n" "%[a] s>>= 3\n"
		"%[a] = -%[a]\n"
		"%[b] = %[a]\n"   "%[a] = 3\n"
		"%[a] += %[b]\n"
		: [a] "+r"(a), [b] "+r"(b));
	return a;
}

/* Every ALU op, 32-bit (BPF_ALU class), register and immediate source. */
SEC("socket")
int alu32(struct __sk_buff *skb)
{
	u32 a = skb->len, b = skb->protocol;

	asm volatile(
		"%[a] += %[b]\n"  "%[a] += 3\n"
		"%[a] -= %[b]\n"  "%[a] -= 3\n"
		"%[a] *= %[b]\n"  "%[a] *= 3\n"
		"%[a] /= %[b]\n"  "%[a] /= 3\n"
		"%[a] %%= %[b]\n" "%[a] %%= 3\n"
		"%[a] |= %[b]\n"  "%[a] |= 3\n"
		"%[a] &= %[b]\n"  "%[a] &= 3\n"
		"%[a] ^= %[b]\n"  "%[a] ^= 3\n"
		"%[a] <<= %[b]\n" "%[a] <<= 3\n"
		"%[a] >>= %[b]\n" "%[a] >>= 3\n"
		"%[a] s>>= %[b]\n" "%[a] s>>= 3\n"
		"%[a] = -%[a]\n"
		"%[b] = %[a]\n"   "%[a] = 3\n"
		"%[a] += %[b]\n"
		: [a] "+w"(a), [b] "+w"(b));
	return a;
}

/* Byte swaps: to big and to little endian, 16/32/64 bits. */
SEC("socket")
int endian(struct __sk_buff *skb)
{
	u64 a = skb->len;

	asm volatile(
		"%[a] = be16 %[a]\n"
		"%[a] = be32 %[a]\n"
		"%[a] = be64 %[a]\n"
		"%[a] = le16 %[a]\n"
		"%[a] = le32 %[a]\n"
		"%[a] = le64 %[a]\n"
		: [a] "+r"(a));
	/* The same from C: clang picks be or le depending on the target. */
	return a + bpf_htons((u16)skb->protocol) + bpf_ntohl(skb->mark) +
	       __builtin_bswap64(skb->hash);
}

#define JUMPS(r, s)                                       \
	"if " r " == " s " goto 1f\n" "%[n] += 1\n" "1:\n"  \
	"if " r " != " s " goto 1f\n" "%[n] += 1\n" "1:\n"  \
	"if " r " > " s " goto 1f\n" "%[n] += 1\n" "1:\n"   \
	"if " r " >= " s " goto 1f\n" "%[n] += 1\n" "1:\n"  \
	"if " r " < " s " goto 1f\n" "%[n] += 1\n" "1:\n"   \
	"if " r " <= " s " goto 1f\n" "%[n] += 1\n" "1:\n"  \
	"if " r " s> " s " goto 1f\n" "%[n] += 1\n" "1:\n"  \
	"if " r " s>= " s " goto 1f\n" "%[n] += 1\n" "1:\n" \
	"if " r " s< " s " goto 1f\n" "%[n] += 1\n" "1:\n"  \
	"if " r " s<= " s " goto 1f\n" "%[n] += 1\n" "1:\n" \
	"if " r " & " s " goto 1f\n" "%[n] += 1\n" "1:\n"

/* Every conditional jump, BPF_JMP and BPF_JMP32, register and immediate. */
SEC("socket")
int jumps(struct __sk_buff *skb)
{
	u64 a = skb->len, b = skb->protocol, n = 0;
	u32 c = skb->mark, d = skb->priority;

	asm volatile(
		JUMPS("%[a]", "%[b]")
		JUMPS("%[a]", "7")
		JUMPS("%[c]", "%[d]")
		JUMPS("%[c]", "-7")
		"if %[a] == 0 goto 2f\n"
		"goto 1f\n"
		"2:\n"
		"%[n] += 100\n"
		"1:\n"
		: [n] "+r"(n)
		: [a] "r"(a), [b] "r"(b), [c] "w"(c), [d] "w"(d));
	return n;
}

/* LDX, STX and ST of every size, against the stack and a map value. */
SEC("socket")
int memory(struct __sk_buff *skb)
{
	u64 v = skb->len, sum = 0;
	u64 buf[8];
	u32 key = 0;
	u64 *slot;

	asm volatile(
		"*(u64 *)(%[p] + 56) = %[v]\n"
		"*(u32 *)(%[p] + 48) = %[v]\n"
		"*(u32 *)(%[p] + 52) = %[v]\n"
		"*(u16 *)(%[p] + 40) = %[v]\n"
		"*(u16 *)(%[p] + 42) = %[v]\n"
		"*(u32 *)(%[p] + 44) = %[v]\n"
		"*(u8 *)(%[p] + 32) = %[v]\n"
		"*(u8 *)(%[p] + 33) = %[v]\n"
		"*(u16 *)(%[p] + 34) = %[v]\n"
		"*(u32 *)(%[p] + 36) = %[v]\n"
		"*(u64 *)(%[p] + 24) = 42\n"
		"*(u32 *)(%[p] + 16) = -1\n"
		"*(u32 *)(%[p] + 20) = 7\n"
		"*(u16 *)(%[p] + 8) = 1\n"
		"*(u16 *)(%[p] + 10) = 2\n"
		"*(u32 *)(%[p] + 12) = 3\n"
		"*(u8 *)(%[p] + 0) = 1\n"
		"*(u8 *)(%[p] + 1) = 2\n"
		"*(u16 *)(%[p] + 2) = 3\n"
		"*(u32 *)(%[p] + 4) = 4\n"
		"r1 = *(u64 *)(%[p] + 56)\n"  "%[sum] += r1\n"
		"r1 = *(u32 *)(%[p] + 48)\n" "%[sum] += r1\n"
		"r1 = *(u16 *)(%[p] + 40)\n" "%[sum] += r1\n"
		"r1 = *(u8 *)(%[p] + 32)\n"  "%[sum] += r1\n"
		"r1 = *(u64 *)(%[p] + 24)\n" "%[sum] += r1\n"
		"r1 = *(u32 *)(%[p] + 16)\n" "%[sum] += r1\n"
		"r1 = *(u16 *)(%[p] + 8)\n" "%[sum] += r1\n"
		"r1 = *(u8 *)(%[p] + 0)\n"  "%[sum] += r1\n"
		: [sum] "+r"(sum)
		: [v] "r"(v), [p] "r"(buf)
		: "r1", "memory");

	slot = bpf_map_lookup_elem(&values, &key);
	if (!slot)
		return 0;
	*slot += sum;
	*(u32 *)slot = (u32)sum;
	*(u16 *)slot = (u16)sum;
	*(u8 *)slot = (u8)sum;
	return *slot + *(u32 *)slot + *(u16 *)slot + *(u8 *)slot;
}

/* LD_IMM64: map fd, map values in .data/.rodata/.bss, and plain 64-bit constants. */
SEC("socket")
int ld_imm64(struct __sk_buff *skb)
{
	u64 big = 0xfedcba9876543210ULL, k;
	u32 key = 1;
	u64 *slot;

	asm volatile("%[k] = 0x1122334455667788 ll\n" : [k] "=r"(k));
	data_counter += skb->len;
	bss_total += data_counter ^ rodata_seed;
	slot = bpf_map_lookup_elem(&values, &key);
	if (slot)
		*slot = big + k;
	return bss_total == 0xffffffffffULL;
}

/* LD_ABS and LD_IND of every size. */
SEC("socket")
int legacy_packet(struct __sk_buff *skb)
{
	u64 off = skb->len & 7;

	return load_byte(skb, 23) + load_half(skb, 12) + load_word(skb, 26) +
	       load_byte(skb, off) + load_half(skb, off + 2) + load_word(skb, off + 4);
}

/* bpf-to-bpf calls: a static subprogram, a global function, a chain of calls. */
static __noinline u64 static_add(u64 a, u64 b)
{
	return a + b + bpf_get_prandom_u32();
}

__noinline int global_mul(int a, int b)
{
	return a * b;
}

static __noinline u64 static_chain(u64 a)
{
	return static_add(a, 1) + global_mul((int)a, 3);
}

SEC("socket")
int calls(struct __sk_buff *skb)
{
	return static_chain(skb->len) + static_add(skb->mark, skb->priority);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
