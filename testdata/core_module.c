// CO-RE against a kernel module's BTF, and tracing programs attached to a
// module's functions. struct nf_conntrack_l4proto is in nf_conntrack's BTF
// only (vmlinux has none): its relocations resolve against the module's types
// (split ids). l4proto_layout stores what they give; l4proto_found, an fexit
// named "module:function" (libbpf 1.5+), reads one through BPF_CORE_READ;
// conn_free, an fentry on a module function named alone, reads struct
// nf_conn, which vmlinux has (so vmlinux's wins). Local layouts differ from
// the kernel's on purpose.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

struct nf_conntrack_l4proto {
	u8 l4proto;
	const void *nla_policy;
} __attribute__((preserve_access_index));

/* A flavour asking about a field the kernel's lacks. */
struct nf_conntrack_l4proto___pybpf {
	u8 l4proto;
	int pybpf_no_such_field;
} __attribute__((preserve_access_index));

struct nf_conn {
	unsigned long status;
} __attribute__((preserve_access_index));

u32 l4proto_id, l4proto_size, policy_offset, policy_exists, missing_exists;
u32 found_l4proto, found_policy;
u64 freed_status;

SEC("socket")
int l4proto_layout(struct __sk_buff *skb)
{
	l4proto_id = bpf_core_type_id_kernel(struct nf_conntrack_l4proto);
	l4proto_size = bpf_core_type_size(struct nf_conntrack_l4proto);
	policy_offset = bpf_core_field_offset(struct nf_conntrack_l4proto, nla_policy);
	policy_exists = bpf_core_field_exists(struct nf_conntrack_l4proto, nla_policy);
	missing_exists = bpf_core_field_exists(struct nf_conntrack_l4proto___pybpf,
					       pybpf_no_such_field);
	return 0;
}

SEC("fexit/nf_conntrack:nf_ct_l4proto_find")
int BPF_PROG(l4proto_found, u8 proto, const struct nf_conntrack_l4proto *ret)
{
	found_l4proto = BPF_CORE_READ(ret, l4proto);
	found_policy = BPF_CORE_READ(ret, nla_policy) != 0;
	return 0;
}

SEC("fentry/nf_conntrack_free")
int BPF_PROG(conn_free, struct nf_conn *ct)
{
	freed_status = BPF_CORE_READ(ct, status);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
