/* _pybpf_btf_scan: pybpf.btf's record scan, compiled (see BTF_SCAN_MODULE in
 * pybpf/core/_sys_build.py and pybpf.btf.parse, which owns the contract).
 *
 * A module of its own, not part of the cffi library: pybpf.btf may not import
 * anything of pybpf.core, so it looks this module up by name, and finds it
 * wherever pybpf-core's wheel was compiled. Everything it knows about BTF's
 * kinds comes in from Python as a table; it only walks the words.
 *
 * Everything read is bounds-checked: hostile BTF makes a function return
 * None (the Python code then says what is wrong), never read out of bounds.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Bump when a function's arguments or results change: pybpf.btf uses a
 * module of the version it was written for, and its Python code otherwise. */
#define PYBPF_BTF_SCAN_VERSION 1

/* One entry per BTF kind (the 5-bit kind field): the record's words before
 * its items (0: no such kind), the words per item, the largest vlen allowed
 * and whether kind_flag may be set. */
struct pybpf_kind_rule {
    uint16_t words;
    uint16_t item_words;
    uint16_t max_vlen;
    uint16_t kind_flag;
};

#define PYBPF_KINDS 32
/* Bits of a record's info word that no kind may set. */
#define PYBPF_INFO_RESERVED 0x60FF0000u

static uint32_t pybpf_word(const unsigned char *p, Py_ssize_t i)
{
    uint32_t w;
    memcpy(&w, p + 4 * i, 4); /* the words need not be aligned */
    return w;
}

/* Walks the records of a type section of n native-order words. Writes the
 * word offset and the name offset of each and returns their number, or -1
 * when a record is malformed or the records do not tile the section exactly.
 * Every rule's words are at least 3 (pybpf_rules): each step moves on. */
static Py_ssize_t pybpf_walk(const unsigned char *words, Py_ssize_t n,
                             const struct pybpf_kind_rule *rules, uint32_t *offsets,
                             uint32_t *names)
{
    Py_ssize_t i = 0, count = 0;
    while (i < n) {
        uint32_t info, kind, vlen;
        Py_ssize_t length;
        const struct pybpf_kind_rule *rule;
        if (n - i < 3)
            return -1;
        info = pybpf_word(words, i + 1);
        kind = (info >> 24) & 0x1f;
        vlen = info & 0xffff;
        rule = &rules[kind];
        if (rule->words == 0 || (info & PYBPF_INFO_RESERVED) || vlen > rule->max_vlen
            || ((info >> 31) && !rule->kind_flag))
            return -1;
        length = (Py_ssize_t)rule->words + (Py_ssize_t)rule->item_words * vlen;
        if (length > n - i)
            return -1;
        offsets[count] = (uint32_t)i;
        names[count] = pybpf_word(words, i);
        count++;
        i += length;
    }
    return count;
}

/* Copies the kind rules out of obj: 32 entries, each of a known kind at
 * least a record's 3 header words long. */
static int pybpf_rules(PyObject *obj, struct pybpf_kind_rule *rules)
{
    Py_buffer view;
    int kind;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view.len != (Py_ssize_t)(PYBPF_KINDS * sizeof(*rules))) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "kind rules: want 32 entries of 4 uint16");
        return -1;
    }
    memcpy(rules, view.buf, PYBPF_KINDS * sizeof(*rules));
    PyBuffer_Release(&view);
    for (kind = 0; kind < PYBPF_KINDS; kind++) {
        if (rules[kind].words != 0 && rules[kind].words < 3) {
            PyErr_Format(PyExc_ValueError, "kind rules: kind %d has %d words", kind,
                         (int)rules[kind].words);
            return -1;
        }
    }
    return 0;
}

/* index(types, rules) -> (offsets, names) | None */
static PyObject *pybpf_index(PyObject *self, PyObject *args)
{
    PyObject *types_obj, *rules_obj, *offsets = NULL, *names = NULL, *result = NULL;
    Py_buffer types;
    struct pybpf_kind_rule rules[PYBPF_KINDS];
    uint32_t *scratch = NULL;
    Py_ssize_t n, count = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &types_obj, &rules_obj))
        return NULL;
    if (pybpf_rules(rules_obj, rules) < 0)
        return NULL;
    if (PyObject_GetBuffer(types_obj, &types, PyBUF_SIMPLE) < 0)
        return NULL;
    if (types.len % 4 != 0) {
        PyErr_SetString(PyExc_ValueError, "type section: not a whole number of words");
        goto out;
    }
    n = types.len / 4;
    /* At most one record per three words: room for both columns at once. */
    scratch = PyMem_Malloc(2 * sizeof(uint32_t) * (size_t)(n / 3 + 1));
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    count = pybpf_walk(types.buf, n, rules, scratch, scratch + n / 3 + 1);
    Py_END_ALLOW_THREADS
    if (count < 0) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto out;
    }
    offsets = PyBytes_FromStringAndSize((const char *)scratch, 4 * count);
    names = offsets ? PyBytes_FromStringAndSize((const char *)(scratch + n / 3 + 1), 4 * count)
                    : NULL;
    if (names != NULL)
        result = PyTuple_Pack(2, offsets, names);
