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
#: Bumped whenever TYPES, HELPERS, FAST_SOURCE or READERS_SOURCE change, so that a stale
#: compiled module (an editable install built from older sources) is noticed
#: and not used.
VERSION = 13

TYPES = """
struct pybpf_fd_cell {
    int32_t fd;
    uint32_t state;
};

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

#: Owned descriptors (:class:`pybpf.core.fd.FD`) keep their number in a
#: ``struct pybpf_fd_cell``: ``fd`` (-1 until one is received) and ``state``,
#: the number of calls using it in flight, | FD_CLOSED once closed (and
#: | FD_KEPT when it was detached: closed for the object, never close(2)d).
#: A call acquires the number (refused once closed) and releases it after
#: the syscall; close(2) happens at close() when no call is in flight, else at
#: the last release, so a number is never reused under a running call. The
#: fd-returning helpers write the new number into a cell before returning, so
#: no Python code (a signal handler raising KeyboardInterrupt) runs while a
#: descriptor belongs to nobody.
FD_CLOSED = 1 << 31
FD_KEPT = 1 << 30
FD_HELPERS = """
long pybpf_bpf_fd(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell);
int pybpf_fd_dup(int fd, struct pybpf_fd_cell *cell);
int pybpf_fd_dup_cell(struct pybpf_fd_cell *from, struct pybpf_fd_cell *cell);
long pybpf_bpf_held(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell,
                    unsigned int offset);
int pybpf_fd_acquire(struct pybpf_fd_cell *cell);
void pybpf_fd_release(struct pybpf_fd_cell *cell);
int pybpf_fd_hold(struct pybpf_fd_cell *cell, int32_t *held);
void pybpf_fd_unhold(struct pybpf_fd_cell *cell, int32_t *held);
int pybpf_fd_close(struct pybpf_fd_cell *cell);
int pybpf_fd_detach(struct pybpf_fd_cell *cell);
int pybpf_fd_map_elem(int cmd, struct pybpf_fd_cell *cell, const void *key, void *value,
                      uint64_t flags);
int pybpf_fd_map_batch(int cmd, struct pybpf_fd_cell *cell, const void *in_batch,
                       void *out_batch, void *keys, void *values, uint32_t *count,
                       uint64_t elem_flags);
"""

FD_SOURCE = f"""
#define PYBPF_FD_CLOSED {FD_CLOSED}u
#define PYBPF_FD_KEPT {FD_KEPT}u
"""

FD_SOURCE += r"""
#include <fcntl.h>

/* Never hold descriptor 0: bpf_attr fields read 0 as "no fd". */
static int pybpf_fd_settle(int fd)
{
    if (fd == 0) {
        int moved = fcntl(0, F_DUPFD_CLOEXEC, 1);
        if (moved < 0)
            return -errno;
        close(0);
        fd = moved;
    }
    return fd;
}

long pybpf_bpf_fd(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell)
{
    long rc = syscall(__NR_bpf, cmd, attr, size);
    if (rc < 0)
        return -errno;
    rc = pybpf_fd_settle((int)rc);
    if (rc >= 0)
        cell->fd = (int32_t)rc;
    return rc;
}

int pybpf_fd_dup(int fd, struct pybpf_fd_cell *cell)
{
    int rc = fcntl(fd, F_DUPFD_CLOEXEC, 1);
    if (rc < 0)
        return -errno;
    cell->fd = rc;
    return rc;
}

int pybpf_fd_acquire(struct pybpf_fd_cell *cell);
void pybpf_fd_release(struct pybpf_fd_cell *cell);

int pybpf_fd_dup_cell(struct pybpf_fd_cell *from, struct pybpf_fd_cell *cell)
{
    int fd = pybpf_fd_acquire(from), rc;
    if (fd < 0)
        return -EBADF;
    rc = pybpf_fd_dup(fd, cell);
    pybpf_fd_release(from);
    return rc;
}

/* A command whose attr names the cell's fd at offset: the fd is written
 * there and held for the syscall. */
long pybpf_bpf_held(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell,
                    unsigned int offset)
{
    int32_t fd = pybpf_fd_acquire(cell);
    long rc;
    if (fd < 0)
        return -EBADF;
    memcpy((char *)attr + offset, &fd, sizeof(fd));
    rc = syscall(__NR_bpf, cmd, attr, size);
    if (rc < 0)
        rc = -errno;
    pybpf_fd_release(cell);
    return rc;
}

