/* What libbpf's bpf_program__attach does with each program of an object:
 * one line per program, "NAME ok LINKTYPE", "NAME ok legacy" (an attachment
 * with no bpf_link behind it) or "NAME err ERRNO". The object is loaded
 * whole first; a failed load prints "load err ERRNO" and exits 1. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("open err %d\n", errno);
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		printf("load err %d\n", -err);
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link = bpf_program__attach(prog);
		const char *name = bpf_program__name(prog);

		if (!link) {
			printf("%s err %d\n", name, errno);
			continue;
		}
		struct bpf_link_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len))
			printf("%s ok legacy\n", name);
		else
			printf("%s ok %u\n", name, info.type);
		bpf_link__destroy(link);
	}
	bpf_object__close(obj);
	return 0;
}
