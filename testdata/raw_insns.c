// pybpf: clang=clang-19
// Instructions the kernel refuses, written as raw words (the selftests'
// __imm_insn(), as in verifier_value_illegal_alu.c and the callx tests), in
// the same ELF section as good programs. libbpf opens such an object and
// loads the good programs; only the program holding the word fails, with the
// kernel's verdict ("BPF_ALU uses reserved fields", "unknown opcode 8e").
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define RAW_INSN(CODE, DST, SRC, OFF, IMM) \
	((struct bpf_insn){ .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM) })
#define IMM_INSN(name, expr) [name] "i"(*(long *)&(expr))

int runs;

SEC("socket")
int before(void *ctx)
{
	runs++;
	return 0;
}

// ALU64 DIV X with offset -1: only 0 (div) and 1 (sdiv) are defined.
SEC("socket")
__attribute__((naked)) void reserved_offset(void)
{
	asm volatile("r0 = 1;"
		     ".8byte %[insn];"
		     "r0 = 0;"
		     "exit;"
		     :
		     : IMM_INSN(insn, RAW_INSN(BPF_ALU64 | BPF_DIV | BPF_X, 0, 0, -1, 0)));
}

// JMP32 | CALL | X: no such opcode.
SEC("socket")
__attribute__((naked)) void unknown_opcode(void)
{
	asm volatile("r0 = 0;"
		     ".8byte %[insn];"
		     "exit;"
		     :
		     : IMM_INSN(insn, RAW_INSN(BPF_JMP32 | BPF_CALL | BPF_X, 2, 0, 0, 0)));
}

// After the raw words: a global's LD_IMM64 and a relocation still land right.
SEC("socket")
int after(void *ctx)
{
	runs += 2;
	return runs;
}

char _license[] SEC("license") = "GPL";
