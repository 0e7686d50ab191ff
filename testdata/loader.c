// A typical mid-sized object for loader tests and the ELF reader benchmark:
// ten programs of several types, BTF maps (hash, array, percpu, LRU, ringbuf,
// perf event array, map in map, prog array), globals in every data section,
// static and global subprograms called from several programs, tail calls, a
// bpf_loop callback and a pinned map. Loads on 5.17 (bpf_loop); the rest 5.10.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define ETH_P_IP 0x0800
#define ETH_HLEN 14

struct packet_key {
	u32 ifindex;
	u16 proto;
	u16 pad;
};

struct packet_stats {
	u64 packets;
	u64 bytes;
	u64 last_seen_ns;
};

struct event {
	u64 timestamp;
	u32 pid;
	u32 kind;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct packet_key);
	__type(value, struct packet_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} percpu_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, u64);
} recent_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8192);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pybpf_loader_pinned SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u32);
};

struct inner inner_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { &inner_map },
};

/* Configuration set before load, state updated by the programs. */
const volatile u32 target_ifindex = 0;
const volatile u64 sample_rate = 1;
const volatile char banner[8] = "pybpf";
u64 packets_seen = 0;
u32 last_proto = 1;
u64 dropped;
struct packet_stats totals;

static __always_inline u32 bump_percpu(u32 slot)
{
	u64 *v = bpf_map_lookup_elem(&percpu_counters, &slot);

	if (!v)
		return 0;
	*v += 1;
	return (u32)*v;
}

static __noinline int account(u32 ifindex, u16 proto, u32 len)
{
	struct packet_key key = { .ifindex = ifindex, .proto = proto };
	struct packet_stats *st, fresh = { .packets = 1, .bytes = len };

	st = bpf_map_lookup_elem(&stats, &key);
	if (!st)
		return bpf_map_update_elem(&stats, &key, &fresh, BPF_NOEXIST);
	__sync_fetch_and_add(&st->packets, 1);
	__sync_fetch_and_add(&st->bytes, len);
	st->last_seen_ns = bpf_ktime_get_ns();
	return 0;
}

__noinline int should_sample(u64 n)
{
	return sample_rate <= 1 || n % sample_rate == 0;
}

static __noinline void emit(u32 kind)
{
	struct event *e = bpf_ringbuf_reserve(&ring, sizeof(*e), 0);

	if (!e)
		return;
	e->timestamp = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = kind;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	u16 proto;

	if (data + ETH_HLEN > end)
		return XDP_PASS;
	if (target_ifindex && ctx->ingress_ifindex != target_ifindex)
		return XDP_PASS;
	proto = bpf_ntohs(*(u16 *)(data + 12));
	account(ctx->ingress_ifindex, proto, end - data);
	last_proto = proto;
	bump_percpu(0);
	return XDP_PASS;
}

SEC("xdp")
int xdp_drop_ip(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + ETH_HLEN > end)
		return XDP_PASS;
	if (*(u16 *)(data + 12) == bpf_htons(ETH_P_IP)) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	account(skb->ifindex, bpf_ntohs(skb->protocol), skb->len);
	totals.packets++;
	totals.bytes += skb->len;
	return TC_ACT_OK;
}

SEC("socket")
int socket_sample(struct __sk_buff *skb)
{
	u64 n = __sync_fetch_and_add(&packets_seen, 1);

	if (!should_sample(n))
		return 0;
	bump_percpu(1);
	return skb->len;
}

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct __sk_buff *skb)
{
	account(0, bpf_ntohs(skb->protocol), skb->len);
	return 1;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&recent_pids, &pid, &now, BPF_ANY);
	emit(1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int trace_getpid(void *ctx)
{
	u32 key = 0, *inner_val;
	void *inner;
	u64 n = __sync_fetch_and_add(&packets_seen, 0);

	inner = bpf_map_lookup_elem(&outer, &key);
	if (inner) {
		inner_val = bpf_map_lookup_elem(inner, &key);
		if (inner_val)
			*inner_val += 1;
	}
	if (should_sample(n))
		bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &n, sizeof(n));
	return 0;
}

SEC("raw_tp/sys_exit")
int raw_exit(void *ctx)
{
	u32 key = bump_percpu(2) & 3, *v;

	v = bpf_map_lookup_elem(&pybpf_loader_pinned, &key);
	if (v)
		*v += banner[0];
	return 0;
}

struct prog_array {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
};

struct prog_array tail_calls SEC(".maps");

SEC("socket")
int tail_entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &tail_calls, skb->len & 1);
	return 0;
}

static int count_step(u32 i, void *ctx)
{
	u64 *sum = ctx;

	*sum += i * sample_rate;
	return *sum > 1000;
}

SEC("socket")
int loop_sum(struct __sk_buff *skb)
{
	u64 sum = 0;

	bpf_loop(16, count_step, &sum, 0);
	return sum + account(skb->ifindex, 0, skb->len);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
