// Baseline for bench_link.py: attaching and detaching a raw tracepoint from C.
// Usage: link_raw_tp OBJECT PROGRAM TRACEPOINT ROUNDS
// Loads PROGRAM of OBJECT alone, then times libbpf's
// bpf_program__attach_raw_tracepoint + bpf_link__destroy in batches.
// Prints "raw_tp seconds" per attach+detach (best of ROUNDS batches).
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"

#define BATCH 20

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s OBJECT PROGRAM TRACEPOINT ROUNDS\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	int rounds = atoi(argv[4]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		perror("bpf_object__open_file");
		return 1;
	}
	struct bpf_program *prog, *wanted = NULL;
	bpf_object__for_each_program(prog, obj) {
		int mine = strcmp(bpf_program__name(prog), argv[2]) == 0;
		bpf_program__set_autoload(prog, mine);
		if (mine)
			wanted = prog;
	}
	if (!wanted || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[2]);
		return 1;
	}
	double best = 1e9;
	for (int r = 0; r < rounds; r++) {
		double start = now();
		for (int i = 0; i < BATCH; i++) {
			struct bpf_link *link = bpf_program__attach_raw_tracepoint(wanted, argv[3]);
			if (!link) {
				perror("attach");
				return 1;
			}
			bpf_link__destroy(link);
		}
		double each = (now() - start) / BATCH;
		if (each < best)
			best = each;
	}
	printf("raw_tp %.9f\n", best);
	bpf_object__close(obj);
	return 0;
}
