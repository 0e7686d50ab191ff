// Ring buffers whose max_entries is not a power-of-two multiple of the page
// size: libbpf rounds it up when it opens the object (adjust_ringbuf_sz), and
// keeps a size that already is one.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sample {
	int pid;
	int value;
};

/* The last sample sent (also gives the BTF a named struct). */
struct sample last_sample;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} odd_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 3 * 4096);
} three_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8192);
} exact_ring SEC(".maps");

SEC("tp/syscalls/sys_enter_getpid")
int emit(void *ctx)
{
	struct sample s = { .pid = bpf_get_current_pid_tgid() >> 32, .value = 1 };

	bpf_ringbuf_output(&odd_ring, &s, sizeof(s), 0);
	bpf_ringbuf_output(&exact_ring, &s, sizeof(s), 0);
	last_sample = s;
	return 0;
}

char _license[] SEC("license") = "GPL";