int pybpf_fd_acquire(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_load_n(&cell->state, __ATOMIC_ACQUIRE);
    do {
        if (s & PYBPF_FD_CLOSED)
            return -1;
    } while (!__atomic_compare_exchange_n(&cell->state, &s, s + 1, 1, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    return cell->fd;
}

void pybpf_fd_release(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_sub_fetch(&cell->state, 1, __ATOMIC_ACQ_REL);
    if (s == PYBPF_FD_CLOSED && cell->fd >= 0)
        close(cell->fd);
}

/* acquire, noting in *held that it did: Python code releases through
 * pybpf_fd_unhold, which releases at most once per hold, so that an
 * exception between the two (a signal) can release it from a finalizer. */
int pybpf_fd_hold(struct pybpf_fd_cell *cell, int32_t *held)
{
    int fd = pybpf_fd_acquire(cell);
    if (fd >= 0)
        *held = 1;
    return fd;
}

void pybpf_fd_unhold(struct pybpf_fd_cell *cell, int32_t *held)
{
    if (__atomic_exchange_n(held, 0, __ATOMIC_ACQ_REL))
        pybpf_fd_release(cell);
}

/* 1 if this call closed the cell (close(2) now, or at the last release), 0
 * if it was closed already. */
int pybpf_fd_close(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_fetch_or(&cell->state, PYBPF_FD_CLOSED, __ATOMIC_ACQ_REL);
    if (s & PYBPF_FD_CLOSED)
        return 0;
    if (s == 0 && cell->fd >= 0)
        close(cell->fd);
    return cell->fd >= 0;
}

/* The number, now nobody's to close; -1 if the cell was closed already. */
int pybpf_fd_detach(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_fetch_or(&cell->state, PYBPF_FD_CLOSED | PYBPF_FD_KEPT,
                                   __ATOMIC_ACQ_REL);
    return s & PYBPF_FD_CLOSED ? -1 : cell->fd;
}

int pybpf_fd_map_elem(int cmd, struct pybpf_fd_cell *cell, const void *key, void *value,
                      uint64_t flags)
{
    int fd = pybpf_fd_acquire(cell), rc;
    if (fd < 0)
        return -EBADF;
    rc = pybpf_map_elem(cmd, fd, key, value, flags);
    pybpf_fd_release(cell);
    return rc;
}

int pybpf_fd_map_batch(int cmd, struct pybpf_fd_cell *cell, const void *in_batch,
                       void *out_batch, void *keys, void *values, uint32_t *count,
                       uint64_t elem_flags)
{
    int fd = pybpf_fd_acquire(cell), rc;
    if (fd < 0)
        return -EBADF;
    rc = pybpf_map_batch(cmd, fd, in_batch, out_batch, keys, values, count, elem_flags);
    pybpf_fd_release(cell);
    return rc;
}
"""

# Every helper returns the syscall's result, or -errno: reading errno from
# Python after the call would cost a second trip through cffi.
HELPERS = (
    """
static const int PYBPF_SYS_VERSION;
long pybpf_bpf(int cmd, void *attr, unsigned int size);
int pybpf_map_elem(int cmd, int fd, const void *key, void *value, uint64_t flags);
int pybpf_map_batch(int cmd, int fd, const void *in_batch, void *out_batch,
                    void *keys, void *values, uint32_t *count, uint64_t elem_flags);
"""
    + FD_HELPERS
)

#: The map hot paths, as a second CPython module in the same library, loaded
#: by :mod:`pybpf.core._sys` as ``_pybpf_fast`` (its own ``PyInit``):
#: ``MapBase``, the C base class of ``Map`` (:mod:`pybpf.core._map_base`), and
#: the batch helpers ``fill`` and ``new_dict``. A cffi call costs ~100 ns
#: (argument tuple, GIL release, errno bookkeeping) and a Python frame 50 more;
#: these take a few tens, which is most of what separated a Python lookup from
#: C's. They keep the GIL: Map uses them only for map types whose element
#: operations never sleep. cffi compiles against the limited API, so they use
#: it too.
FAST_MODULE = "_pybpf_fast"
FAST_SOURCE = r"""
#include <dlfcn.h>
#include <stddef.h>
#include <structmember.h>

#ifndef METH_FASTCALL
/* cffi compiles against the limited API of 3.2, which hides the flag; its
 * value is part of the stable ABI since 3.10. */
#define METH_FASTCALL 0x0080
#endif

/* A scalar's spec: bits 0-3 its size (1, 2, 4 or 8), bit 4 set when signed.
 * An element shape is key spec | value spec << 8. */
union pybpf_scalar {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
};

static int pybpf_fast_put(PyObject *obj, int spec, union pybpf_scalar *out)
{
    int bits = (spec & 0xf) * 8;
    uint64_t x;
    if (spec & 0x10) {
        long long s = PyLong_AsLongLong(obj);
        if (s == -1 && PyErr_Occurred())
            return -1;
        if (bits < 64 && (s < -(1LL << (bits - 1)) || s >= (1LL << (bits - 1))))
            goto overflow;
        x = (uint64_t)s;
    } else {
        x = PyLong_AsUnsignedLongLong(obj);
        if (x == (uint64_t)-1 && PyErr_Occurred())
            return -1;
        if (bits < 64 && x >> bits)
            goto overflow;
    }
    switch (bits) {
    case 8: out->u8 = (uint8_t)x; break;
    case 16: out->u16 = (uint16_t)x; break;
    case 32: out->u32 = (uint32_t)x; break;
    default: out->u64 = x; break;
    }
    return 0;
overflow:
    PyErr_SetString(PyExc_OverflowError, "int does not fit");
    return -1;
}

/* The int of spec at p (any alignment: batch buffers pack elements). */
static PyObject *pybpf_fast_get(const void *p, int spec)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (spec) {
    case 0x01: memcpy(&u8, p, 1); return PyLong_FromLong(u8);
    case 0x02: memcpy(&u16, p, 2); return PyLong_FromLong(u16);
    case 0x04: memcpy(&u32, p, 4); return PyLong_FromUnsignedLong(u32);
    case 0x08: memcpy(&u64, p, 8); return PyLong_FromUnsignedLongLong(u64);
    case 0x11: memcpy(&u8, p, 1); return PyLong_FromLong((int8_t)u8);
    case 0x12: memcpy(&u16, p, 2); return PyLong_FromLong((int16_t)u16);
    case 0x14: memcpy(&u32, p, 4); return PyLong_FromLong((int32_t)u32);
    default: memcpy(&u64, p, 8); return PyLong_FromLongLong((int64_t)u64);
    }
}

/* MapBase: the base class of pybpf.core.Map, holding its element hot
 * paths. Int keys and values of the map types Map marks fast go straight to
 * bpf(2); everything else, and every error, is handed to Map's Python
 * methods (_lookup, _update, delete, _fast_error). */
typedef struct {
    PyObject_HEAD
    PyObject *fd;                /* the map's FD object, which owns cell */
    struct pybpf_fd_cell *cell;  /* its number, held for each call (NULL: none) */
    int shape;                   /* key spec | value spec << 8 */
    int fast;                    /* 1: int lookups, 2: int updates */
} pybpf_map;

static PyObject *pybpf_s_addr, *pybpf_s_lookup, *pybpf_s_update, *pybpf_s_delete, *pybpf_s_error;
static PyObject *pybpf_s_op_lookup, *pybpf_s_op_update;
/* The parameter names of lookup and update, for keyword arguments. */
static PyObject *pybpf_params[3]; /* key, value, flags */

/* Sorts the arguments of a call that passed keywords (or too many or too few)
 * into out[0..n): by position, then by the names in pybpf_params; NULL for
 * an optional one not given. 0 when done, -1 with TypeError set, worded as
 * Python words it for a function defined in Python. */
static int pybpf_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames, int n, int required, PyObject **out)
{
    Py_ssize_t i, nkw = kwnames != NULL ? PyTuple_Size(kwnames) : 0;
    int j;
    if (nkw < 0)
        return -1;
    if (nargs > n) {
        PyErr_Format(PyExc_TypeError, "%s() takes from %d to %d positional arguments but %zd "
                     "were given", fname, required, n, nargs);
        return -1;
    }
    for (j = 0; j < n; j++)
        out[j] = j < nargs ? args[j] : NULL;
    for (i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GetItem(kwnames, i);
        if (name == NULL)
            return -1;
        for (j = 0; j < n && name != pybpf_params[j]; j++)
            ;
        for (j = j < n ? j : 0; j < n && name != pybpf_params[j]; j++) {
            int eq = PyObject_RichCompareBool(name, pybpf_params[j], Py_EQ);
            if (eq < 0)
                return -1;
            if (eq)
                break;
        }
        if (j == n) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname,
                         name);
            return -1;
        }
        if (out[j] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%U'", fname,
                         pybpf_params[j]);
            return -1;
        }
        out[j] = args[nargs + i];
    }
    for (j = 0; j < required; j++) {
        if (out[j] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%U'", fname,
                         pybpf_params[j]);
            return -1;
        }
    }
    return 0;
}

