// Baseline for bench_link.py: attaching and detaching uprobes from C.
// Usage: link_uprobe OBJECT LIBC ROUNDS OFFSET...
// - "uprobe": libbpf's bpf_program__attach_uprobe at the first OFFSET of LIBC
//   (program on_entry, this process only) then bpf_link__destroy;
// - "uprobe_multi": one BPF_LINK_CREATE of an UPROBE_MULTI link on every
//   OFFSET, then close. libbpf 1.1.2 has no uprobe_multi API (1.3+), so this
//   fills the bpf_attr by hand, as libbpf's bpf_link_create does (after the
//   symbol resolution, which the Python side is given done too). Skipped
//   (no line) where the kernel lacks the link type.
// Prints "LABEL seconds" per attach+detach (best of ROUNDS batches).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define BATCH 5
#define ATTACH_TRACE_UPROBE_MULTI 48

// BPF_LINK_CREATE's attr for an uprobe_multi link (linux/bpf.h, 6.6).
struct uprobe_multi_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
	uint8_t pad[20];
};

static int uprobe_multi(int prog_fd, const char *path, uint64_t *offsets, int cnt)
{
	struct uprobe_multi_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = prog_fd;
	attr.attach_type = ATTACH_TRACE_UPROBE_MULTI;
	attr.path = (uintptr_t)path;
	attr.offsets = (uintptr_t)offsets;
	attr.cnt = cnt;
	attr.pid = getpid();
	return syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s OBJECT LIBC ROUNDS OFFSET...\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	const char *libc = argv[2];
	int rounds = atoi(argv[3]), cnt = argc - 4;
	uint64_t *offsets = calloc(cnt, sizeof(*offsets));
	for (int i = 0; i < cnt; i++)
		offsets[i] = strtoull(argv[4 + i], NULL, 0);

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		perror("bpf_object__open_file");
		return 1;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		bpf_program__set_autoload(prog, !strcmp(name, "on_entry") || !strcmp(name, "multi_entry"));
	}
	struct bpf_program *multi = bpf_object__find_program_by_name(obj, "multi_entry");
	bpf_program__set_type(multi, BPF_PROG_TYPE_KPROBE);
	bpf_program__set_expected_attach_type(multi, ATTACH_TRACE_UPROBE_MULTI);
	int multi_ok = 1;
	if (bpf_object__load(obj)) {
		// No uprobe_multi on this kernel: load on_entry alone.
		bpf_object__close(obj);
		obj = bpf_object__open_file(argv[1], NULL);
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), "on_entry"));
		if (bpf_object__load(obj)) {
			perror("bpf_object__load");
			return 1;
		}
		multi_ok = 0;
	}
	struct bpf_program *single = bpf_object__find_program_by_name(obj, "on_entry");

	double best = 1e9;
	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		for (int i = 0; i < BATCH; i++) {
			struct bpf_link *link =
				bpf_program__attach_uprobe(single, false, getpid(), libc, offsets[0]);
			if (!link) {
				perror("bpf_program__attach_uprobe");
				return 1;
			}
			bpf_link__destroy(link);
		}
		double t = (now() - t0) / BATCH;
		if (t < best)
			best = t;
	}
	printf("uprobe %.9f\n", best);

	if (multi_ok) {
		best = 1e9;
		for (int r = 0; r < rounds; r++) {
			double t0 = now();
			for (int i = 0; i < BATCH; i++) {
				int fd = uprobe_multi(bpf_program__fd(multi), libc, offsets, cnt);
				if (fd < 0) {
					perror("BPF_LINK_CREATE uprobe_multi");
					return 1;
				}
				close(fd);
			}
			double t = (now() - t0) / BATCH;
			if (t < best)
				best = t;
		}
		printf("uprobe_multi %.9f\n", best);
	}
	bpf_object__close(obj);
	return 0;
}
