// Baseline for bench_readers.py: libbpf's ring_buffer__consume and
// perf_buffer__consume over 16-byte records that testdata/readers.c's XDP
// programs write when run with BPF_PROG_TEST_RUN (repeat=N). Only the
// consume calls are timed. The callbacks touch every record, as a reader
// that does anything with them must.
// Usage: readers_consume OBJECT RING_RECORDS PERF_RECORDS
// Prints "label seconds" lines (seconds per record, best round).
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"

#define ROUNDS 7
#define RING_SIZE (1 << 22)
#define PERF_PAGES 128

static uint64_t sink;
static long seen;

static int on_ring(void *ctx, void *data, size_t size)
{
	(void)ctx;
	sink += *(uint64_t *)data + size;
	seen++;
	return 0;
}

static void on_perf(void *ctx, int cpu, void *data, uint32_t size)
{
	(void)ctx;
	sink += *(uint64_t *)data + size + cpu;
	seen++;
}

static void on_lost(void *ctx, int cpu, __u64 lost)
{
	(void)ctx;
	fprintf(stderr, "lost %llu samples on CPU %d\n", (unsigned long long)lost, cpu);
	exit(1);
}

static int produce(int prog_fd, int n)
{
	char packet[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
		    .repeat = n);
	return bpf_prog_test_run_opts(prog_fd, &opts);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s OBJECT RING_RECORDS PERF_RECORDS\n", argv[0]);
		return 2;
	}
	int ring_n = atoi(argv[2]), perf_n = atoi(argv[3]);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		perror("sched_setaffinity");
		return 1;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		perror("bpf_object__open_file");
		return 1;
	}
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "events"), RING_SIZE);
	if (bpf_object__load(obj)) {
		perror("bpf_object__load");
		return 1;
	}
	int ring_prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "out_bytes"));
	int perf_prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "perf_bytes"));
	struct ring_buffer *rb = ring_buffer__new(
		bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_ring, NULL, NULL);
	struct perf_buffer *pb = perf_buffer__new(
		bpf_map__fd(bpf_object__find_map_by_name(obj, "samples")), PERF_PAGES, on_perf,
		on_lost, NULL, NULL);
	if (!rb || !pb) {
		perror("ring_buffer__new/perf_buffer__new");
		return 1;
	}
	double best_ring = 1e9, best_perf = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		if (produce(ring_prog, ring_n))
			return 1;
		seen = 0;
		double t0 = now();
		ring_buffer__consume(rb);
		double t1 = now();
		if (seen != ring_n) {
			fprintf(stderr, "ring: %ld records, expected %d\n", seen, ring_n);
			return 1;
		}
		if ((t1 - t0) / ring_n < best_ring)
			best_ring = (t1 - t0) / ring_n;
		if (produce(perf_prog, perf_n))
			return 1;
		seen = 0;
		t0 = now();
		perf_buffer__consume(pb);
		t1 = now();
		if (seen != perf_n) {
			fprintf(stderr, "perf: %ld records, expected %d\n", seen, perf_n);
			return 1;
		}
		if ((t1 - t0) / perf_n < best_perf)
			best_perf = (t1 - t0) / perf_n;
	}
	printf("ring_buffer__consume %.12f\n", best_ring);
	printf("perf_buffer__consume %.12f\n", best_perf);
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return sink == 42;
}
