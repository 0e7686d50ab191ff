// .ksyms variables: a typed per-CPU one ("runqueues", through kernel BTF), an
// untyped one ("schedule", through kallsyms), weak ones no kernel has (typed
// and untyped: address 0). Loads on 5.10 with CONFIG_KALLSYMS_ALL (Debian
// kernels): without it, as on the 6.18 host, the kernel cannot find the
// address of "runqueues" ("ldimm64 failed to find the address for kernel
// symbol") and kallsyms does not list data symbols at all.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;

struct rq {
	int cpu;
} __attribute__((preserve_access_index));

extern const struct rq runqueues __ksym;
extern const void schedule __ksym;
extern const void bpf_prog_active __ksym __weak;
extern const void pybpf_no_such_symbol __ksym __weak;
extern const int pybpf_no_such_typed_symbol __ksym __weak;

u64 seen[4];

SEC("raw_tp/sys_enter")
int read_ksyms(void *ctx)
{
	struct rq *rq = bpf_this_cpu_ptr(&runqueues);

	seen[0] = rq->cpu;
	seen[1] = (u64)&schedule;
	seen[2] = (u64)&bpf_prog_active;
	seen[3] = (u64)&pybpf_no_such_symbol + (u64)&pybpf_no_such_typed_symbol;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
