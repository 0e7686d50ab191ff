"""The C side of the syscall layer: declarations shared by both cffi modes.

This file is imported by the hatch build hook (to compile ``_pybpf_sys`` out of
line, in API mode) and by :mod:`pybpf.core._sys` (to declare the same structs in
ABI mode when the compiled module is absent). It must not import anything from
``pybpf``: at build time the package is not installed.

The attribute structs are the parts of ``union bpf_attr`` and ``struct
bpf_map_info`` (``include/uapi/linux/bpf.h``) that the core layer uses, spelled
with fixed-width types so that the text is both a cdef and valid C.
"""

from __future__ import annotations

MODULE_NAME = "_pybpf_sys"
#: Bumped whenever TYPES or HELPERS change, so that a stale compiled module
#: (an editable install built from older sources) is noticed and not used.
VERSION = 5

TYPES = """
struct pybpf_map_create_attr {
    uint32_t map_type;
    uint32_t key_size;
    uint32_t value_size;
    uint32_t max_entries;
    uint32_t map_flags;
    uint32_t inner_map_fd;
    uint32_t numa_node;
    char map_name[16];
    uint32_t map_ifindex;
    uint32_t btf_fd;
    uint32_t btf_key_type_id;
    uint32_t btf_value_type_id;
    uint32_t btf_vmlinux_value_type_id;
    uint64_t map_extra;
    int32_t value_type_btf_obj_fd;
    int32_t map_token_fd;
};

struct pybpf_elem_attr {
    uint32_t map_fd;
    uint32_t pad;
    uint64_t key;
    uint64_t value;
    uint64_t flags;
};

struct pybpf_batch_attr {
    uint64_t in_batch;
    uint64_t out_batch;
    uint64_t keys;
    uint64_t values;
    uint32_t count;
    uint32_t map_fd;
    uint64_t elem_flags;
    uint64_t flags;
};

struct pybpf_obj_attr {
    uint64_t pathname;
    uint32_t bpf_fd;
    uint32_t file_flags;
    int32_t path_fd;
    uint32_t pad;
};

struct pybpf_get_id_attr {
    uint32_t id;
    uint32_t next_id;
    uint32_t open_flags;
};

struct pybpf_info_attr {
    uint32_t bpf_fd;
    uint32_t info_len;
    uint64_t info;
};

struct pybpf_btf_load_attr {
    uint64_t btf;
    uint64_t btf_log_buf;
    uint32_t btf_size;
    uint32_t btf_log_size;
    uint32_t btf_log_level;
    uint32_t btf_log_true_size;
};

struct pybpf_prog_load_attr {
    uint32_t prog_type;
    uint32_t insn_cnt;
    uint64_t insns;
    uint64_t license;
    uint32_t log_level;
    uint32_t log_size;
    uint64_t log_buf;
    uint32_t kern_version;
    uint32_t prog_flags;
    char prog_name[16];
    uint32_t prog_ifindex;
    uint32_t expected_attach_type;
    uint32_t prog_btf_fd;
    uint32_t func_info_rec_size;
    uint64_t func_info;
    uint32_t func_info_cnt;
    uint32_t line_info_rec_size;
    uint64_t line_info;
    uint32_t line_info_cnt;
    uint32_t attach_btf_id;
    uint32_t attach_prog_fd;
    uint32_t core_relo_cnt;
    uint64_t fd_array;
    uint64_t core_relos;
    uint32_t core_relo_rec_size;
    uint32_t log_true_size;
};

struct pybpf_test_run_attr {
    uint32_t prog_fd;
    uint32_t retval;
    uint32_t data_size_in;
    uint32_t data_size_out;
    uint64_t data_in;
    uint64_t data_out;
    uint32_t repeat;
    uint32_t duration;
    uint32_t ctx_size_in;
    uint32_t ctx_size_out;
    uint64_t ctx_in;
    uint64_t ctx_out;
    uint32_t flags;
    uint32_t cpu;
    uint32_t batch_size;
    uint32_t pad;
};

struct pybpf_enable_stats_attr {
    uint32_t type;
};

struct pybpf_prog_info {
    uint32_t type;
    uint32_t id;
    uint8_t tag[8];
    uint32_t jited_prog_len;
    uint32_t xlated_prog_len;
    uint64_t jited_prog_insns;
    uint64_t xlated_prog_insns;
    uint64_t load_time;
    uint32_t created_by_uid;
    uint32_t nr_map_ids;
    uint64_t map_ids;
    char name[16];
    uint32_t ifindex;
    uint32_t gpl_compatible;
    uint64_t netns_dev;
    uint64_t netns_ino;
    uint32_t nr_jited_ksyms;
    uint32_t nr_jited_func_lens;
    uint64_t jited_ksyms;
    uint64_t jited_func_lens;
    uint32_t btf_id;
    uint32_t func_info_rec_size;
    uint64_t func_info;
    uint32_t nr_func_info;
    uint32_t nr_line_info;
    uint64_t line_info;
    uint64_t jited_line_info;
    uint32_t nr_jited_line_info;
    uint32_t line_info_rec_size;
    uint32_t jited_line_info_rec_size;
    uint32_t nr_prog_tags;
    uint64_t prog_tags;
    uint64_t run_time_ns;
    uint64_t run_cnt;
    uint64_t recursion_misses;
    uint32_t verified_insns;
    uint32_t attach_btf_obj_id;
    uint32_t attach_btf_id;
    uint32_t pad;
};

struct pybpf_btf_info {
    uint64_t btf;
    uint32_t btf_size;
    uint32_t id;
    uint64_t name;
    uint32_t name_len;
    uint32_t kernel_btf;
};

struct pybpf_map_info {
    uint32_t type;
    uint32_t id;
    uint32_t key_size;
    uint32_t value_size;
    uint32_t max_entries;
    uint32_t map_flags;
    char name[16];
    uint32_t ifindex;
    uint32_t btf_vmlinux_value_type_id;
    uint64_t netns_dev;
    uint64_t netns_ino;
    uint32_t btf_id;
    uint32_t btf_key_type_id;
    uint32_t btf_value_type_id;
    uint32_t btf_vmlinux_id;
    uint64_t map_extra;
};
"""

