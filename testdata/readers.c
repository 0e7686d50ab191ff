// Event producers for the ring buffer and perf buffer readers, driven by
// BPF_PROG_TEST_RUN: XDP programs, so that one run with repeat=N writes N
// records (raw_tp and syscall programs take no repeat), on the CPU the caller
// runs on (XDP's test run stays on the current CPU).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* A second ring, for readers waiting on several at once. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} other SEC(".maps");

/* max_entries is left to the loader: one slot per possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} samples SEC(".maps");

struct pair {
	u16 lo;
	u16 hi;
};

/* A typed record: ints, a char array and an array of nested structs. */
struct event {
	/* Numbers the records. Tests run one program at a time, so a plain increment
 * does: an atomic fetch-and-add would need Linux 5.12 (BPF_FETCH). */
u64 seq;
	u32 cpu;
	u32 len;
	char comm[8];
	struct pair pairs[2];
};

/* What every record starts with; its size is set by the caller. */
struct header {
	/* Numbers the records. Tests run one program at a time, so a plain increment
 * does: an atomic fetch-and-add would need Linux 5.12 (BPF_FETCH). */
u64 seq;
	u32 cpu;
	u32 len;
};

/* Keep the record types in the object's BTF, for readers that decode them. */
struct event *const unused_event __attribute__((unused));
struct header *const unused_header __attribute__((unused));

#define PAYLOAD_MAX 512

/* Numbers the records. Tests run one program at a time, so a plain increment
 * does: an atomic fetch-and-add would need Linux 5.12 (BPF_FETCH). */
u64 seq;
/* Bytes per record written by out_bytes, other_bytes and perf_bytes (16..512). */
u32 size = 16;
/* event_reserve discards the records whose seq is a multiple of this (0: none). */
u32 discard_every;
/* Records the producer could not write: the ring or the perf buffer was full. */
u64 dropped;
char payload[PAYLOAD_MAX];

static __always_inline u32 fill_payload(void)
{
	struct header *h = (struct header *)payload;
	u32 n = size;

	if (n < sizeof(*h))
		n = sizeof(*h);
	if (n > PAYLOAD_MAX)
		n = PAYLOAD_MAX;
	h->seq = seq++;
	h->cpu = bpf_get_smp_processor_id();
	h->len = n;
	/* The byte after the header says where the record ends, for wrap checks. */
	payload[(n - 1) & (PAYLOAD_MAX - 1)] = (char)(h->seq & 0x7f);
	return n;
}

SEC("xdp")
int out_bytes(struct xdp_md *ctx)
{
	u32 n = fill_payload();

	if (bpf_ringbuf_output(&events, payload, n, 0))
		__sync_fetch_and_add(&dropped, 1);
	return XDP_PASS;
}

SEC("xdp")
int other_bytes(struct xdp_md *ctx)
{
	u32 n = fill_payload();

	if (bpf_ringbuf_output(&other, payload, n, 0))
		__sync_fetch_and_add(&dropped, 1);
	return XDP_PASS;
}

SEC("xdp")
int event_reserve(struct xdp_md *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	u64 n;

	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_PASS;
	}
	n = seq++;
	e->seq = n;
	e->cpu = bpf_get_smp_processor_id();
	e->len = sizeof(*e);
	__builtin_memcpy(e->comm, "pybpf\0\0\0", 8);
	e->pairs[0].lo = n & 0xffff;
	e->pairs[0].hi = 1;
	e->pairs[1].lo = 2;
	e->pairs[1].hi = 3;
	if (discard_every && n % discard_every == 0)
		bpf_ringbuf_discard(e, 0);
	else
		bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

SEC("xdp")
int perf_bytes(struct xdp_md *ctx)
{
	u32 n = fill_payload();

	if (bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, payload, n))
		__sync_fetch_and_add(&dropped, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
