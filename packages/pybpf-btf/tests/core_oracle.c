// Oracle for the CO-RE tests: let libbpf relocate an object against a target
// BTF and print its debug log, whose "relo #N: patched insn ..." and
// "substituting insn ..." lines say what libbpf decided for every relocation.
//
//   core_oracle OBJECT [TARGET_BTF]
//
// Loading the programs may fail (nothing is attached, the verifier may
// object): the relocation lines are printed before that happens.
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

static int print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(stdout, fmt, args);
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct bpf_object *obj;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT [TARGET_BTF]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		opts.btf_custom_path = argv[2];
	libbpf_set_print(print);
	obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 1;
	}
	bpf_object__load(obj);
	bpf_object__close(obj);
	fflush(stdout);
	return 0;
}
