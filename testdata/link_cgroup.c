// The link layer's cgroup tests: programs whose effect a process in the
// cgroup sees (a refused socket, connect or device open) or that count what
// it does (packets sent, sysctls read). Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

typedef unsigned long long u64;
typedef unsigned int u32;

#define SOCK_DGRAM 2
#define DEV_NULL_MAJOR 1
#define DEV_NULL_MINOR 3

// The port connect4 refuses (host byte order), set before loading.
const volatile u32 deny_port = 0;

u64 egress_packets = 0;
u64 sockets_refused = 0;
u64 connects_refused = 0;
u64 devices_refused = 0;
u64 sysctl_reads = 0;

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&egress_packets, 1);
	return 1;
}

SEC("cgroup/sock_create")
int deny_udp_socket(struct bpf_sock *ctx)
{
	if (ctx->type != SOCK_DGRAM)
		return 1;
	__sync_fetch_and_add(&sockets_refused, 1);
	return 0;
}

SEC("cgroup/connect4")
int deny_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port != bpf_htons(deny_port))
		return 1;
	__sync_fetch_and_add(&connects_refused, 1);
	return 0;
}

SEC("cgroup/dev")
int deny_dev_null(struct bpf_cgroup_dev_ctx *ctx)
{
	if ((ctx->access_type & 0xffff) != BPF_DEVCG_DEV_CHAR || ctx->major != DEV_NULL_MAJOR ||
	    ctx->minor != DEV_NULL_MINOR)
		return 1;
	__sync_fetch_and_add(&devices_refused, 1);
	return 0;
}

SEC("cgroup/sysctl")
int count_sysctl_reads(struct bpf_sysctl *ctx)
{
	if (!ctx->write)
		__sync_fetch_and_add(&sysctl_reads, 1);
	return 1;
}

// A second program of the same attach type, for ordering and replacing.
SEC("cgroup/sysctl")
int allow_sysctl(struct bpf_sysctl *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