/* One element operation on the map's fd, held for the syscall's duration
 * (see pybpf_fd_acquire): 0 or -errno, -EBADF once closed. */
static int pybpf_map_call(pybpf_map *self, int cmd, struct pybpf_elem_attr *attr)
{
    int fd, rc = 0;
    if (self->cell == NULL || (fd = pybpf_fd_acquire(self->cell)) < 0)
        return -EBADF;
    attr->map_fd = (uint32_t)fd;
    if (syscall(__NR_bpf, cmd, attr, sizeof(*attr)) < 0)
        rc = -errno;
    pybpf_fd_release(self->cell);
    return rc;
}

/* Points *p at the bytes of a key or value: an int, written to slot, or a
 * bytes object of the exact size (the raw encoding). 1: done; 0: neither,
 * Map's Python code decides; -1: an int that does not fit (error set). */
static int pybpf_map_arg(PyObject *obj, int spec, union pybpf_scalar *slot, const void **p)
{
    if (PyLong_CheckExact(obj)) {
        if (pybpf_fast_put(obj, spec, slot))
            return -1;
        *p = slot;
        return 1;
    }
    if (PyBytes_CheckExact(obj) && PyBytes_Size(obj) == (spec & 0xf)) {
        *p = PyBytes_AsString(obj);
        return 1;
    }
    return 0;
}

/* Map._fast_error raises the typed error (err 0: an int that does not fit). */
static PyObject *pybpf_map_fail(pybpf_map *self, PyObject *op, int err, PyObject *key,
                                PyObject *value, PyObject *flags)
{
    PyObject *code, *res;
    if (err == 0)
        PyErr_Clear(); /* the OverflowError of pybpf_fast_put */
    code = PyLong_FromLong(err);
    if (code == NULL)
        return NULL;
    res = PyObject_CallMethodObjArgs((PyObject *)self, pybpf_s_error, op, code, key, value,
                                     flags, NULL);
    Py_DECREF(code);
    Py_XDECREF(res);
    if (res != NULL)
        PyErr_SetString(PyExc_SystemError, "Map._fast_error returned");
    return NULL;
}

static PyObject *pybpf_map_lookup(PyObject *obj, PyObject *key)
{
    pybpf_map *self = (pybpf_map *)obj;
    union pybpf_scalar k, v;
    struct pybpf_elem_attr attr;
    const void *kp = NULL;
    int rc, got;
    got = self->fast & 1 ? pybpf_map_arg(key, self->shape & 0xff, &k, &kp) : 0;
    if (got == 0)
        return PyObject_CallMethodObjArgs(obj, pybpf_s_lookup, key, NULL);
    if (got < 0)
        return pybpf_map_fail(self, pybpf_s_op_lookup, 0, key, Py_None, Py_None);
    v.u64 = 0;
    attr.pad = 0;
    attr.key = (uint64_t)(uintptr_t)kp;
    attr.value = (uint64_t)(uintptr_t)&v;
    attr.flags = 0;
    if ((rc = pybpf_map_call(self, 1 /* BPF_MAP_LOOKUP_ELEM */, &attr)) < 0)
        return pybpf_map_fail(self, pybpf_s_op_lookup, -rc, key, Py_None, Py_None);
    return pybpf_fast_get(&v, self->shape >> 8);
}