out:
    Py_XDECREF(offsets);
    Py_XDECREF(names);
    PyMem_Free(scratch);
    PyBuffer_Release(&types);
    return result;
}

/* A named record, for sorting: its name's first 8 bytes as a big-endian
 * number (most names differ there), where its name is, and its index. */
struct pybpf_named {
    uint64_t head;
    uint32_t name;
    uint32_t index;
};

/* Whether record b's name sorts before record a's. */
static int pybpf_before(const struct pybpf_named *b, const struct pybpf_named *a,
                        const char *table)
{
    if (b->head != a->head)
        return b->head < a->head;
    /* Equal heads ending in a NUL are equal names; else compare the rest. */
    return (a->head & 0xff) != 0 && strcmp(table + b->name + 8, table + a->name + 8) < 0;
}

/* Sorts named records by name, keeping the order of equal names (they come
 * in index order): merges of doubling widths, between a and tmp. */
static void pybpf_sort_names(struct pybpf_named *a, struct pybpf_named *tmp, size_t n,
                             const char *table)
{
    struct pybpf_named *from = a, *to = tmp, *swap;
    size_t width, lo;
    for (width = 1; width < n; width *= 2) {
        for (lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (pybpf_before(&from[j], &from[i], table))
                    to[k++] = from[j++];
                else
                    to[k++] = from[i++];
            }
            while (i < mid)
                to[k++] = from[i++];
            while (j < hi)
                to[k++] = from[j++];
        }
        swap = from;
        from = to;
        to = swap;
    }
    if (from != a)
        memcpy(a, from, n * sizeof(*a));
}

/* name_order(strings, names) -> bytes | None: the indices of the records
 * with a non-empty name, sorted by name (bytewise) then index, as native
 * uint32; None when a name offset is not the start of a string of the
 * NUL-terminated table. */
static PyObject *pybpf_name_order(PyObject *self, PyObject *args)
{
    PyObject *strings_obj, *names_obj, *result = NULL;
    Py_buffer strings, names;
    struct pybpf_named *named = NULL;
    uint32_t *order = NULL;
    Py_ssize_t size, count, i, kept = 0;
    int bad = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &strings_obj, &names_obj))
        return NULL;
    if (PyObject_GetBuffer(strings_obj, &strings, PyBUF_SIMPLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(names_obj, &names, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&strings);
        return NULL;
    }
    size = strings.len;
    count = names.len / 4;
    if (names.len % 4 != 0 || size == 0 || ((const char *)strings.buf)[size - 1] != 0) {
        PyErr_SetString(PyExc_ValueError, "name_order: want a NUL-terminated table and words");
        goto out;
    }
    if ((size_t)count > PY_SSIZE_T_MAX / (2 * sizeof(*named)))
        named = NULL;
    else
        named = PyMem_Malloc(2 * sizeof(*named) * (size_t)(count ? count : 1));
    if (named == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    {
        const char *table = strings.buf;
        for (i = 0; i < count; i++) {
            uint32_t off = pybpf_word(names.buf, i);
            const char *name;
            uint64_t head = 0;
            int k;
            /* A string starts the table or follows a NUL. */
            if ((size_t)off >= (size_t)size || (off > 0 && table[off - 1] != 0)) {
                bad = 1;
                break;
            }
            name = table + off;
            if (name[0] == 0)
                continue;
            /* The table ends in NUL: stop at the name's own. */
            for (k = 0; k < 8 && name[k] != 0; k++)
                head = head << 8 | (unsigned char)name[k];
            if (k < 8)
                head <<= 8 * (8 - k);
            named[kept].head = head;
            named[kept].name = off;
            named[kept].index = (uint32_t)i;
            kept++;
        }
        if (!bad)
            pybpf_sort_names(named, named + count, (size_t)kept, table);
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto out;
    }
    order = PyMem_Malloc(sizeof(uint32_t) * (size_t)(kept ? kept : 1));
    if (order == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    for (i = 0; i < kept; i++)
        order[i] = named[i].index;
    result = PyBytes_FromStringAndSize((const char *)order, 4 * kept);
out:
    PyMem_Free(order);
    PyMem_Free(named);
    PyBuffer_Release(&names);
    PyBuffer_Release(&strings);
    return result;
}

static PyMethodDef pybpf_btf_scan_methods[] = {
    {"index", pybpf_index, METH_VARARGS,
     "index(types, rules): (offsets, names) of the records of a type section, or None."},
    {"name_order", pybpf_name_order, METH_VARARGS,
     "name_order(strings, names): named record indices sorted by name, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pybpf_btf_scan_module = {
    PyModuleDef_HEAD_INIT, "_pybpf_btf_scan", "pybpf.btf's record scan, compiled.", -1,
    pybpf_btf_scan_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pybpf_btf_scan(void)
{
    PyObject *m = PyModule_Create(&pybpf_btf_scan_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "VERSION", PYBPF_BTF_SCAN_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
