// BTF-defined maps (the ".maps" section) of the types a 5.10 kernel has, with
// the attributes libbpf understands: key/value by type and by size, flags,
// pinning, numa node, max_entries left to the loader (perf event array),
// inner maps and ".values" initialisers (prog array, array and hash of maps).
// Newer map types are in maps_new.c.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;

struct flow_key {
	u32 saddr;
	u32 daddr;
	unsigned short sport;
	unsigned short dport;
	u8 proto;
	u8 pad[3];
};

struct flow_stats {
	u64 packets;
	u64 bytes;
};

struct lpm_key {
	u32 prefixlen;
	u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

/* Sizes only, no BTF for key and value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, 4);
	__uint(value_size, 8);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sized_hash SEC(".maps");

/* mmapable array, the way global data sections are created. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, struct flow_stats);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, u64);
	__type(value, u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, u32);
	__type(value, u32);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 255);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, u32);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* No max_entries: the loader sets one entry per possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16);
	__type(value, u64);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 16);
	__uint(value_size, 4);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 127 * sizeof(u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} sk_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct bpf_devmap_val);
} devmap_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct bpf_cpumap_val);
} cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, struct flow_key);
	__type(value, u64);
} sockhash SEC(".maps");

/* Pinned by name under the loader's pin path; numa node 0 with its flag. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pybpf_pinned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__type(key, u32);
	__type(value, u32);
} numa SEC(".maps");

/* Map in map: named inner maps placed by ".values", and an anonymous inner definition. */
struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
};

struct inner_array inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_array);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 8);
		__type(key, u32);
		__type(value, u32);
	});
} outer_hash SEC(".maps");

/* Hash of maps filled by ".values": the index becomes the key. */
struct inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
};

struct inner_hash inner_h SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_hash);
} outer_hash_init SEC(".maps") = {
	.values = { [1] = &inner_h },
};

/* Prog array with tail call targets placed by ".values". */
SEC("socket")
int tail_target_a(struct __sk_buff *skb)
{
	return 1;
}

SEC("socket")
int tail_target_b(struct __sk_buff *skb)
{
	return 2;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(u32));
	__array(values, int(struct __sk_buff *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target_a, [3] = (void *)&tail_target_b },
};

SEC("socket")
int use_maps(struct __sk_buff *skb)
{
	struct flow_key fk = { .saddr = skb->mark, .proto = (u8)skb->protocol };
	struct flow_stats *st, zero = {};
	struct lpm_key lk = { .prefixlen = 32 };
	u32 k = 0, *v32;
	u64 v = skb->len, *v64;
	void *inner;

	st = bpf_map_lookup_elem(&flows, &fk);
	if (!st) {
		bpf_map_update_elem(&flows, &fk, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&flows, &fk);
		if (!st)
			return 0;
	}
	__sync_fetch_and_add(&st->packets, 1);
	bpf_map_update_elem(&sized_hash, &k, &v, BPF_ANY);
	v64 = bpf_map_lookup_elem(&counters, &k);
	if (v64)
		*v64 += 1;
	st = bpf_map_lookup_elem(&percpu_hash, &k);
	if (st)
		st->bytes += skb->len;
	v64 = bpf_map_lookup_elem(&percpu_array, &k);
	if (v64)
		*v64 += 1;
	bpf_map_update_elem(&lru, &v, &v, BPF_ANY);
	bpf_map_delete_elem(&lru_percpu, &k);
	v32 = bpf_map_lookup_elem(&routes, &lk);
	if (v32)
		k = *v32;
	bpf_map_push_elem(&queue, &v, BPF_EXIST);
	bpf_map_pop_elem(&stack, &k);
	bpf_ringbuf_output(&events, &v, sizeof(v), 0);
	v32 = bpf_map_lookup_elem(&pybpf_pinned, &k);
	if (v32)
		k += *v32;
	v32 = bpf_map_lookup_elem(&numa, &k);
	if (v32)
		k += *v32;
	inner = bpf_map_lookup_elem(&outer_array, &k);
	if (inner) {
		v64 = bpf_map_lookup_elem(inner, &k);
		if (v64)
			*v64 += 1;
	}
	inner = bpf_map_lookup_elem(&outer_hash, &k);
	if (inner)
		bpf_map_delete_elem(inner, &k);
	inner = bpf_map_lookup_elem(&outer_hash_init, &k);
	if (inner)
		bpf_map_delete_elem(inner, &k);
	bpf_tail_call(skb, &jump_table, k & 3);
	return 0;
}

SEC("xdp")
int redirect(struct xdp_md *ctx)
{
	switch (ctx->rx_queue_index & 3) {
	case 0:
		return bpf_redirect_map(&devmap, 0, 0);
	case 1:
		return bpf_redirect_map(&devmap_hash, 1, 0);
	case 2:
		return bpf_redirect_map(&cpumap, 0, 0);
	default:
		return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	}
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int perf_and_stacks(void *ctx)
{
	u64 id = bpf_get_stackid(ctx, &stack_traces, 0);

	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &id, sizeof(id));
	return 0;
}

SEC("sk_skb/stream_verdict")
int sock_redirect(struct __sk_buff *skb)
{
	struct flow_key fk = { .sport = (unsigned short)skb->local_port };

	if (skb->len & 1)
		return bpf_sk_redirect_map(skb, &sockmap, 0, 0);
	return bpf_sk_redirect_hash(skb, &sockhash, &fk, 0);
}

SEC("cgroup_skb/egress")
int socket_storage(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	u64 *seen;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	seen = bpf_sk_storage_get(&sk_storage, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (seen)
		*seen += 1;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
