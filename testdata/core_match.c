// pybpf: clang=clang-16
// The CO-RE "type matches" relocation (BPF_TYPE_MATCHES, bpf_core_type_matches),
// which clang-14 does not know, against kernel types: a struct that matches, a
// flavour whose field has the wrong kind, a matching and a mismatching enum, a
// typedef. Loads on 5.10 (kernel BTF) with a loader that knows the relocation.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

typedef unsigned long long u64;
typedef int pid_t;

struct task_struct {
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

/* pid is an int in the kernel, not a pointer: does not match. */
struct task_struct___wrong {
	void *pid;
} __attribute__((preserve_access_index));

enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
};

/* A value the kernel's enum pid_type does not have: does not match. */
enum pid_type___wrong {
	PIDTYPE_PYBPF___wrong = 100,
};

typedef long long __s64;
typedef __s64 time64_t;

u64 matches[5];

SEC("tracepoint/syscalls/sys_enter_getpid")
int core_type_matches(void *ctx)
{
	matches[0] = bpf_core_type_matches(struct task_struct);
	matches[1] = bpf_core_type_matches(struct task_struct___wrong);
	matches[2] = bpf_core_type_matches(enum pid_type);
	matches[3] = bpf_core_type_matches(enum pid_type___wrong);
	matches[4] = bpf_core_type_matches(time64_t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
