// Baseline for bench_core.py: libbpf opening and loading a CO-RE object
// (bpf_object__open_file + bpf_object__load: kernel BTF parse, CO-RE, maps,
// programs), then closing it. libbpf parses vmlinux BTF again for every
// object, so each round pays for it, as a fresh pybpf process does.
// Usage: core_load OBJECT [ROUNDS]. Prints "load seconds" (best of ROUNDS, 7 by
// default); with ROUNDS 1 the whole process is what a one-shot loader pays.
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "common.h"

#define REPEAT 7

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s OBJECT [ROUNDS]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	double best = 1e9;
	int rounds = argc == 3 ? atoi(argv[2]) : REPEAT;

	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		if (!obj) {
			perror("bpf_object__open_file");
			return 1;
		}
		if (bpf_object__load(obj)) {
			perror("bpf_object__load");
			return 1;
		}
		bpf_object__close(obj);
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	printf("load %.9f\n", best);
	return 0;
}
