// Baseline for bench_core.py: libbpf's bpf_map_lookup_elem/update_elem on a
// u32 -> u64 hash, each key of the 100k walked once in order as the Python rows
// do, and one batch lookup of the 100k entries.
// Usage: core_map [ROUNDS]. Prints "label seconds" lines (seconds per
// operation, or per batch), the best of ROUNDS (7 by default).
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define ENTRIES 100000
#define OPS ENTRIES
#define REPEAT 7

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : REPEAT;

	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench", sizeof(uint32_t), sizeof(uint64_t),
				ENTRIES, NULL);
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	for (uint32_t k = 0; k < ENTRIES; k++) {
		uint64_t v = k;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			perror("bpf_map_update_elem");
			return 1;
		}
	}

	double best_lookup = 1e9, best_update = 1e9, best_batch = 1e9;
	uint64_t sink = 0;
	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		for (uint32_t i = 0; i < OPS; i++) {
			uint32_t k = i % ENTRIES;
			uint64_t v;
			if (bpf_map_lookup_elem(fd, &k, &v))
				return 1;
			sink += v;
		}
		double t1 = now();
		for (uint32_t i = 0; i < OPS; i++) {
			uint32_t k = i % ENTRIES;
			uint64_t v = i;
			if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
				return 1;
		}
		double t2 = now();
		if ((t1 - t0) / OPS < best_lookup)
			best_lookup = (t1 - t0) / OPS;
		if ((t2 - t1) / OPS < best_update)
			best_update = (t2 - t1) / OPS;
	}

	uint32_t *keys = malloc(ENTRIES * sizeof(uint32_t));
	uint64_t *values = malloc(ENTRIES * sizeof(uint64_t));
	for (int r = 0; r < rounds; r++) {
		uint32_t out_batch, total = 0;
		void *in = NULL;
		double t0 = now();
		for (;;) {
			uint32_t count = ENTRIES - total;
			int err = bpf_map_lookup_batch(fd, in, &out_batch, keys + total,
						       values + total, &count, NULL);
			total += count;
			in = &out_batch;
			if (err) {
				if (errno == ENOENT)
					break;
				perror("bpf_map_lookup_batch");
				return 1;
			}
			if (total >= ENTRIES)
				break;
		}
		double t1 = now();
		if (total != ENTRIES) {
			fprintf(stderr, "batch returned %u entries\n", total);
			return 1;
		}
		if (t1 - t0 < best_batch)
			best_batch = t1 - t0;
	}
	close(fd);
	printf("lookup %.9f\n", best_lookup);
	printf("update %.9f\n", best_update);
	printf("batch_lookup_100k %.9f\n", best_batch);
	return sink == 42;
}
