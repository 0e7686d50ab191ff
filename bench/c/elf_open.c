/* libbpf's side of bench_elf.py: seconds per bpf_object__open_file + close.
 *
 * usage: elf_open OBJECT [OBJECT...]; prints "open OBJECT seconds" per object:
 * one auto-ranged batch (~20 ms), so that bench/run.py can pair each run with
 * one batch of Python.
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <time.h>
#include "common.h"

static int open_close(const char *path, long n)
{
	for (long i = 0; i < n; i++) {
		struct bpf_object *obj = bpf_object__open_file(path, NULL);

		if (!obj)
			return -1;
		bpf_object__close(obj);
	}
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(silent);
	for (int a = 1; a < argc; a++) {
		long n = 1;
		double t0;

		for (;;) {
			t0 = now();
			if (open_close(argv[a], n)) {
				fprintf(stderr, "libbpf cannot open %s\n", argv[a]);
				return 1;
			}
			if (now() - t0 > 0.02)
				break;
			n *= 2;
		}
		t0 = now();
		open_close(argv[a], n);
		printf("open %s %.9f\n", argv[a], (now() - t0) / n);
	}
	return 0;
}
