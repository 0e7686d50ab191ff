// Baseline for bench_link.py: attach and detach an XDP link and a tcx link
// (libbpf's bpf_program__attach_xdp; bpf_link_create for tcx, which this
// libbpf predates) on lo of a network namespace of the process's own.
// Usage: link_netdev OBJECT [ROUNDS]. Prints "xdp seconds" and "tcx seconds":
// seconds per attach+detach, the best of ROUNDS (7 by default) of OPS each.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#define OPS 10 // a detach waits for an RCU grace period: tens of ms
#define REPEAT 7
#define LO 1		     // lo's ifindex in a new namespace
#define TCX_INGRESS 46	     // BPF_TCX_INGRESS, newer than this libbpf's headers

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT [ROUNDS]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : REPEAT;
	if (unshare(CLONE_NEWNET)) {
		perror("unshare");
		return 1;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s failed\n", argv[1]);
		return 1;
	}
	// This libbpf knows no tcx/ or netkit/ sections: they are tc classifiers.
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
		if (bpf_program__type(prog) == BPF_PROG_TYPE_UNSPEC)
			bpf_program__set_type(prog, BPF_PROG_TYPE_SCHED_CLS);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load %s failed\n", argv[1]);
		return 1;
	}
	struct bpf_program *xdp = bpf_object__find_program_by_name(obj, "xdp_count");
	int tcx_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "tcx_ingress"));

	double best_xdp = 1e9, best_tcx = 1e9;
	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		for (int i = 0; i < OPS; i++) {
			struct bpf_link *link = bpf_program__attach_xdp(xdp, LO);
			if (!link) {
				perror("bpf_program__attach_xdp");
				return 1;
			}
			bpf_link__destroy(link);
		}
		double t1 = now();
		for (int i = 0; i < OPS; i++) {
			int fd = bpf_link_create(tcx_fd, LO, TCX_INGRESS, NULL);
			if (fd < 0) {
				perror("bpf_link_create tcx");
				return 1;
			}
			close(fd);
		}
		double t2 = now();
		if ((t1 - t0) / OPS < best_xdp)
			best_xdp = (t1 - t0) / OPS;
		if ((t2 - t1) / OPS < best_tcx)
			best_tcx = (t2 - t1) / OPS;
	}
	printf("xdp %.9f\ntcx %.9f\n", best_xdp, best_tcx);
	bpf_object__close(obj);
	return 0;
}
