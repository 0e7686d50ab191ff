// pybpf: link=linked_statics_part.c endian=el
// Statically linked from linked_statics.c and linked_statics_part.c by
// `bpftool gen object`, as the kernel's selftests link test_static_linked1.c
// and test_static_linked2.c: each file has static variables of the same names
// (.data, .bss and a function-scope static), so the linked object has two
// ELF symbols and two BTF variables of each name. The linker fills the
// DATASECs with the right offsets; a reader matching variables to symbols by
// name alone would give both copies one offset. Loads on 5.10.
// Little-endian only (libbpf 1.1.2's linker, see linked.c).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static volatile long shared_name = 101;
static volatile int shared_zero;
int first_out;

SEC("socket")
int statics_first(struct __sk_buff *skb)
{
	static volatile int calls;

	calls += 1;
	first_out = shared_name + shared_zero + calls;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
