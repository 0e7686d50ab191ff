// One program that allows everything for each cgroup attach type, to attach
// and query them all. The unix-socket types are 6.7+ and LSM cgroup 6.0+:
// the tests load each program on its own and skip the ones the kernel lacks.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define ALLOW(sec, name, ctx_type) \
	SEC(sec) int name(ctx_type *ctx) { return 1; }

ALLOW("cgroup_skb/ingress", skb_ingress, struct __sk_buff)
ALLOW("cgroup_skb/egress", skb_egress, struct __sk_buff)
ALLOW("cgroup/sock_create", sock_create, struct bpf_sock)
ALLOW("cgroup/sock_release", sock_release, struct bpf_sock)
ALLOW("cgroup/post_bind4", post_bind4, struct bpf_sock)
ALLOW("cgroup/post_bind6", post_bind6, struct bpf_sock)
ALLOW("cgroup/bind4", bind4, struct bpf_sock_addr)
ALLOW("cgroup/bind6", bind6, struct bpf_sock_addr)
ALLOW("cgroup/connect4", connect4, struct bpf_sock_addr)
ALLOW("cgroup/connect6", connect6, struct bpf_sock_addr)
ALLOW("cgroup/connect_unix", connect_unix, struct bpf_sock_addr)
ALLOW("cgroup/sendmsg4", sendmsg4, struct bpf_sock_addr)
ALLOW("cgroup/sendmsg6", sendmsg6, struct bpf_sock_addr)
ALLOW("cgroup/sendmsg_unix", sendmsg_unix, struct bpf_sock_addr)
ALLOW("cgroup/recvmsg4", recvmsg4, struct bpf_sock_addr)
ALLOW("cgroup/recvmsg6", recvmsg6, struct bpf_sock_addr)
ALLOW("cgroup/recvmsg_unix", recvmsg_unix, struct bpf_sock_addr)
ALLOW("cgroup/getpeername4", getpeername4, struct bpf_sock_addr)
ALLOW("cgroup/getpeername6", getpeername6, struct bpf_sock_addr)
ALLOW("cgroup/getpeername_unix", getpeername_unix, struct bpf_sock_addr)
ALLOW("cgroup/getsockname4", getsockname4, struct bpf_sock_addr)
ALLOW("cgroup/getsockname6", getsockname6, struct bpf_sock_addr)
ALLOW("cgroup/getsockname_unix", getsockname_unix, struct bpf_sock_addr)
ALLOW("cgroup/sysctl", sysctl, struct bpf_sysctl)
ALLOW("cgroup/getsockopt", getsockopt, struct bpf_sockopt)
ALLOW("cgroup/setsockopt", setsockopt, struct bpf_sockopt)
ALLOW("cgroup/dev", dev, struct bpf_cgroup_dev_ctx)
ALLOW("sockops", sock_ops, struct bpf_sock_ops)
// A program of skb type whose section names no attach type.
ALLOW("cgroup/skb", skb_any, struct __sk_buff)

struct socket;
struct sockaddr;

SEC("lsm_cgroup/socket_bind")
int BPF_PROG(lsm_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
