// pybpf: clang=clang-16
// CO-RE relocations of every kind against types that exist in no kernel
// ("pybpf_test_*"), for tests that build the target BTF by hand. Not loadable
// against a real kernel's BTF: the byte-offset relocations find no target
// and libbpf poisons those instructions. clang-16 for type matches.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

typedef unsigned long long u64;
typedef unsigned int u32;

enum pybpf_test_e {
	PYBPF_TEST_A = 1,
	PYBPF_TEST_B = 2,
};

typedef int pybpf_test_t;

struct pybpf_test_inner {
	u32 x;
	u64 y;
} __attribute__((preserve_access_index));

struct pybpf_test_s {
	int a;
	unsigned int b : 3;
	int c : 5;
	struct pybpf_test_inner inner;
	struct pybpf_test_inner arr[4];
	struct pybpf_test_s *next;
	union {
		u32 u_int;
		char u_bytes[4];
	};
	enum pybpf_test_e e;
	pybpf_test_t t;
} __attribute__((preserve_access_index));

/* A flavour: same essential name, one more field for "exists" to miss. */
struct pybpf_test_s___v2 {
	int a;
	long only_in_v2;
} __attribute__((preserve_access_index));

enum pybpf_test_e___v2 {
	PYBPF_TEST_B___v2 = 2,
	PYBPF_TEST_C___v2 = 3,
};

u64 out[32];

SEC("tracepoint/syscalls/sys_enter_getpid")
int core_local(void *ctx)
{
	struct pybpf_test_s *s = ctx;
	struct pybpf_test_s___v2 *v2 = ctx;

	out[0] = BPF_CORE_READ(s, a);
	out[1] = BPF_CORE_READ(s, inner.y);
	out[2] = BPF_CORE_READ(s, arr[2].x);
	out[3] = BPF_CORE_READ(s, next, next, a);
	out[4] = BPF_CORE_READ(s, u_int);
	out[5] = BPF_CORE_READ(s, e);
	out[6] = BPF_CORE_READ_BITFIELD_PROBED(s, b);
	out[7] = BPF_CORE_READ_BITFIELD_PROBED(s, c);
	out[8] = bpf_core_field_exists(s->t);
	out[9] = bpf_core_field_exists(v2->only_in_v2);
	out[10] = bpf_core_field_size(s->arr);
	out[11] = bpf_core_field_size(s->u_bytes);
	out[12] = bpf_core_field_offset(s->arr[3].y);
	out[13] = __builtin_preserve_field_info(s->c, BPF_FIELD_SIGNED);
	out[14] = __builtin_preserve_field_info(s->b, BPF_FIELD_LSHIFT_U64);
	out[15] = __builtin_preserve_field_info(s->b, BPF_FIELD_RSHIFT_U64);
	out[16] = bpf_core_type_id_local(struct pybpf_test_s);
	out[17] = bpf_core_type_id_kernel(struct pybpf_test_s);
	out[18] = bpf_core_type_exists(struct pybpf_test_s___v2);
	out[19] = bpf_core_type_size(struct pybpf_test_s);
	out[20] = bpf_core_type_matches(struct pybpf_test_s);
	out[21] = bpf_core_type_exists(pybpf_test_t);
	out[22] = bpf_core_type_size(pybpf_test_t);
	out[23] = bpf_core_type_matches(enum pybpf_test_e);
	out[24] = bpf_core_enum_value_exists(enum pybpf_test_e, PYBPF_TEST_A);
	out[25] = bpf_core_enum_value_exists(enum pybpf_test_e___v2, PYBPF_TEST_C___v2);
	out[26] = bpf_core_enum_value(enum pybpf_test_e, PYBPF_TEST_B);
	out[27] = bpf_core_enum_value(enum pybpf_test_e___v2, PYBPF_TEST_B___v2);
	out[28] = bpf_core_type_id_kernel(enum pybpf_test_e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