/* flags may be NULL (0, UpdateFlags.ANY). */
static PyObject *pybpf_map_set(pybpf_map *self, PyObject *key, PyObject *value, PyObject *flags)
{
    union pybpf_scalar k, v;
    struct pybpf_elem_attr attr;
    const void *kp = NULL, *vp = NULL;
    uint64_t f = 0;
    int rc, got = 0;
    if (self->fast & 2) {
        got = pybpf_map_arg(key, self->shape & 0xff, &k, &kp);
        if (got > 0)
            got = pybpf_map_arg(value, self->shape >> 8, &v, &vp);
    }
    if (got < 0)
        return pybpf_map_fail(self, pybpf_s_op_update, 0, key, value, flags ? flags : Py_None);
    if (got > 0 && flags != NULL) {
        f = PyLong_AsUnsignedLongLong(flags);
        if (f == (uint64_t)-1 && PyErr_Occurred()) {
            /* Not a u64: Map's Python path says which argument is wrong. */
            PyErr_Clear();
            got = 0;
        }
    }
    if (got == 0) {
        PyObject *zero = NULL, *res;
        if (flags == NULL && (flags = zero = PyLong_FromLong(0)) == NULL)
            return NULL;
        res = PyObject_CallMethodObjArgs((PyObject *)self, pybpf_s_update, key, value, flags,
                                         NULL);
        Py_XDECREF(zero);
        return res;
    }
    attr.pad = 0;
    attr.key = (uint64_t)(uintptr_t)kp;
    attr.value = (uint64_t)(uintptr_t)vp;
    attr.flags = f;
    if ((rc = pybpf_map_call(self, 2 /* BPF_MAP_UPDATE_ELEM */, &attr)) < 0)
        return pybpf_map_fail(self, pybpf_s_op_update, -rc, key, value,
                              flags ? flags : Py_None);
    Py_INCREF(Py_None);
    return Py_None;
}

/* lookup(key): positional calls go straight through; keywords are sorted first. */
static PyObject *pybpf_map_lookup_meth(PyObject *obj, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames)
{
    PyObject *out[1];
    if (nargs == 1 && kwnames == NULL)
        return pybpf_map_lookup(obj, args[0]);
    if (pybpf_args("lookup", args, nargs, kwnames, 1, 1, out))
        return NULL;
    return pybpf_map_lookup(obj, out[0]);
}

/* update(key, value, flags=0): the same. */
static PyObject *pybpf_map_update(PyObject *obj, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    PyObject *out[3];
    if (kwnames == NULL && (nargs == 2 || nargs == 3))
        return pybpf_map_set((pybpf_map *)obj, args[0], args[1], nargs == 3 ? args[2] : NULL);
    if (pybpf_args("update", args, nargs, kwnames, 3, 2, out))
        return NULL;
    return pybpf_map_set((pybpf_map *)obj, out[0], out[1], out[2]);
}

static int pybpf_map_ass_subscript(PyObject *obj, PyObject *key, PyObject *value)
{
    PyObject *res;
    if (value == NULL)
        res = PyObject_CallMethodObjArgs(obj, pybpf_s_delete, key, NULL);
    else
        res = pybpf_map_set((pybpf_map *)obj, key, value, NULL);
    if (res == NULL)
        return -1;
    Py_DECREF(res);
    return 0;
}

static int pybpf_map_traverse(PyObject *obj, visitproc visit, void *arg)
{
    Py_VISIT(((pybpf_map *)obj)->fd);
    Py_VISIT((PyObject *)Py_TYPE(obj));
    return 0;
}

static int pybpf_map_clear(PyObject *obj)
{
    ((pybpf_map *)obj)->cell = NULL;
    Py_CLEAR(((pybpf_map *)obj)->fd);
    return 0;
}

static PyObject *pybpf_map_get_fd(PyObject *obj, void *closure)
{
    PyObject *fd = ((pybpf_map *)obj)->fd;
    (void)closure;
    if (fd == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_fd");
        return NULL;
    }
    Py_INCREF(fd);
    return fd;
}

/* Setting _fd also points cell at the FD's cell (its address is FD._addr). */
static int pybpf_map_set_fd(PyObject *obj, PyObject *value, void *closure)
{
    pybpf_map *self = (pybpf_map *)obj;
    struct pybpf_fd_cell *cell = NULL;
    PyObject *old = self->fd;
    (void)closure;
    if (value != NULL) {
        PyObject *addr = PyObject_GetAttr(value, pybpf_s_addr);
        if (addr == NULL)
            return -1;
        cell = (struct pybpf_fd_cell *)PyLong_AsVoidPtr(addr);
        Py_DECREF(addr);
        if (cell == NULL && PyErr_Occurred())
            return -1;
        Py_INCREF(value);
    }
    self->fd = value;
    self->cell = cell;
    Py_XDECREF(old);
    return 0;
}

