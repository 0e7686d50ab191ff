/* _pybpf_fast: the map hot paths as a CPython module of their own (see
 * FAST_MODULE in pybpf/core/_sys_build.py). */

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
static int pybpf_map_call(pybpf_map *self, int cmd, struct pybpf_attr_map_elem *attr)
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
    struct pybpf_attr_map_elem attr;
    const void *kp = NULL;
    int rc, got;
    got = self->fast & 1 ? pybpf_map_arg(key, self->shape & 0xff, &k, &kp) : 0;
    if (got == 0)
        return PyObject_CallMethodObjArgs(obj, pybpf_s_lookup, key, NULL);
    if (got < 0)
        return pybpf_map_fail(self, pybpf_s_op_lookup, 0, key, Py_None, Py_None);
    v.u64 = 0;
    memset(&attr, 0, sizeof(attr));
    attr.key = (uint64_t)(uintptr_t)kp;
    attr.value = (uint64_t)(uintptr_t)&v;
    attr.flags = 0;
    if ((rc = pybpf_map_call(self, PYBPF_BPF_MAP_LOOKUP_ELEM, &attr)) < 0)
        return pybpf_map_fail(self, pybpf_s_op_lookup, -rc, key, Py_None, Py_None);
    return pybpf_fast_get(&v, self->shape >> 8);
}

/* flags may be NULL (0, UpdateFlags.ANY). */
static PyObject *pybpf_map_set(pybpf_map *self, PyObject *key, PyObject *value, PyObject *flags)
{
    union pybpf_scalar k, v;
    struct pybpf_attr_map_elem attr;
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
    memset(&attr, 0, sizeof(attr));
    attr.key = (uint64_t)(uintptr_t)kp;
    attr.value = (uint64_t)(uintptr_t)vp;
    attr.flags = f;
    if ((rc = pybpf_map_call(self, PYBPF_BPF_MAP_UPDATE_ELEM, &attr)) < 0)
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
        || PyModule_AddIntConstant(m, "SOURCE_HASH", PYBPF_SYS_HASH) < 0) {
        Py_XDECREF(base);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
