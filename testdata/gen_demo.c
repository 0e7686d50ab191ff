// What `pybpf gen` turns into a typed Python module: a hash map keyed by a
// struct, an array of structs with char arrays, nested structs and an enum, a
// ring buffer whose record type is named with --type, a .rodata constant, .bss
// variables (one a struct), programs run with BPF_PROG_TEST_RUN and one that
// attaches by its section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum verdict {
	VERDICT_PASS = 0,
	VERDICT_DROP = 1,
	VERDICT_COUNT = 2,
};

struct flow_key {
	__u32 addr;
	__u16 port;
	__u8 proto;
};

struct point {
	__s32 x;
	__s32 y;
};

struct entry {
	char name[12];
	struct point where;
	enum verdict verdict;
	__u64 hits;
	__u16 samples[3];
	__u8 mac[6];
	struct point path[2];
};

struct event {
	__u32 pid;
	char comm[16];
	__u64 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct entry);
} entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* Only what maps, variables and functions use reaches BTF: this brings the
 * ring buffer's record type along, for --type event. */
const struct event *unused_event __attribute__((unused));

const volatile __u32 magic = 7;
__u64 runs;
struct point last;
__u64 getpid_calls;

SEC("socket")
int count_packet(struct __sk_buff *skb)
{
	struct flow_key key;
	__u64 one = 1, *hits;
	struct event *e;

	/* The padding is part of a hash key: zero it, as user space does. */
	__builtin_memset(&key, 0, sizeof(key));
	key.addr = magic;
	key.port = 80;
	key.proto = 6;
	hits = bpf_map_lookup_elem(&flows, &key);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	else
		bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
	runs++;
	last.x = skb->len;
	last.y = -1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	/* No bpf_get_current_pid_tgid(): socket filters may not call it on 5.10. */
	e->pid = magic;
	__builtin_memcpy(e->comm, "gen_demo", 9);
	e->len = skb->len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("xdp")
int judge(struct xdp_md *ctx)
{
	__u32 index = 0;
	struct entry *entry = bpf_map_lookup_elem(&entries, &index);

	if (!entry)
		return XDP_ABORTED;
	entry->hits++;
	return entry->verdict == VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	__sync_fetch_and_add(&getpid_calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
