// pybpf: clang=clang-19
// A map load the compiler left alone: an LD_IMM64 of a map fd (-1) written as
// raw bytes, with no relocation, as the kernel's verifier selftests write them
// (verifier_cgroup_storage.c, "fd 1 is not pointing to valid bpf_map"). libbpf
// relocates only what a relocation names and hands this instruction to the
// kernel as it is: the kernel judges the fd. A loader must do the same, and a
// user may put a map fd of their own there. Returns the u32 at key 0 of that
// map, 0 without one. Loads on 5.10 with a real map fd in place of -1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
__attribute__((naked)) void raw_map_fd(void)
{
	asm volatile (
	"r1 = 0;"
	"*(u32 *)(r10 - 4) = r1;"
	"r2 = r10;"
	"r2 += -4;"
	".8byte %[ld_map_fd];"
	".8byte 0;"
	"call %[bpf_map_lookup_elem];"
	"if r0 == 0 goto 1f;"
	"r0 = *(u32 *)(r0 + 0);"
	"exit;"
	"1: r0 = 0;"
	"exit;"
	:
	: [ld_map_fd]"i"(*(long *)&((struct bpf_insn){
		.code = BPF_LD | BPF_DW | BPF_IMM,
		.dst_reg = BPF_REG_1,
		.src_reg = BPF_PSEUDO_MAP_FD,
		.imm = -1,
	  })),
	  [bpf_map_lookup_elem]"i"(bpf_map_lookup_elem)
	: "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

char LICENSE[] SEC("license") = "GPL";
