/* What libbpf sees in an object right after bpf_object__open, as JSON.
 *
 * Built by test_conformance.py against the installed libbpf-dev; prints one
 * JSON document on stdout, or {"error": errno} when libbpf refuses the file.
 *
 * With --linked, it loads the object instead (root, a kernel with BPF) and
 * prints each program's final instructions as [opcode, dst, src, off, imm]:
 * the main program followed by the subprograms libbpf appended. Pinning is
 * turned off so that nothing outlives the run.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_name_or_null(const char *s)
{
	if (s)
		json_str(s);
	else
		printf("null");
}

static void json_hex(struct bpf_map *map)
{
	size_t size = 0;
	const unsigned char *data = bpf_map__initial_value(map, &size);

	if (!data) {
		printf("null");
		return;
	}
	putchar('"');
	for (size_t i = 0; i < size; i++)
		printf("%02x", data[i]);
	putchar('"');
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int linked(const char *path)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	const char *sep = "";
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		printf("{\"error\": %d}\n", errno);
		return 0;
	}
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
	err = bpf_object__load(obj);
	if (err) {
		printf("{\"error\": %d}\n", -err);
		bpf_object__close(obj);
		return 0;
	}
	printf("{");
	bpf_object__for_each_program(prog, obj) {
		const struct bpf_insn *insn = bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog);

		printf("%s", sep);
		json_str(bpf_program__name(prog));
		printf(": [");
		for (size_t i = 0; i < n; i++)
			printf("%s[%u, %u, %u, %d, %d]", i ? ", " : "", insn[i].code, insn[i].dst_reg,
			       insn[i].src_reg, insn[i].off, insn[i].imm);
		printf("]");
		sep = ", ";
	}
	printf("}\n");
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	const char *sep;

	libbpf_set_print(quiet);
	if (argc == 3 && strcmp(argv[1], "--linked") == 0)
		return linked(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--linked] OBJECT\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("{\"error\": %d}\n", errno);
		return 0;
	}
	printf("{\"programs\": {");
	sep = "";
	bpf_object__for_each_program(prog, obj) {
		printf("%s", sep);
		json_str(bpf_program__name(prog));
		printf(": {\"section\": ");
		json_str(bpf_program__section_name(prog));
		printf(", \"type\": ");
		json_name_or_null(libbpf_bpf_prog_type_str(bpf_program__type(prog)));
		printf(", \"attach_type\": ");
		json_name_or_null(libbpf_bpf_attach_type_str(bpf_program__expected_attach_type(prog)));
		printf(", \"insn_slots\": %zu, \"autoload\": %s}", bpf_program__insn_cnt(prog),
		       bpf_program__autoload(prog) ? "true" : "false");
		sep = ", ";
	}
	printf("}, \"maps\": {");
	sep = "";
	bpf_object__for_each_map(map, obj) {
		printf("%s", sep);
		json_str(bpf_map__name(map));
		printf(": {\"type\": ");
		json_name_or_null(libbpf_bpf_map_type_str(bpf_map__type(map)));
		printf(", \"key_size\": %u, \"value_size\": %u, \"max_entries\": %u, \"flags\": %u",
		       bpf_map__key_size(map), bpf_map__value_size(map), bpf_map__max_entries(map),
		       bpf_map__map_flags(map));
		printf(", \"map_extra\": %llu, \"numa_node\": %u",
		       (unsigned long long)bpf_map__map_extra(map), bpf_map__numa_node(map));
		printf(", \"pinned\": %s", bpf_map__pin_path(map) ? "true" : "false");
		printf(", \"inner_map\": %s", bpf_map__inner_map(map) ? "true" : "false");
		printf(", \"initial_value\": ");
		json_hex(map);
		printf("}");
		sep = ", ";
	}
	printf("}}\n");
	bpf_object__close(obj);
	return 0;
}
