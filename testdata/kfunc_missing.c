// A strong kfunc no kernel has, called only by a program left unloaded
// (SEC("?socket")), beside a plain socket filter. libbpf resolves every extern
// of an object before it loads any program (bpf_object__resolve_externs): the
// missing one fails the whole load ("extern (func ksym) ... not found in kernel
// or module BTFs"), though no loaded program calls it; selftest
// task_kfunc_success.c (bpf_task_kptr_get, gone from 6.x) shows it. A loader
// that selects programs by name answers only for those. `plain` returns 1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_pybpf_no_such_kfunc(int x) __ksym;

SEC("socket")
int plain(struct __sk_buff *skb)
{
	return 1;
}

SEC("?socket")
int calls_missing(struct __sk_buff *skb)
{
	return bpf_pybpf_no_such_kfunc(skb->len);
}

char LICENSE[] SEC("license") = "GPL";
