// The link layer's fentry/fexit/fmod_ret/LSM tests. The fentry, fexit and
// fmod_ret programs trace net/bpf/test_run.c's bpf_fentry_test1 and
// bpf_modify_return_test, which a test run of a tracing program calls; the
// LSM program counts the file opens of one process (target_tgid, set in
// .rodata before loading). fentry_cookie reads its attach cookie (5.19+).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct file;

const volatile u32 target_tgid = 0;

u64 fentry_calls = 0;
u64 fentry_arg = 0;
u64 fexit_calls = 0;
u64 fexit_ret = 0;
u64 fmod_ret_calls = 0;
u64 lsm_calls = 0;
u64 fentry_cookie_seen = 0;

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(on_fentry, int a)
{
	__sync_fetch_and_add(&fentry_calls, 1);
	fentry_arg = a;
	return 0;
}

SEC("fexit/bpf_fentry_test1")
int BPF_PROG(on_fexit, int a, int ret)
{
	__sync_fetch_and_add(&fexit_calls, 1);
	fexit_ret = ret;
	return 0;
}

SEC("fmod_ret/bpf_modify_return_test")
int BPF_PROG(on_fmod_ret, int a, int *b, int ret)
{
	__sync_fetch_and_add(&fmod_ret_calls, 1);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		__sync_fetch_and_add(&lsm_calls, 1);
	return 0;
}

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(fentry_cookie, int a)
{
	fentry_cookie_seen = bpf_get_attach_cookie(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
