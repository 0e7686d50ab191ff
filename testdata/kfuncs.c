// kfunc calls: extern functions in .ksyms resolved to kernel BTF ids
// (BPF_PSEUDO_KFUNC_CALL): bpf_task_acquire/bpf_task_release on a tp_btf
// argument (trusted pointer), and bpf_rcu_read_lock/unlock. Loads on 6.2+.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned long long u64;

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

u64 acquired_pid;

SEC("tp_btf/task_newtask")
int BPF_PROG(acquire_task, struct task_struct *task, u64 clone_flags)
{
	struct task_struct *acquired;

	bpf_rcu_read_lock();
	acquired = bpf_task_acquire(task);
	bpf_rcu_read_unlock();
	if (!acquired)
		return 0;
	acquired_pid = acquired->pid;
	bpf_task_release(acquired);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
