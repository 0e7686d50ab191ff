/* Baseline for bench_btf.py: libbpf's btf__parse of the running kernel's BTF.
 *
 * Prints "btf__parse <seconds>" (best of several runs in this process),
 * "btf__parse+find_by_name <seconds>" (parse, then look up task_struct) and
 * "btf__parse(first) <seconds>": the process's first parse, which pays for
 * fresh memory as any program that parses the BTF once does, and
 * "btf__parse+find(first) <seconds>": that parse and its task_struct lookup.
 */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "common.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/kernel/btf/vmlinux";
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	double best_parse = 1e9, best_find = 1e9, first = 0, first_find = 0;

	for (int i = 0; i < runs; i++) {
		double t0 = now();
		struct btf *btf = btf__parse(path, NULL);
		double t1 = now();

		if (!btf) {
			perror("btf__parse");
			return 1;
		}
		if (btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT) < 0) {
			fprintf(stderr, "task_struct not found\n");
			return 1;
		}
		double t2 = now();

		if (i == 0) {
			first = t1 - t0;
			first_find = t2 - t0;
		}
		if (t1 - t0 < best_parse)
			best_parse = t1 - t0;
		if (t2 - t0 < best_find)
			best_find = t2 - t0;
		btf__free(btf);
	}
	printf("btf__parse %.9f\n", best_parse);
	printf("btf__parse+find_by_name %.9f\n", best_find);
	printf("btf__parse(first) %.9f\n", first);
	printf("btf__parse+find(first) %.9f\n", first_find);
	return 0;
}
