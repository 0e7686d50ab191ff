// CO-RE relocations against real kernel types (they exist in 6.18's vmlinux
// BTF), declared locally with only the fields used: every relocation kind
// clang-14 emits. Field: byte offset (plain, nested struct, array element,
// pointer chains, non-zero first index), byte size, exists, signed,
// lshift/rshift of bitfields. Type: id local/target, exists, size. Enum value:
// exists, value. Flavours ("___v1") of a type with a field the kernel lacks.
// Type matches needs a newer clang: core_match.c. Loads on 5.10 (needs kernel
// BTF) with the loader doing CO-RE against /sys/kernel/btf/vmlinux.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef int pid_t;

struct sched_entity {
	u64 vruntime;
	u64 sum_exec_runtime;
} __attribute__((preserve_access_index));

struct mm_struct {
	unsigned long total_vm;
} __attribute__((preserve_access_index));

struct task_struct {
	unsigned int flags;
	struct sched_entity se;
	struct mm_struct *mm;
	unsigned int sched_reset_on_fork : 1;
	unsigned int sched_contributes_to_load : 1;
	unsigned int in_execve : 1;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	char comm[16];
} __attribute__((preserve_access_index));

/* A flavour: matches the kernel's task_struct, but asks about a field it lacks. */
struct task_struct___v1 {
	pid_t pid;
	int pybpf_no_such_field;
} __attribute__((preserve_access_index));

/* A type the kernel does not have at all. */
struct pybpf_no_such_type {
	int x;
} __attribute__((preserve_access_index));

enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
	PIDTYPE_MAX,
};

/* A flavour of the same enum with a value the kernel lacks. */
enum pid_type___v1 {
	PIDTYPE_TGID___v1 = 1,
	PIDTYPE_PYBPF_MISSING___v1 = 100,
};

struct results {
	u64 pid;
	u64 parent_tgid;
	u64 vruntime;
	u64 total_vm;
	u64 comm_char;
	u64 next_pid;
	u64 comm_size;
	u64 pid_offset;
	u64 pid_exists;
	u64 missing_field_exists;
	u64 pid_signed;
	u64 flags_signed;
	u64 in_execve;
	u64 reset_on_fork;
	u64 type_id_local;
	u64 type_id_kernel;
	u64 type_exists;
	u64 missing_type_exists;
	u64 type_size;
	u64 enum_exists;
	u64 missing_enum_exists;
	u64 enum_value;
	u64 btf_pid;
	u64 btf_in_execve;
	u64 btf_comm_char;
};

struct results results;

SEC("tracepoint/syscalls/sys_enter_getpid")
int core_probe_read(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___v1 *v1 = (void *)task;
	char c = 0;

	/* Field byte offsets, through pointer chains and nested members. */
	results.pid = BPF_CORE_READ(task, pid);
	results.parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	results.vruntime = BPF_CORE_READ(task, se.vruntime);
	results.total_vm = BPF_CORE_READ(task, mm, total_vm);
	/* Array element in the access string: "0:N:3". */
	bpf_core_read(&c, 1, &task->comm[3]);
	results.comm_char = c;
	/* A non-zero first index: "1:P" (reads past the task; only the offset matters). */
	bpf_core_read(&results.next_pid, sizeof(pid_t), &task[1].pid);

	results.comm_size = bpf_core_field_size(task->comm);
	results.pid_offset = bpf_core_field_offset(task->pid);
	results.pid_exists = bpf_core_field_exists(task->pid);
	results.missing_field_exists = bpf_core_field_exists(v1->pybpf_no_such_field);
	results.pid_signed = __builtin_preserve_field_info(task->pid, BPF_FIELD_SIGNED);
	results.flags_signed = __builtin_preserve_field_info(task->flags, BPF_FIELD_SIGNED);

	/* Bitfields: byte offset, byte size, lshift, rshift (and signedness). */
	results.in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	results.reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);

	results.type_id_local = bpf_core_type_id_local(struct task_struct);
	results.type_id_kernel = bpf_core_type_id_kernel(struct task_struct);
	results.type_exists = bpf_core_type_exists(struct task_struct);
	results.missing_type_exists = bpf_core_type_exists(struct pybpf_no_such_type);
	results.type_size = bpf_core_type_size(struct task_struct);

	results.enum_exists = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID);
	results.missing_enum_exists =
		bpf_core_enum_value_exists(enum pid_type___v1, PIDTYPE_PYBPF_MISSING___v1);
	results.enum_value = bpf_core_enum_value(enum pid_type___v1, PIDTYPE_TGID___v1);
	return 0;
}

/* Direct loads through BTF pointers, relocated the same way, no probe read. */
SEC("tp_btf/sched_switch")
int BPF_PROG(core_btf_pointers, _Bool preempt, struct task_struct *prev, struct task_struct *next)
{
	results.btf_pid = next->pid;
	results.btf_in_execve = BPF_CORE_READ_BITFIELD(next, in_execve);
	results.btf_comm_char = prev->comm[1];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