# Every helper returns the syscall's result, or -errno: reading errno from
# Python after the call would cost a second trip through cffi.
HELPERS = """
static const int PYBPF_SYS_VERSION;
long pybpf_bpf(int cmd, void *attr, unsigned int size);
int pybpf_map_elem(int cmd, int fd, const void *key, void *value, uint64_t flags);
int pybpf_map_batch(int cmd, int fd, const void *in_batch, void *out_batch,
                    void *keys, void *values, uint32_t *count, uint64_t elem_flags);
uint64_t pybpf_lookup_int(int fd, uint64_t key, int shape);
int pybpf_update_int(int fd, uint64_t key, uint64_t value, int shape, uint64_t flags);
"""

SOURCE = (
    """
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
"""
    + f"#define PYBPF_SYS_VERSION {VERSION}\n"
    + TYPES
    + """
long pybpf_bpf(int cmd, void *attr, unsigned int size)
{
    long rc = syscall(__NR_bpf, cmd, attr, size);
    return rc < 0 ? -errno : rc;
}

int pybpf_map_elem(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
    struct pybpf_elem_attr attr;
    attr.map_fd = (uint32_t)fd;
    attr.pad = 0;
    attr.key = (uint64_t)(uintptr_t)key;
    attr.value = (uint64_t)(uintptr_t)value;
    attr.flags = flags;
    if (syscall(__NR_bpf, cmd, &attr, sizeof(attr)) < 0)
        return -errno;
    return 0;
}

int pybpf_map_batch(int cmd, int fd, const void *in_batch, void *out_batch,
                    void *keys, void *values, uint32_t *count, uint64_t elem_flags)
{
    struct pybpf_batch_attr attr;
    int rc = 0;
    memset(&attr, 0, sizeof(attr));
    attr.in_batch = (uint64_t)(uintptr_t)in_batch;
    attr.out_batch = (uint64_t)(uintptr_t)out_batch;
    attr.keys = (uint64_t)(uintptr_t)keys;
    attr.values = (uint64_t)(uintptr_t)values;
    attr.count = *count;
    attr.map_fd = (uint32_t)fd;
    attr.elem_flags = elem_flags;
    if (syscall(__NR_bpf, cmd, &attr, sizeof(attr)) < 0)
        rc = -errno;
    /* The kernel reports how many elements it processed even on failure. */
    *count = attr.count;
    return rc;
}

/*
 * Integer keys and values passed by value: nothing shared between threads,
 * one call per operation. shape = key_size << 8 | value_size, sizes 4 or 8.
 * Keys or values too wide for their size fail with ERANGE before the syscall.
 */
union pybpf_int {
    uint32_t u32;
    uint64_t u64;
};

static int pybpf_put_int(union pybpf_int *slot, uint64_t x, int size)
{
    if (size == 4) {
        if (x > UINT32_MAX)
            return -1;
        slot->u32 = (uint32_t)x;
    } else {
        slot->u64 = x;
    }
    return 0;
}

/* Returns the value; on failure 0 with errno set, on success errno is 0. */
uint64_t pybpf_lookup_int(int fd, uint64_t key, int shape)
{
    union pybpf_int k, v;
    struct pybpf_elem_attr attr;
    if (pybpf_put_int(&k, key, shape >> 8)) {
        errno = ERANGE;
        return 0;
    }
    v.u64 = 0;
    attr.map_fd = (uint32_t)fd;
    attr.pad = 0;
    attr.key = (uint64_t)(uintptr_t)&k;
    attr.value = (uint64_t)(uintptr_t)&v;
    attr.flags = 0;
    if (syscall(__NR_bpf, 1 /* BPF_MAP_LOOKUP_ELEM */, &attr, sizeof(attr)) < 0)
        return 0;
    errno = 0;
    return (shape & 0xff) == 4 ? v.u32 : v.u64;
}

int pybpf_update_int(int fd, uint64_t key, uint64_t value, int shape, uint64_t flags)
{
    union pybpf_int k, v;
    struct pybpf_elem_attr attr;
    if (pybpf_put_int(&k, key, shape >> 8) || pybpf_put_int(&v, value, shape & 0xff))
        return -ERANGE;
    attr.map_fd = (uint32_t)fd;
    attr.pad = 0;
    attr.key = (uint64_t)(uintptr_t)&k;
    attr.value = (uint64_t)(uintptr_t)&v;
    attr.flags = flags;
    if (syscall(__NR_bpf, 2 /* BPF_MAP_UPDATE_ELEM */, &attr, sizeof(attr)) < 0)
        return -errno;
    return 0;
}
"""
)

# ABI mode has no preprocessor: the syscall is reached through libc's variadic
# syscall(2) and its number comes from :data:`pybpf.core._sys.NR_BPF`.
ABI_CDEF = (
    TYPES
    + """
struct pybpf_elem_attr_ptr {
    uint32_t map_fd;
    uint32_t pad;
    const void *key;
    void *value;
    uint64_t flags;
};
long syscall(long number, ...);
"""
)


def make_ffibuilder() -> object:
    """The cffi builder for the compiled (API, out-of-line) module."""
    import cffi  # type: ignore[import-untyped]  # noqa: PLC0415 (build time only)

    builder = cffi.FFI()
    builder.cdef(TYPES + HELPERS)
    builder.set_source(MODULE_NAME, SOURCE)
    return builder
