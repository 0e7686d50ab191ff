// .kconfig externs the loader fills in: LINUX_KERNEL_VERSION, an int (CONFIG_HZ),
// a bool (CONFIG_BPF_SYSCALL), a tristate (CONFIG_BPF_LSM), a string
// (CONFIG_LSM), libbpf's LINUX_HAS_SYSCALL_WRAPPER, and weak ones no kernel
// has (they read as zero). Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_LSM __kconfig __weak;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern const char CONFIG_LSM[128] __kconfig __weak;
extern int CONFIG_PYBPF_NO_SUCH_OPTION __kconfig __weak;
extern enum libbpf_tristate CONFIG_PYBPF_NO_SUCH_TRISTATE __kconfig __weak;
extern _Bool CONFIG_PYBPF_NO_SUCH_BOOL __kconfig __weak;

u64 seen[9];

SEC("socket")
int read_kconfig(struct __sk_buff *skb)
{
	seen[0] = LINUX_KERNEL_VERSION;
	seen[1] = CONFIG_HZ;
	seen[2] = CONFIG_BPF_SYSCALL;
	seen[3] = CONFIG_BPF_LSM == TRI_YES;
	seen[4] = LINUX_HAS_SYSCALL_WRAPPER;
	seen[5] = CONFIG_LSM[0];
	seen[6] = CONFIG_PYBPF_NO_SUCH_OPTION;
	seen[7] = CONFIG_PYBPF_NO_SUCH_TRISTATE;
	seen[8] = CONFIG_PYBPF_NO_SUCH_BOOL;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
