/* libbpf's side of bench_elf.py: seconds per bpf_object__open_file + close.
 *
 * usage: elf_open OBJECT [OBJECT...]; prints "open OBJECT seconds" per object,
 * the best of 7 runs of an auto-ranged loop.
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <time.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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
	libbpf_set_print(quiet);
	for (int a = 1; a < argc; a++) {
		long n = 1;
		double t0, best = 1e9;

		for (;;) {
			t0 = now();
			if (open_close(argv[a], n)) {
				fprintf(stderr, "libbpf cannot open %s\n", argv[a]);
				return 1;
			}
			if (now() - t0 > 0.2)
				break;
			n *= 2;
		}
		for (int r = 0; r < 7; r++) {
			double dt;

			t0 = now();
			open_close(argv[a], n);
			dt = (now() - t0) / n;
			if (dt < best)
				best = dt;
		}
		printf("open %s %.9f\n", argv[a], best);
	}
	return 0;
}