static PyGetSetDef pybpf_map_getset[] = {
    {"_fd", pybpf_map_get_fd, pybpf_map_set_fd, "The map's FD.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static void pybpf_map_dealloc(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject_GC_UnTrack(obj);
    pybpf_map_clear(obj);
    PyObject_GC_Del(obj);
    Py_DECREF(tp);
}

static PyMethodDef pybpf_map_methods[] = {
    {"lookup", (PyCFunction)(void (*)(void))pybpf_map_lookup_meth,
     METH_FASTCALL | METH_KEYWORDS,
     "lookup($self, key)\n--\n\n"
     "The value at key; KeyNotFoundError if absent."},
    {"update", (PyCFunction)(void (*)(void))pybpf_map_update, METH_FASTCALL | METH_KEYWORDS,
     "update($self, key, value, flags=UpdateFlags.ANY)\n--\n\n"
     "Set key to value; flags as UpdateFlags (NOEXIST, EXIST...)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef pybpf_map_members[] = {
    {"_shape", T_INT, offsetof(pybpf_map, shape), 0, "Key spec | value spec << 8."},
    {"_fast", T_INT, offsetof(pybpf_map, fast), 0, "1: int lookups, 2: int updates in C."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot pybpf_map_slots[] = {
    {Py_tp_doc, "The element hot paths of pybpf.core.Map, in C."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, pybpf_map_dealloc},
    {Py_tp_traverse, pybpf_map_traverse},
    {Py_tp_clear, pybpf_map_clear},
    {Py_tp_methods, pybpf_map_methods},
    {Py_tp_members, pybpf_map_members},
    {Py_tp_getset, pybpf_map_getset},
    {Py_mp_subscript, pybpf_map_lookup},
    {Py_mp_ass_subscript, pybpf_map_ass_subscript},
    {0, NULL},
};

static PyType_Spec pybpf_map_spec = {
    "_pybpf_fast.MapBase",
    sizeof(pybpf_map),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    pybpf_map_slots,
};

/* _PyDict_NewPresized is not in the limited API, and private: found at run
 * time, so that an interpreter without it still loads this module. */
typedef PyObject *(*pybpf_presized_fn)(Py_ssize_t);
static pybpf_presized_fn pybpf_presized;
static int pybpf_presized_looked_up;

/* new_dict(n) -> dict: an empty dict with room for n items without resizing. */
static PyObject *pybpf_fast_new_dict(PyObject *mod, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    (void)mod;
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (!pybpf_presized_looked_up) {
        pybpf_presized = (pybpf_presized_fn)dlsym(RTLD_DEFAULT, "_PyDict_NewPresized");
        pybpf_presized_looked_up = 1;
    }
    return pybpf_presized ? pybpf_presized(n) : PyDict_New();
}

/* fill(dict, keys, values, n, shape) -> None: dict[key] = value for the n
 * int keys and values packed at the addresses keys and values. */
static PyObject *pybpf_fast_fill(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    const char *keys, *values;
    Py_ssize_t n, i;
    int shape, ksize, vsize;
    PyObject *dict;
    (void)mod;
    if (nargs != 5 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "fill(dict, keys, values, n, shape)");
        return NULL;
    }
    dict = args[0];
    keys = (const char *)PyLong_AsVoidPtr(args[1]);
    values = (const char *)PyLong_AsVoidPtr(args[2]);
    n = PyLong_AsSsize_t(args[3]);
    shape = (int)PyLong_AsLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    ksize = shape & 0xf;
    vsize = (shape >> 8) & 0xf;
    for (i = 0; i < n; i++) {
        PyObject *key, *value;
        int rc;
        key = pybpf_fast_get(keys + i * ksize, shape & 0xff);
        value = key ? pybpf_fast_get(values + i * vsize, shape >> 8) : NULL;
        rc = value ? PyDict_SetItem(dict, key, value) : -1;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0)
            return NULL;
    }
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef pybpf_fast_methods[] = {
    {"new_dict", pybpf_fast_new_dict, METH_O,
     "new_dict(n): an empty dict with room for n items."},
    {"fill", (PyCFunction)(void (*)(void))pybpf_fast_fill, METH_FASTCALL,
     "fill(dict, keys, values, n, shape): add n packed int keys and values to dict."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pybpf_fast_module = {
    PyModuleDef_HEAD_INIT, "_pybpf_fast", "pybpf's map element fast paths.", -1,
    pybpf_fast_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pybpf_fast(void)
{
    PyObject *m, *base;
#define PYBPF_STR(var, text) \
    if ((var = PyUnicode_InternFromString(text)) == NULL) \
        return NULL;
    PYBPF_STR(pybpf_s_addr, "_addr")
    PYBPF_STR(pybpf_s_lookup, "_lookup")
    PYBPF_STR(pybpf_s_update, "_update")
    PYBPF_STR(pybpf_s_delete, "delete")
    PYBPF_STR(pybpf_s_error, "_fast_error")
    PYBPF_STR(pybpf_s_op_lookup, "lookup")
    PYBPF_STR(pybpf_s_op_update, "update")
    PYBPF_STR(pybpf_params[0], "key")
    PYBPF_STR(pybpf_params[1], "value")
    PYBPF_STR(pybpf_params[2], "flags")
#undef PYBPF_STR
    m = PyModule_Create(&pybpf_fast_module);
    if (m == NULL)
        return NULL;
    base = PyType_FromSpec(&pybpf_map_spec);
    if (base == NULL || PyModule_AddObject(m, "MapBase", base) < 0
        || PyModule_AddIntConstant(m, "VERSION", PYBPF_SYS_VERSION) < 0) {
        Py_XDECREF(base);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
"""

#: The event readers' consume loops (:mod:`pybpf.core._readers`), a third
#: CPython module of the same library, loaded as ``_pybpf_readers``. Turning
#: a record into a Python object is most of a reader's cost per record: here
#: it is one ``PyBytes`` (or one call of the record codec), with the ring's
#: positions read and written with the memory ordering its producer expects.
READERS_MODULE = "_pybpf_readers"
READERS_SOURCE = r"""
#define PYBPF_RB_BUSY (1U << 31)
#define PYBPF_RB_DISCARD (1U << 30)
#define PYBPF_RB_HDR 8
#define PYBPF_PERF_RECORD_LOST 2
#define PYBPF_PERF_RECORD_SAMPLE 9

static PyTypeObject *pybpf_perf_record_type;

/* A record type whose members are all host-order ints at fixed offsets: its
 * class (a pybpf.btf Record), and each member's name, offset in the record,
 * scalar spec (size | 0x10 when signed, as pybpf_fast_get takes) and the
 * offset of its slot in the instance (-1 when unknown). Decoded here without
 * a Python frame: a fresh instance (zeroed: its slots empty) gets each
 * member stored in its slot, or set by name when the slot is not known. */
#define PYBPF_FLAT_MAX 64
struct pybpf_flat {
    PyTypeObject *cls;
    Py_ssize_t n;
    PyObject *names[PYBPF_FLAT_MAX];
    int offsets[PYBPF_FLAT_MAX];
    int specs[PYBPF_FLAT_MAX];
    Py_ssize_t slots[PYBPF_FLAT_MAX];
};

/* decode is such a layout when it is a tuple (cls, ((name, offset, spec, slot), ...)):
 * 1 and *flat filled, 0 for anything else (a callable), -1 on error. */
static int pybpf_flat_parse(PyObject *decode, struct pybpf_flat *flat)
{
    PyObject *cls, *members;
    Py_ssize_t i;
    if (!PyTuple_Check(decode))
        return 0;
    cls = PyTuple_GetItem(decode, 0);
    members = PyTuple_GetItem(decode, 1);
    if (cls == NULL || members == NULL)
        return -1;
    if (!PyType_Check(cls) || !PyTuple_Check(members) || PyTuple_Size(members) > PYBPF_FLAT_MAX) {
        PyErr_SetString(PyExc_TypeError,
                        "a flat record layout is (cls, ((name, offset, spec, slot), ...))");
        return -1;
    }
    flat->cls = (PyTypeObject *)cls;
    flat->n = PyTuple_Size(members);
    for (i = 0; i < flat->n; i++) {
        PyObject *m = PyTuple_GetItem(members, i);
        if (m == NULL || !PyTuple_Check(m) || PyTuple_Size(m) != 4) {
            PyErr_SetString(PyExc_TypeError, "a flat record member is (name, offset, spec, slot)");
            return -1;
        }
        flat->names[i] = PyTuple_GetItem(m, 0);
        flat->offsets[i] = (int)PyLong_AsLong(PyTuple_GetItem(m, 1));
        flat->specs[i] = (int)PyLong_AsLong(PyTuple_GetItem(m, 2));
        flat->slots[i] = PyLong_AsSsize_t(PyTuple_GetItem(m, 3));
        if (PyErr_Occurred())
            return -1;
    }
    return 1;
}

static PyObject *pybpf_flat_record(const struct pybpf_flat *flat, const char *sample)
{
    PyObject *obj = PyType_GenericAlloc(flat->cls, 0);
    Py_ssize_t i;
    if (obj == NULL)
        return NULL;
    for (i = 0; i < flat->n; i++) {
        PyObject *value = pybpf_fast_get(sample + flat->offsets[i], flat->specs[i]);
        int rc = -1;
        if (value != NULL && flat->slots[i] >= 0) {
            /* The reference moves into the empty slot, as a member store does. */
            *(PyObject **)((char *)obj + flat->slots[i]) = value;
            continue;
        }
        rc = value ? PyObject_SetAttr(obj, flat->names[i], value) : -1;
        Py_XDECREF(value);
        if (rc < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

/* One record of the consumer's choice: bytes, a flat record, or what
 * decode(view, offset) (or decode(bytes) without a view) returns. A flat
 * record and decode(view, offset) read record_size bytes: a shorter record
 * is an error, not a read past its end. */
static PyObject *pybpf_record(const char *sample, uint32_t len, PyObject *decode,
                              const struct pybpf_flat *flat, PyObject *view, Py_ssize_t offset,
                              Py_ssize_t record_size)
{
    PyObject *raw, *rec;
    if (decode == Py_None)
        return PyBytes_FromStringAndSize(sample, len);
    if ((flat != NULL || view != Py_None) && (Py_ssize_t)len < record_size) {
        PyErr_Format(PyExc_ValueError,
                     "a record of %u bytes is shorter than its record type "
                     "(%zd bytes); it was skipped", len, record_size);
        return NULL;
    }
    if (flat != NULL)
        return pybpf_flat_record(flat, sample);
    if (view != Py_None) {
        PyObject *off = PyLong_FromSsize_t(offset);
        if (off == NULL)
            return NULL;
        rec = PyObject_CallFunctionObjArgs(decode, view, off, NULL);
        Py_DECREF(off);
        return rec;
    }
    raw = PyBytes_FromStringAndSize(sample, len);
    if (raw == NULL)
        return NULL;
    rec = PyObject_CallFunctionObjArgs(decode, raw, NULL);
    Py_DECREF(raw);
    return rec;
}

/* ring_read(consumer, producer, data, mask, out, limit, decode, view, record_size) -> n
 *
 * Appends to the list out the records of a BPF ring buffer (at most limit,
 * none when limit is 0, all when negative) and returns how many. consumer,
 * producer and data are the addresses of the two position pages and of the
 * doubly mapped data area. The loop is libbpf's: stop at a record still busy,
 * skip discarded ones, release the consumer position after every record so
 * that the producer may reuse its space at once. decode is None (bytes), a
 * flat layout (see pybpf_flat_parse) or a callable. A record whose decoding
 * raises is consumed all the same, so that a bad record cannot wedge the
 * reader; the exception propagates with the records before it in out. */
static PyObject *pybpf_ring_read(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t *consumer, *producer, cons, prod, mask;
    const char *data;
    PyObject *out, *decode, *view;
    Py_ssize_t limit, record_size, n = 0;
    struct pybpf_flat flat_layout, *flat = NULL;
    int is_flat;
    (void)mod;
    if (nargs != 9 || !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "ring_read(consumer, producer, data, mask, out, "
                                         "limit, decode, view, record_size)");
        return NULL;
    }
    consumer = (uint64_t *)PyLong_AsVoidPtr(args[0]);
    producer = (uint64_t *)PyLong_AsVoidPtr(args[1]);
    data = (const char *)PyLong_AsVoidPtr(args[2]);
    mask = PyLong_AsUnsignedLongLong(args[3]);
    out = args[4];
    limit = PyLong_AsSsize_t(args[5]);
    decode = args[6];
    view = args[7];
    record_size = PyLong_AsSsize_t(args[8]);
    if (PyErr_Occurred())
        return NULL;
    if ((is_flat = pybpf_flat_parse(decode, &flat_layout)) < 0)
        return NULL;
    if (is_flat)
        flat = &flat_layout;
    cons = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
    for (;;) {
        int progressed = 0;
        prod = __atomic_load_n(producer, __ATOMIC_ACQUIRE);
        while (cons < prod && (limit < 0 || n < limit)) {
            const uint32_t *hdr = (const uint32_t *)(data + (cons & mask));
            uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
            uint32_t size;
            if (len & PYBPF_RB_BUSY)
                goto done;
            size = len & ~(PYBPF_RB_BUSY | PYBPF_RB_DISCARD);
            progressed = 1;
            if (!(len & PYBPF_RB_DISCARD)) {
                Py_ssize_t offset = (Py_ssize_t)((cons & mask) + PYBPF_RB_HDR);
                PyObject *rec = pybpf_record((const char *)hdr + PYBPF_RB_HDR, size, decode,
                                             flat, view, offset, record_size);
                int rc = rec ? PyList_Append(out, rec) : -1;
                Py_XDECREF(rec);
                cons += (size + PYBPF_RB_HDR + 7) & ~7ULL;
                __atomic_store_n(consumer, cons, __ATOMIC_RELEASE);
                if (rc < 0)
                    return NULL;
                n++;
            } else {
                cons += (size + PYBPF_RB_HDR + 7) & ~7ULL;
                __atomic_store_n(consumer, cons, __ATOMIC_RELEASE);
            }
        }
        if (!progressed || (limit >= 0 && n >= limit))
            break;
    }
done:
    return PyLong_FromSsize_t(n);
}

/* A PerfRecord(cpu, data, lost), taking over the references to data and
 * lost; NULL (and both released) when either is NULL or on error. */
static PyObject *pybpf_perf_item(PyObject *cpu, PyObject *data, PyObject *lost)
{
    PyObject *item = NULL;
    if (data != NULL && lost != NULL)
        item = PyStructSequence_New(pybpf_perf_record_type);
    if (item == NULL) {
        Py_XDECREF(data);
        Py_XDECREF(lost);
        return NULL;
    }
    Py_INCREF(cpu);
    PyStructSequence_SetItem(item, 0, cpu);
    PyStructSequence_SetItem(item, 1, data);
    PyStructSequence_SetItem(item, 2, lost);
    return item;
}

/* perf_read(header, data, size, cpu, out, limit, decode, record_size) -> (n, lost)
 *
 * Appends to out the records of one CPU's perf ring (forward, writable): a
 * PerfRecord(cpu, data, 0) per sample, data being bytes or decode(bytes),
 * (or a flat layout, as for ring_read), and a PerfRecord(cpu, None, count)
 * per PERF_RECORD_LOST. header is the
 * address of the perf_event_mmap_page, data that of the size bytes after
 * it. Records that run past the end of the ring are put back together.
 * Returns how many records were appended and how many samples were lost. */
static PyObject *pybpf_perf_read(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    char *page;
    const char *data;
    uint64_t *head_p, *tail_p, head, tail, size;
    PyObject *cpu, *out, *decode;
    Py_ssize_t limit, record_size, n = 0;
    unsigned long long lost = 0;
    char *joined = NULL;
    struct pybpf_flat flat_layout, *flat = NULL;
    int is_flat;
    (void)mod;
    if (nargs != 8 || !PyList_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "perf_read(header, data, size, cpu, out, limit, decode, record_size)");
        return NULL;
    }
    page = (char *)PyLong_AsVoidPtr(args[0]);
    data = (const char *)PyLong_AsVoidPtr(args[1]);
    size = PyLong_AsUnsignedLongLong(args[2]);
    cpu = args[3];
    out = args[4];
    limit = PyLong_AsSsize_t(args[5]);
    decode = args[6];
    record_size = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred())
        return NULL;
    if ((is_flat = pybpf_flat_parse(decode, &flat_layout)) < 0)
        return NULL;
    if (is_flat)
        flat = &flat_layout;
    /* struct perf_event_mmap_page: data_head at 1024, data_tail right after. */
    head_p = (uint64_t *)(page + 1024);
    tail_p = (uint64_t *)(page + 1032);
    head = __atomic_load_n(head_p, __ATOMIC_ACQUIRE);
    tail = *tail_p;
    while (tail < head && (limit < 0 || n < limit)) {
        uint64_t off = tail % size;
        const char *rec = data + off;
        uint32_t type = *(const uint32_t *)rec;
        uint16_t rsize = *(const uint16_t *)(rec + 6);
        PyObject *item = NULL, *value;
        if (rsize < 8)
            break; /* a corrupt ring: stop rather than spin */
        if (off + rsize > size) {
            uint64_t first = size - off;
            if (joined == NULL && (joined = PyMem_Malloc(65536)) == NULL) {
                PyErr_NoMemory();
                return NULL;
            }
            memcpy(joined, rec, first);
            memcpy(joined + first, data, rsize - first);
            rec = joined;
        }
        if (type == PYBPF_PERF_RECORD_SAMPLE && rsize >= 12) {
            uint32_t raw = *(const uint32_t *)(rec + 8);
            if (raw > (uint32_t)rsize - 12)
                raw = rsize - 12;
            value = pybpf_record(rec + 12, raw, decode, flat, Py_None, 0, record_size);
            item = pybpf_perf_item(cpu, value, PyLong_FromLong(0));
        } else if (type == PYBPF_PERF_RECORD_LOST && rsize >= 24) {
            uint64_t count = *(const uint64_t *)(rec + 16);
            lost += count;
            Py_INCREF(Py_None);
            item = pybpf_perf_item(cpu, Py_None, PyLong_FromUnsignedLongLong(count));
        } else {
            tail += rsize;
            continue; /* other record types carry nothing for a reader */
        }
        tail += rsize;
        __atomic_store_n(tail_p, tail, __ATOMIC_RELEASE);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            PyMem_Free(joined);
            return NULL;
        }
        Py_DECREF(item);
        n++;
    }
    __atomic_store_n(tail_p, tail, __ATOMIC_RELEASE);
    PyMem_Free(joined);
    return Py_BuildValue("nK", n, lost);
}

/* load(address, size) -> int and store(address, size, value): a 4 or 8 byte
 * position read with acquire, written with release ordering. */
static PyObject *pybpf_readers_load(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    void *p;
    long size;
    (void)mod;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "load(address, size)");
        return NULL;
    }
    p = PyLong_AsVoidPtr(args[0]);
    size = PyLong_AsLong(args[1]);
    if (PyErr_Occurred())
        return NULL;
    if (size == 4)
        return PyLong_FromUnsignedLong(__atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE));
    return PyLong_FromUnsignedLongLong(__atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE));
}

static PyObject *pybpf_readers_store(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    void *p;
    long size;
    unsigned long long value;
    (void)mod;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "store(address, size, value)");
        return NULL;
    }
    p = PyLong_AsVoidPtr(args[0]);
    size = PyLong_AsLong(args[1]);
    value = PyLong_AsUnsignedLongLong(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (size == 4)
        __atomic_store_n((uint32_t *)p, (uint32_t)value, __ATOMIC_RELEASE);
    else
        __atomic_store_n((uint64_t *)p, (uint64_t)value, __ATOMIC_RELEASE);
    Py_INCREF(Py_None);
    return Py_None;
}

static PyMethodDef pybpf_readers_methods[] = {
    {"ring_read", (PyCFunction)(void (*)(void))pybpf_ring_read, METH_FASTCALL,
     "ring_read(consumer, producer, data, mask, out, limit, decode, view, record_size) -> n"},
    {"perf_read", (PyCFunction)(void (*)(void))pybpf_perf_read, METH_FASTCALL,
     "perf_read(header, data, size, cpu, out, limit, decode, record_size) -> (n, lost)"},
    {"load", (PyCFunction)(void (*)(void))pybpf_readers_load, METH_FASTCALL,
     "load(address, size): read a position with acquire ordering."},
    {"store", (PyCFunction)(void (*)(void))pybpf_readers_store, METH_FASTCALL,
     "store(address, size, value): write a position with release ordering."},
    {NULL, NULL, 0, NULL},
};

static PyStructSequence_Field pybpf_perf_record_fields[] = {
    {"cpu", "the CPU whose buffer the record came from"},
    {"data", "the sample: bytes, or what the record codec decoded; None for lost samples"},
    {"lost", "how many samples the kernel dropped here (0 for a sample)"},
    {NULL, NULL},
};

static PyStructSequence_Desc pybpf_perf_record_desc = {
    "pybpf.core.PerfRecord",
    "A perf buffer record: cpu, data, lost.",
    pybpf_perf_record_fields,
    3,
};

static struct PyModuleDef pybpf_readers_module = {
    PyModuleDef_HEAD_INIT, "_pybpf_readers", "pybpf's ring and perf buffer consume loops.", -1,
    pybpf_readers_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pybpf_readers(void)
{
    PyObject *m = PyModule_Create(&pybpf_readers_module);
    if (m == NULL)
        return NULL;
    pybpf_perf_record_type = PyStructSequence_NewType(&pybpf_perf_record_desc);
    if (pybpf_perf_record_type == NULL)
        goto fail;
    Py_INCREF(pybpf_perf_record_type); /* the module's reference is stolen below */
    if (PyModule_AddObject(m, "PerfRecord", (PyObject *)pybpf_perf_record_type) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
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

"""
    + FD_SOURCE
    + FAST_SOURCE
    + READERS_SOURCE
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
