// What every C baseline of bench/run.py shares: its clock, and a libbpf that
// prints nothing (its warnings about features this kernel lacks are not part
// of what is timed). Included as "common.h": the compiler looks beside the
// including file first.
#ifndef PYBPF_BENCH_COMMON_H
#define PYBPF_BENCH_COMMON_H

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <time.h>

// Seconds on the monotonic clock.
static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// A libbpf_set_print() callback that drops every message.
static inline int silent(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

#endif
