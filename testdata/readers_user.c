// A user ring buffer (Linux 6.1) drained by a program run with
// BPF_PROG_TEST_RUN: what user space wrote comes back in the globals.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} requests SEC(".maps");

struct request {
	u64 id;
	u64 amount;
};

/* Keeps struct request in the object's BTF, for typed writes. */
struct request *const unused_request __attribute__((unused));

u64 drained;
u64 total;
u64 last_id;

static long on_request(struct bpf_dynptr *dynptr, void *ctx)
{
	struct request r;

	if (bpf_dynptr_read(&r, sizeof(r), dynptr, 0, 0))
		return 1;
	drained++;
	total += r.amount;
	last_id = r.id;
	return 0;
}

SEC("xdp")
int drain(struct xdp_md *ctx)
{
	bpf_user_ringbuf_drain(&requests, on_request, NULL, 0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
