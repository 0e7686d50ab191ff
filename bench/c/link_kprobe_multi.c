// Baseline for bench_link.py: a kprobe_multi link on many kernel functions from C.
// Usage: link_kprobe_multi OBJECT PROGRAM ROUNDS FUNCTION...
// Loads PROGRAM of OBJECT alone, then times libbpf's
// bpf_program__attach_kprobe_multi_opts on the FUNCTION names (libbpf resolves
// them through kallsyms, as the Python side does) + bpf_link__destroy.
// Prints "kprobe_multi seconds" per attach+detach (best of ROUNDS).
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s OBJECT PROGRAM ROUNDS FUNCTION...\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	int rounds = atoi(argv[3]);
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
	LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .syms = (const char **)&argv[4],
		    .cnt = (size_t)(argc - 4));
	double best = 1e9;
	for (int r = 0; r < rounds; r++) {
		double start = now();
		struct bpf_link *link = bpf_program__attach_kprobe_multi_opts(wanted, NULL, &opts);
		if (!link) {
			perror("attach");
			return 1;
		}
		bpf_link__destroy(link);
		double took = now() - start;
		if (took < best)
			best = took;
	}
	printf("kprobe_multi %.9f\n", best);
	bpf_object__close(obj);
	return 0;
}
