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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Bump when a function's arguments or results change: pybpf.btf uses a
 * module of the version it was written for, and its Python code otherwise. */
#define PYBPF_BTF_SCAN_VERSION 6

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

/* The buffers of n objects, or -1 (with none held) when one has none. */
static int pybpf_get_buffers(PyObject *const *objs, Py_buffer *views, int n)
{
    for (int i = 0; i < n; i++) {
        if (PyObject_GetBuffer(objs[i], &views[i], PyBUF_SIMPLE) < 0) {
            while (i-- > 0)
                PyBuffer_Release(&views[i]);
            return -1;
        }
    }
    return 0;
}

static void pybpf_release_buffers(Py_buffer *views, int n)
{
    while (n-- > 0)
        PyBuffer_Release(&views[n]);
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
    PyObject *objs[2], *result = NULL;
    Py_buffer views[2], *strings = &views[0], *names = &views[1];
    struct pybpf_named *named = NULL;
    uint32_t *order = NULL;
    Py_ssize_t size, count, i, kept = 0;
    int bad = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &objs[0], &objs[1]))
        return NULL;
    if (pybpf_get_buffers(objs, views, 2) < 0)
        return NULL;
    size = strings->len;
    count = names->len / 4;
    if (names->len % 4 != 0 || size == 0 || ((const char *)strings->buf)[size - 1] != 0) {
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
        const char *table = strings->buf;
        for (i = 0; i < count; i++) {
            uint32_t off = pybpf_word(names->buf, i);
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
    pybpf_release_buffers(views, 2);
    return result;
}

/* --- bpftool's raw and JSON dumps of a blob's records (pybpf.btf.raw_records) --- */

/* BTF_KIND_* (include/uapi/linux/btf.h): the kinds this text knows. */
enum {
    PYBPF_INT = 1, PYBPF_PTR, PYBPF_ARRAY, PYBPF_STRUCT, PYBPF_UNION, PYBPF_ENUM, PYBPF_FWD,
    PYBPF_TYPEDEF, PYBPF_VOLATILE, PYBPF_CONST, PYBPF_RESTRICT, PYBPF_FUNC, PYBPF_FUNC_PROTO,
    PYBPF_VAR, PYBPF_DATASEC, PYBPF_FLOAT, PYBPF_DECL_TAG, PYBPF_TYPE_TAG, PYBPF_ENUM64,
};

static const char *const pybpf_kind_names[PYBPF_KINDS] = {
    "UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE",
    "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG",
    "TYPE_TAG", "ENUM64", "UNKN", "UNKN", "UNKN", "UNKN", "UNKN", "UNKN", "UNKN", "UNKN",
    "UNKN", "UNKN", "UNKN", "UNKN",
};

static const char *pybpf_linkage(uint32_t linkage)
{
    static const char *const names[] = {"static", "global", "extern"};
    return linkage < 3 ? names[linkage] : "UNKN";
}

static const char *pybpf_int_encoding(uint32_t encoding)
{
    switch (encoding) {
    case 0: return "(none)";
    case 1: return "SIGNED";
    case 2: return "CHAR";
    case 4: return "BOOL";
    default: return "UNKN";
    }
}

/* What a dump is made from, and the text it grows; any check that fails
 * sets bad (the Python code then renders the batch and says what is wrong). */
struct pybpf_dump {
    const unsigned char *words;
    Py_ssize_t nwords;
    const unsigned char *offsets;
    Py_ssize_t count;
    const char *strings;
    Py_ssize_t strings_len;
    uint32_t base_strings_len;
    uint32_t first_id;
    char *text;
    size_t len, cap;
    int bad, failed;
};

static int pybpf_room(struct pybpf_dump *d, size_t more)
{
    size_t cap;
    char *grown;
    if (d->len + more <= d->cap)
        return 1;
    cap = d->cap ? d->cap : 65536;
    while (cap < d->len + more)
        cap *= 2;
    grown = realloc(d->text, cap);
    if (grown == NULL) {
        d->failed = 1;
        return 0;
    }
    d->text = grown;
    d->cap = cap;
    return 1;
}

static void pybpf_put(struct pybpf_dump *d, const char *s, size_t n)
{
    if (pybpf_room(d, n)) {
        memcpy(d->text + d->len, s, n);
        d->len += n;
    }
}

#define PYBPF_PUTS(d, literal) pybpf_put((d), (literal), sizeof(literal) - 1)

static void pybpf_putz(struct pybpf_dump *d, const char *s)
{
    pybpf_put(d, s, strlen(s));
}

static void pybpf_put_u64(struct pybpf_dump *d, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[19 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    pybpf_put(d, digits + 20 - n, (size_t)n);
}

static void pybpf_put_i64(struct pybpf_dump *d, int64_t v)
{
    if (v < 0) {
        PYBPF_PUTS(d, "-");
        pybpf_put_u64(d, (uint64_t)0 - (uint64_t)v);
    } else {
        pybpf_put_u64(d, (uint64_t)v);
    }
}

/* The string at a name offset, "(anon)" when empty; NULL (and bad) when it
 * is not in this blob's table or not ASCII (Python decodes those). */
static const char *pybpf_name(struct pybpf_dump *d, uint32_t offset, size_t *len)
{
    const char *s;
    size_t i;
    if (offset == 0) {
        *len = 6;
        return "(anon)";
    }
    if (offset < d->base_strings_len
        || (Py_ssize_t)(offset - d->base_strings_len) >= d->strings_len) {
        d->bad = 1;
        return NULL;
    }
    s = d->strings + (offset - d->base_strings_len);
    for (i = 0; s[i] != 0; i++) { /* the table ends in a NUL (checked) */
        if ((unsigned char)s[i] >= 0x80) {
            d->bad = 1;
            return NULL;
        }
    }
    if (i == 0) {
        *len = 6;
        return "(anon)";
    }
    *len = i;
    return s;
}

/* A name between single quotes, as the raw dump prints it. */
static void pybpf_put_name(struct pybpf_dump *d, uint32_t offset)
{
    size_t len;
    const char *s = pybpf_name(d, offset, &len);
    if (s == NULL)
        return;
    PYBPF_PUTS(d, "'");
    pybpf_put(d, s, len);
    PYBPF_PUTS(d, "'");
}

/* A name as a JSON string, escaped as json's encode_basestring_ascii does. */
static void pybpf_put_json_name(struct pybpf_dump *d, uint32_t offset)
{
    static const char hex[] = "0123456789abcdef";
    size_t len, i, start = 0;
    const char *s = pybpf_name(d, offset, &len);
    if (s == NULL)
        return;
    PYBPF_PUTS(d, "\"");
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        size_t n = 6;
        if (c >= ' ' && c <= '~' && c != '\\' && c != '"')
            continue;
        pybpf_put(d, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '\\': esc[1] = '\\'; n = 2; break;
        case '"': esc[1] = '"'; n = 2; break;
        case '\b': esc[1] = 'b'; n = 2; break;
        case '\f': esc[1] = 'f'; n = 2; break;
        case '\n': esc[1] = 'n'; n = 2; break;
        case '\r': esc[1] = 'r'; n = 2; break;
        case '\t': esc[1] = 't'; n = 2; break;
        default: break;
        }
        pybpf_put(d, esc, n);
    }
    pybpf_put(d, s + start, len - start);
    PYBPF_PUTS(d, "\"");
}

/* The words of a record's fixed part and of each item, by kind. */
static void pybpf_shape(uint32_t kind, Py_ssize_t *fixed, Py_ssize_t *per_item)
{
    *fixed = 3;
    *per_item = 0;
    switch (kind) {
    case PYBPF_INT: case PYBPF_VAR: case PYBPF_DECL_TAG: *fixed = 4; break;
    case PYBPF_ARRAY: *fixed = 6; break;
    case PYBPF_STRUCT: case PYBPF_UNION: case PYBPF_DATASEC: case PYBPF_ENUM64:
        *per_item = 3; break;
    case PYBPF_ENUM: case PYBPF_FUNC_PROTO: *per_item = 2; break;
    default: break;
    }
}

/* The word offset of record index i with its words in bounds, or -1 (bad). */
static Py_ssize_t pybpf_record(struct pybpf_dump *d, Py_ssize_t i, uint32_t *info)
{
    Py_ssize_t at, fixed, per_item;
    uint32_t vlen, w;
    if (i < 0 || i >= d->count) {
        d->bad = 1;
        return -1;
    }
    w = pybpf_word(d->offsets, i);
    /* Compared as 64-bit: where Py_ssize_t is 32-bit, a large offset would
     * turn negative and pass. */
    if ((uint64_t)w + 3 > (uint64_t)d->nwords) {
        d->bad = 1;
        return -1;
    }
    at = (Py_ssize_t)w;
    *info = pybpf_word(d->words, at + 1);
    vlen = (*info >> 24 & 0x1f) == PYBPF_FUNC ? 0 : (*info & 0xffff);
    pybpf_shape(*info >> 24 & 0x1f, &fixed, &per_item);
    if (fixed + per_item * (Py_ssize_t)vlen > d->nwords - at) {
        d->bad = 1;
        return -1;
    }
    return at;
}

/* What both dumps read first of a record: where it is and its head words. */
struct pybpf_head {
    Py_ssize_t at;
    uint32_t kind, vlen, kflag, size_type;
};

/* The head of record index i, checked in bounds as pybpf_record checks it;
 * -1 (and d->bad) where it is not. */
static int pybpf_head(struct pybpf_dump *d, Py_ssize_t index, struct pybpf_head *h)
{
    uint32_t info;
    h->at = pybpf_record(d, index, &info);
    if (h->at < 0)
        return -1;
    h->kind = info >> 24 & 0x1f;
    h->vlen = info & 0xffff;
    h->kflag = info >> 31;
    h->size_type = pybpf_word(d->words, h->at + 2);
    return 0;
}

/* One record as bpftool's raw dump prints it, each line ending in a newline. */
static void pybpf_raw_record(struct pybpf_dump *d, Py_ssize_t index)
{
    struct pybpf_head h;
    uint32_t kind, vlen, kflag, size_type, w, j;
    const unsigned char *words = d->words;
    Py_ssize_t at, item;
    if (pybpf_head(d, index, &h) < 0)
        return;
    at = h.at;
    item = at + 3;
    kind = h.kind;
    vlen = h.vlen;
    kflag = h.kflag;
    size_type = h.size_type;
    PYBPF_PUTS(d, "[");
    pybpf_put_u64(d, (uint64_t)d->first_id + (uint64_t)index);
    PYBPF_PUTS(d, "] ");
    pybpf_putz(d, pybpf_kind_names[kind]);
    PYBPF_PUTS(d, " ");
    pybpf_put_name(d, pybpf_word(words, at));
    switch (kind) {
    case PYBPF_FUNC:
        PYBPF_PUTS(d, " type_id=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " linkage=");
        pybpf_putz(d, pybpf_linkage(vlen));
        break;
    case PYBPF_FUNC_PROTO:
        PYBPF_PUTS(d, " ret_type_id=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " vlen=");
        pybpf_put_u64(d, vlen);
        for (j = 0; j < vlen; j++, item += 2) {
            PYBPF_PUTS(d, "\n\t");
            pybpf_put_name(d, pybpf_word(words, item));
            PYBPF_PUTS(d, " type_id=");
            pybpf_put_u64(d, pybpf_word(words, item + 1));
        }
        break;
    case PYBPF_PTR: case PYBPF_TYPEDEF: case PYBPF_VOLATILE: case PYBPF_CONST:
    case PYBPF_RESTRICT: case PYBPF_TYPE_TAG:
        PYBPF_PUTS(d, " type_id=");
        pybpf_put_u64(d, size_type);
        break;
    case PYBPF_STRUCT: case PYBPF_UNION:
        PYBPF_PUTS(d, " size=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " vlen=");
        pybpf_put_u64(d, vlen);
        for (j = 0; j < vlen; j++, item += 3) {
            uint32_t offset = pybpf_word(words, item + 2);
            PYBPF_PUTS(d, "\n\t");
            pybpf_put_name(d, pybpf_word(words, item));
            PYBPF_PUTS(d, " type_id=");
            pybpf_put_u64(d, pybpf_word(words, item + 1));
            PYBPF_PUTS(d, " bits_offset=");
            if (kflag && offset >> 24) {
                pybpf_put_u64(d, offset & 0xffffff);
                PYBPF_PUTS(d, " bitfield_size=");
                pybpf_put_u64(d, offset >> 24);
            } else {
                pybpf_put_u64(d, offset);
            }
        }
        break;
    case PYBPF_INT:
        w = pybpf_word(words, at + 3);
        PYBPF_PUTS(d, " size=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " bits_offset=");
        pybpf_put_u64(d, w >> 16 & 0xff);
        PYBPF_PUTS(d, " nr_bits=");
        pybpf_put_u64(d, w & 0xff);
        PYBPF_PUTS(d, " encoding=");
        pybpf_putz(d, pybpf_int_encoding(w >> 24 & 0xf));
        break;
    case PYBPF_ARRAY:
        PYBPF_PUTS(d, " type_id=");
        pybpf_put_u64(d, pybpf_word(words, at + 3));
        PYBPF_PUTS(d, " index_type_id=");
        pybpf_put_u64(d, pybpf_word(words, at + 4));
        PYBPF_PUTS(d, " nr_elems=");
        pybpf_put_u64(d, pybpf_word(words, at + 5));
        break;
    case PYBPF_ENUM: case PYBPF_ENUM64:
        PYBPF_PUTS(d, " encoding=");
        pybpf_putz(d, kflag ? "SIGNED" : "UNSIGNED");
        PYBPF_PUTS(d, " size=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " vlen=");
        pybpf_put_u64(d, vlen);
        for (j = 0; j < vlen; j++) {
            PYBPF_PUTS(d, "\n\t");
            pybpf_put_name(d, pybpf_word(words, item));
            PYBPF_PUTS(d, " val=");
            if (kind == PYBPF_ENUM) {
                uint32_t v = pybpf_word(words, item + 1);
                if (kflag)
                    pybpf_put_i64(d, (int32_t)v);
                else
                    pybpf_put_u64(d, v);
                item += 2;
            } else {
                uint64_t v = (uint64_t)pybpf_word(words, item + 2) << 32
                             | pybpf_word(words, item + 1);
                if (kflag)
                    pybpf_put_i64(d, (int64_t)v);
                else
                    pybpf_put_u64(d, v);
                pybpf_putz(d, kflag ? "LL" : "ULL");
                item += 3;
            }
        }
        break;
    case PYBPF_FWD:
        pybpf_putz(d, kflag ? " fwd_kind=union" : " fwd_kind=struct");
        break;
    case PYBPF_VAR:
        PYBPF_PUTS(d, " type_id=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, ", linkage=");
        pybpf_putz(d, pybpf_linkage(pybpf_word(words, at + 3)));
        break;
    case PYBPF_DATASEC:
        PYBPF_PUTS(d, " size=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " vlen=");
        pybpf_put_u64(d, vlen);
        for (j = 0; j < vlen; j++, item += 3) {
            uint32_t var_id = pybpf_word(words, item), var_info;
            Py_ssize_t var_at;
            PYBPF_PUTS(d, "\n\ttype_id=");
            pybpf_put_u64(d, var_id);
            PYBPF_PUTS(d, " offset=");
            pybpf_put_u64(d, pybpf_word(words, item + 1));
            PYBPF_PUTS(d, " size=");
            pybpf_put_u64(d, pybpf_word(words, item + 2));
            /* A type of the base (split BTF), or none: Python looks it up. */
            /* The index in uint32 first: a difference of two Py_ssize_t
             * may overflow where Py_ssize_t is 32-bit. */
            var_at = var_id < d->first_id
                         ? pybpf_record(d, -1, &var_info)
                         : pybpf_record(d, (Py_ssize_t)(var_id - d->first_id), &var_info);
            if (var_at < 0)
                return;
            PYBPF_PUTS(d, " (");
            pybpf_putz(d, pybpf_kind_names[var_info >> 24 & 0x1f]);
            PYBPF_PUTS(d, " ");
            pybpf_put_name(d, pybpf_word(words, var_at));
            PYBPF_PUTS(d, ")");
        }
        break;
    case PYBPF_FLOAT:
        PYBPF_PUTS(d, " size=");
        pybpf_put_u64(d, size_type);
        break;
    case PYBPF_DECL_TAG:
        PYBPF_PUTS(d, " type_id=");
        pybpf_put_u64(d, size_type);
        PYBPF_PUTS(d, " component_idx=");
        pybpf_put_i64(d, (int32_t)pybpf_word(words, at + 3));
        break;
    default:
        break;
    }
    PYBPF_PUTS(d, "\n");
}

/* A field "key": and an unsigned number, after a comma. */
static void pybpf_json_u64(struct pybpf_dump *d, const char *key, uint64_t v)
{
    PYBPF_PUTS(d, ",\"");
    pybpf_putz(d, key);
    PYBPF_PUTS(d, "\":");
    pybpf_put_u64(d, v);
}

/* One record as a compact JSON object, as bpftool -j names its fields. */
static void pybpf_json_record(struct pybpf_dump *d, Py_ssize_t index)
{
    struct pybpf_head h;
    uint32_t kind, vlen, kflag, size_type, w, j;
    const unsigned char *words = d->words;
    Py_ssize_t at, item;
    if (pybpf_head(d, index, &h) < 0)
        return;
    at = h.at;
    item = at + 3;
    kind = h.kind;
    vlen = h.vlen;
    kflag = h.kflag;
    size_type = h.size_type;
    PYBPF_PUTS(d, "{\"id\":");
    pybpf_put_u64(d, (uint64_t)d->first_id + (uint64_t)index);
    PYBPF_PUTS(d, ",\"kind\":\"");
    pybpf_putz(d, pybpf_kind_names[kind]);
    PYBPF_PUTS(d, "\",\"name\":");
    pybpf_put_json_name(d, pybpf_word(words, at));
    switch (kind) {
    case PYBPF_FUNC: case PYBPF_VAR:
        pybpf_json_u64(d, "type_id", size_type);
        PYBPF_PUTS(d, ",\"linkage\":\"");
        pybpf_putz(d, pybpf_linkage(kind == PYBPF_FUNC ? vlen : pybpf_word(words, at + 3)));
        PYBPF_PUTS(d, "\"");
        break;
    case PYBPF_FUNC_PROTO:
        pybpf_json_u64(d, "ret_type_id", size_type);
        pybpf_json_u64(d, "vlen", vlen);
        PYBPF_PUTS(d, ",\"params\":[");
        for (j = 0; j < vlen; j++, item += 2) {
            pybpf_putz(d, j ? ",{\"name\":" : "{\"name\":");
            pybpf_put_json_name(d, pybpf_word(words, item));
            pybpf_json_u64(d, "type_id", pybpf_word(words, item + 1));
            PYBPF_PUTS(d, "}");
        }
        PYBPF_PUTS(d, "]");
        break;
    case PYBPF_PTR: case PYBPF_TYPEDEF: case PYBPF_VOLATILE: case PYBPF_CONST:
    case PYBPF_RESTRICT: case PYBPF_TYPE_TAG:
        pybpf_json_u64(d, "type_id", size_type);
        if (kind == PYBPF_TYPE_TAG)
            pybpf_json_u64(d, "kind_flag", kflag);
        break;
    case PYBPF_STRUCT: case PYBPF_UNION:
        pybpf_json_u64(d, "size", size_type);
        pybpf_json_u64(d, "vlen", vlen);
        PYBPF_PUTS(d, ",\"members\":[");
        for (j = 0; j < vlen; j++, item += 3) {
            uint32_t offset = pybpf_word(words, item + 2);
            pybpf_putz(d, j ? ",{\"name\":" : "{\"name\":");
            pybpf_put_json_name(d, pybpf_word(words, item));
            pybpf_json_u64(d, "type_id", pybpf_word(words, item + 1));
            if (kflag && offset >> 24) {
                pybpf_json_u64(d, "bits_offset", offset & 0xffffff);
                pybpf_json_u64(d, "bitfield_size", offset >> 24);
            } else {
                pybpf_json_u64(d, "bits_offset", offset);
            }
            PYBPF_PUTS(d, "}");
        }
        PYBPF_PUTS(d, "]");
        break;
    case PYBPF_INT:
        w = pybpf_word(words, at + 3);
        pybpf_json_u64(d, "size", size_type);
        pybpf_json_u64(d, "bits_offset", w >> 16 & 0xff);
        pybpf_json_u64(d, "nr_bits", w & 0xff);
        PYBPF_PUTS(d, ",\"encoding\":\"");
        pybpf_putz(d, pybpf_int_encoding(w >> 24 & 0xf));
        PYBPF_PUTS(d, "\"");
        break;
    case PYBPF_ARRAY:
        pybpf_json_u64(d, "type_id", pybpf_word(words, at + 3));
        pybpf_json_u64(d, "index_type_id", pybpf_word(words, at + 4));
        pybpf_json_u64(d, "nr_elems", pybpf_word(words, at + 5));
        break;
    case PYBPF_ENUM: case PYBPF_ENUM64:
        pybpf_putz(d, kflag ? ",\"encoding\":\"SIGNED\"" : ",\"encoding\":\"UNSIGNED\"");
        pybpf_json_u64(d, "size", size_type);
        pybpf_json_u64(d, "vlen", vlen);
        PYBPF_PUTS(d, ",\"values\":[");
        for (j = 0; j < vlen; j++) {
            pybpf_putz(d, j ? ",{\"name\":" : "{\"name\":");
            pybpf_put_json_name(d, pybpf_word(words, item));
            PYBPF_PUTS(d, ",\"val\":");
            if (kind == PYBPF_ENUM) {
                uint32_t v = pybpf_word(words, item + 1);
                if (kflag)
                    pybpf_put_i64(d, (int32_t)v);
                else
                    pybpf_put_u64(d, v);
                item += 2;
            } else {
                uint64_t v = (uint64_t)pybpf_word(words, item + 2) << 32
                             | pybpf_word(words, item + 1);
                if (kflag)
                    pybpf_put_i64(d, (int64_t)v);
                else
                    pybpf_put_u64(d, v);
                item += 3;
            }
            PYBPF_PUTS(d, "}");
        }
        PYBPF_PUTS(d, "]");
        break;
    case PYBPF_FWD:
        pybpf_putz(d, kflag ? ",\"fwd_kind\":\"union\"" : ",\"fwd_kind\":\"struct\"");
        break;
    case PYBPF_DATASEC:
        pybpf_json_u64(d, "size", size_type);
        pybpf_json_u64(d, "vlen", vlen);
        PYBPF_PUTS(d, ",\"vars\":[");
        for (j = 0; j < vlen; j++, item += 3) {
            pybpf_putz(d, j ? ",{\"type_id\":" : "{\"type_id\":");
            pybpf_put_u64(d, pybpf_word(words, item));
            pybpf_json_u64(d, "offset", pybpf_word(words, item + 1));
            pybpf_json_u64(d, "size", pybpf_word(words, item + 2));
            PYBPF_PUTS(d, "}");
        }
        PYBPF_PUTS(d, "]");
        break;
    case PYBPF_FLOAT:
        pybpf_json_u64(d, "size", size_type);
        break;
    case PYBPF_DECL_TAG:
        pybpf_json_u64(d, "type_id", size_type);
        PYBPF_PUTS(d, ",\"component_idx\":");
        pybpf_put_i64(d, (int32_t)pybpf_word(words, at + 3));
        pybpf_json_u64(d, "kind_flag", kflag);
        break;
    default:
        break;
    }
    PYBPF_PUTS(d, "}");
}

/* dump(types, offsets, strings, base_strings_len, first_id, start, stop, json)
 *   -> bytes | None
 * Records start..stop (indices) of a blob as bpftool prints them: raw text
 * (every line ending in a newline) or compact JSON objects joined by commas.
 * types: the type section's native words; offsets: each record's word
 * offset (native uint32, as index() gives them); strings: the blob's own
 * NUL-terminated table, its offsets starting at base_strings_len. None where
 * a name is not ASCII or not in the table, a DATASEC entry names a type not
 * in the blob, or a record does not fit: the Python code renders those. */
static PyObject *pybpf_dump(PyObject *self, PyObject *args)
{
    PyObject *objs[3], *result = NULL;
    Py_buffer views[3], *types = &views[0], *offsets = &views[1], *strings = &views[2];
    unsigned long base_strings_len, first_id;
    Py_ssize_t start, stop, i;
    int json;
    struct pybpf_dump d;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOkknnp", &objs[0], &objs[1], &objs[2], &base_strings_len,
                          &first_id, &start, &stop, &json))
        return NULL;
    if (pybpf_get_buffers(objs, views, 3) < 0)
        return NULL;
    memset(&d, 0, sizeof(d));
    d.words = types->buf;
    d.nwords = types->len / 4;
    d.offsets = offsets->buf;
    d.count = offsets->len / 4;
    d.strings = strings->buf;
    d.strings_len = strings->len;
    d.base_strings_len = (uint32_t)base_strings_len;
    d.first_id = (uint32_t)first_id;
    if (types->len % 4 || offsets->len % 4 || base_strings_len > UINT32_MAX
        || first_id > UINT32_MAX || start < 0 || stop > d.count || start > stop) {
        PyErr_SetString(PyExc_ValueError, "dump: want words, offsets and a range of records");
        goto out;
    }
    if (strings->len == 0 || d.strings[strings->len - 1] != 0) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    for (i = start; i < stop && !d.bad && !d.failed; i++) {
        if (json) {
            if (i > start)
                PYBPF_PUTS(&d, ",");
            pybpf_json_record(&d, i);
        } else {
            pybpf_raw_record(&d, i);
        }
    }
    Py_END_ALLOW_THREADS
    if (d.failed) {
        PyErr_NoMemory();
    } else if (d.bad) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        result = PyBytes_FromStringAndSize(d.text ? d.text : "", (Py_ssize_t)d.len);
    }
out:
    free(d.text);
    pybpf_release_buffers(views, 3);
    return result;
}

/* strings(table, base) -> dict
 * Every string of a string table by its offset (base + where it starts): the
 * bytes before each NUL, decoded as UTF-8 with U+FFFD for bad sequences, as
 * bytes.decode("utf-8", "replace") does. What follows the last NUL is no
 * string. One dict for a whole table, where Python splits and counts. */
static PyObject *pybpf_strings(PyObject *self, PyObject *args)
{
    Py_buffer table;
    Py_ssize_t base, start = 0;
    PyObject *found = NULL;
    const char *bytes;

    (void)self;
    if (!PyArg_ParseTuple(args, "y*n", &table, &base))
        return NULL;
    if (base < 0) {
        PyErr_SetString(PyExc_ValueError, "strings: base must not be negative");
        goto out;
    }
    found = PyDict_New();
    if (found == NULL)
        goto out;
    bytes = table.buf;
    while (start < table.len) {
        const char *end = memchr(bytes + start, 0, (size_t)(table.len - start));
        Py_ssize_t len;
        PyObject *key, *text;
        int failed;
        if (end == NULL)
            break;
        len = end - (bytes + start);
        key = PyLong_FromUnsignedLongLong((unsigned long long)base + (unsigned long long)start);
        text = key != NULL ? PyUnicode_DecodeUTF8(bytes + start, len, "replace") : NULL;
        failed = text == NULL || PyDict_SetItem(found, key, text) < 0;
        Py_XDECREF(key);
        Py_XDECREF(text);
        if (failed) {
            Py_CLEAR(found);
            goto out;
        }
        start += len + 1;
    }
out:
    PyBuffer_Release(&table);
    return found;
}

/* What pybpf_pointer_members reads: the words and record offsets of a type
 * section, which records were decoded (a dict of them by index), the id of
 * the first record, and the kinds it looks through and for. */
struct pybpf_pointers {
    const unsigned char *words;
    Py_ssize_t nwords;
    const unsigned char *offsets;
    Py_ssize_t count;
    PyObject *decoded;
    Py_ssize_t first_id;
    uint32_t see_through; /* a bit per kind: typedefs and qualifiers */
    uint32_t ptr, array, strct;
};

/* Whether the record of index was decoded (is a key of decoded); an error
 * counts as decoded, so that the Python reading decides. */
static int pybpf_decoded(PyObject *decoded, Py_ssize_t index)
{
    PyObject *key;
    int found;
    if (PyDict_GET_SIZE(decoded) == 0)
        return 0;
    key = PyLong_FromSsize_t(index);
    found = key ? PyDict_Contains(decoded, key) : -1;
    Py_XDECREF(key);
    if (found < 0) {
        PyErr_Clear();
        return 1;
    }
    return found;
}

/* The record of type_id through the kinds it looks through: its first word
 * and kind, and its id in *id. -1 when a record on the way is not in the
 * blob, was decoded, does not fit, or the chain is longer than 64. */
static Py_ssize_t pybpf_under(const struct pybpf_pointers *p, uint32_t *id, uint32_t *kind)
{
    int step;
    for (step = 0; step < 64; step++) {
        Py_ssize_t index = (Py_ssize_t)*id - p->first_id;
        Py_ssize_t start;
        if (index < 0 || index >= p->count || pybpf_decoded(p->decoded, index))
            return -1;
        start = (Py_ssize_t)pybpf_word(p->offsets, index);
        if (start + 3 > p->nwords)
            return -1;
        *kind = (pybpf_word(p->words, start + 1) >> 24) & 0x1F;
        if (!(p->see_through & (1u << *kind)))
            return start;
        *id = pybpf_word(p->words, start + 2);
    }
    return -1;
}

/* One member of a struct of pointers, as pybpf.btf.Spec.pointer_members
 * makes it, or NULL with *declined set when it is not one. */
static PyObject *pybpf_pointer_member(const struct pybpf_pointers *p, Py_ssize_t at,
                                      uint32_t mask, int *declined)
{
    uint32_t id = pybpf_word(p->words, at + 1), kind, pointee, target;
    long long count = -1, target_count = -1;
    long target_kind = -1;
    Py_ssize_t start = pybpf_under(p, &id, &kind);
    if (start >= 0 && kind == p->array) {
        if (start + 6 > p->nwords)
            start = -1;
        else {
            count = pybpf_word(p->words, start + 5);
            id = pybpf_word(p->words, start + 3);
            start = pybpf_under(p, &id, &kind);
        }
    }
    if (start < 0 || kind != p->ptr) {
        *declined = 1;
        return NULL;
    }
    pointee = target = pybpf_word(p->words, start + 2);
    start = pybpf_under(p, &target, &kind);
    if (start < 0) {
        target = pointee; /* read as a Type, not here */
    } else if (kind == p->array) {
        if (start + 6 > p->nwords) {
            *declined = 1;
            return NULL;
        }
        target_kind = (long)kind;
        target_count = pybpf_word(p->words, start + 5);
    } else {
        target_kind = (long)kind;
    }
    return Py_BuildValue("(kkLkklL)", (unsigned long)pybpf_word(p->words, at),
                         (unsigned long)(pybpf_word(p->words, at + 2) & mask), count,
                         (unsigned long)pointee, (unsigned long)target, target_kind,
                         target_count);
}

/* pointer_members(types, offsets, decoded, first_id, type_id, kinds) -> list | None
 * The members of the struct type_id is through typedefs and qualifiers, each
 * a pointer or an array of pointers, as pybpf.btf.Spec.pointer_members reads
 * them; kinds is (see_through, ptr, array, struct): a bit per kind looked
 * through, then three kind numbers. None where that Python code must decide
 * (anything but such a struct of undecoded records of this blob). */
static PyObject *pybpf_pointer_members(PyObject *self, PyObject *args)
{
    PyObject *objs[2], *decoded, *result = NULL;
    Py_buffer views[2];
    Py_ssize_t first_id, type_id, start, i, vlen;
    struct pybpf_pointers p;
    uint32_t id, kind, info, mask;
    unsigned int see_through, ptr, array, strct;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO!nn(IIII)", &objs[0], &objs[1], &PyDict_Type,
                          &decoded, &first_id, &type_id, &see_through, &ptr, &array, &strct))
        return NULL;
    if (type_id < 0 || type_id > 0xFFFFFFFF)
        Py_RETURN_NONE;
    if (pybpf_get_buffers(objs, views, 2) < 0)
        return NULL;
    p.words = views[0].buf;
    p.nwords = views[0].len / 4;
    p.offsets = views[1].buf;
    p.count = views[1].len / 4;
    p.decoded = decoded;
    p.first_id = first_id;
    p.see_through = see_through;
    p.ptr = ptr;
    p.array = array;
    p.strct = strct;
    id = (uint32_t)type_id;
    start = pybpf_under(&p, &id, &kind);
    if (start < 0 || kind != p.strct) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto out;
    }
    info = pybpf_word(p.words, start + 1);
    vlen = info & 0xFFFF;
    /* Member offsets hold a bitfield size in their top byte when kind_flag is set. */
    mask = info >> 31 ? 0xFFFFFFu : 0xFFFFFFFFu;
    if (start + 3 + 3 * vlen > p.nwords) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto out;
    }
    result = PyList_New(vlen);
    if (result == NULL)
        goto out;
    for (i = 0; i < vlen; i++) {
        int declined = 0;
        PyObject *member = pybpf_pointer_member(&p, start + 3 + 3 * i, mask, &declined);
        if (member == NULL) {
            Py_DECREF(result);
            if (declined) {
                Py_INCREF(Py_None);
                result = Py_None;
            } else {
                result = NULL;
            }
            goto out;
        }
        PyList_SET_ITEM(result, i, member);
    }
out:
    pybpf_release_buffers(views, 2);
    return result;
}

/* What pybpf_ext_tables reads: a .BTF.ext section, whether its words need
 * swapping, and the object's type section (to see that func infos name FUNCs). */
struct pybpf_ext {
    const unsigned char *data;
    Py_ssize_t len;
    int swap;
    const unsigned char *words;
    Py_ssize_t nwords;
    const unsigned char *offsets;
    Py_ssize_t count;
    Py_ssize_t first_id;
    Py_ssize_t strings_end;
};

#define PYBPF_BTF_KIND_FUNC 12
/* The u32 fields of a func info, a line info and a CO-RE record. */
static const int pybpf_ext_fields[3] = {2, 4, 4};

static uint32_t pybpf_ext_word(const struct pybpf_ext *e, Py_ssize_t at)
{
    uint32_t w;
    memcpy(&w, e->data + at, 4);
    return e->swap ? __builtin_bswap32(w) : w;
}

/* Whether type_id is a FUNC record of the object's own type section. */
static int pybpf_ext_is_func(const struct pybpf_ext *e, uint32_t type_id)
{
    Py_ssize_t index = (Py_ssize_t)type_id - e->first_id, start;
    if (index < 0 || index >= e->count)
        return 0;
    start = (Py_ssize_t)pybpf_word(e->offsets, index);
    if (start + 2 > e->nwords)
        return 0;
    return ((pybpf_word(e->words, start + 1) >> 24) & 0x1F) == PYBPF_BTF_KIND_FUNC;
}

/* The columns of count records of rec_size bytes at pos, as native uint32
 * bytes objects: func and line infos checked (NULL with *bad set when a
 * record fails a check), their first column as instruction slots. CO-RE
 * records come as they are (the Python code checks each). */
static PyObject *pybpf_ext_section(const struct pybpf_ext *e, int sub, uint32_t name_off,
                                   Py_ssize_t pos, uint32_t count, uint32_t rec_size, int *bad)
{
    int nfields = pybpf_ext_fields[sub], k;
    PyObject *columns[4] = {NULL, NULL, NULL, NULL}, *result = NULL;
    uint32_t *out[4];
    uint32_t i;
    for (k = 0; k < nfields; k++) {
        columns[k] = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)count * 4);
        if (columns[k] == NULL)
            goto out;
        out[k] = (uint32_t *)PyBytes_AS_STRING(columns[k]);
    }
    for (i = 0; i < count; i++) {
        Py_ssize_t at = pos + (Py_ssize_t)i * rec_size;
        uint32_t value[4];
        for (k = 0; k < nfields; k++)
            value[k] = pybpf_ext_word(e, at + 4 * k);
        if (sub != 2) {
            if (value[0] % 8) {
                *bad = 1;
                goto out;
            }
            value[0] /= 8;
        }
        if (sub == 0 && !pybpf_ext_is_func(e, value[1])) {
            *bad = 1;
            goto out;
        }
        if (sub == 1 && ((Py_ssize_t)value[1] >= e->strings_end
                         || (Py_ssize_t)value[2] >= e->strings_end)) {
            *bad = 1;
            goto out;
        }
        for (k = 0; k < nfields; k++)
            memcpy(out[k] + i, &value[k], 4);
    }
    if (sub == 0)
        result = Py_BuildValue("(knOO)", (unsigned long)name_off, pos, columns[0], columns[1]);
    else if (sub == 1)
        result = Py_BuildValue("(knOOOO)", (unsigned long)name_off, pos, columns[0],
                               columns[1], columns[2], columns[3]);
    else
        result = Py_BuildValue("(knkOOOO)", (unsigned long)name_off, pos,
                               (unsigned long)rec_size, columns[0], columns[1], columns[2],
                               columns[3]);
out:
    for (k = 0; k < nfields; k++)
        Py_XDECREF(columns[k]);
    return result;
}

/* The sections of one sub-section (0 func, 1 line, 2 CO-RE info), appended to
 * list; 0, -1 on an error, 1 when the sub-section is malformed or a record
 * fails a check. */
static int pybpf_ext_subsection(const struct pybpf_ext *e, int sub, Py_ssize_t hdr_len,
                                uint32_t off, uint32_t length, PyObject *list)
{
    Py_ssize_t start, end, pos;
    uint32_t rec_size;
    if (length == 0)
        return 0;
    start = hdr_len + (Py_ssize_t)off;
    end = start + (Py_ssize_t)length;
    if (off % 4 || end > e->len || length < 4)
        return 1;
    rec_size = pybpf_ext_word(e, start);
    if (rec_size < 4u * (uint32_t)pybpf_ext_fields[sub] || rec_size % 4)
        return 1;
    pos = start + 4;
    while (pos < end) {
        uint32_t name_off, count;
        PyObject *section;
        int bad = 0;
        if (end - pos < 8)
            return 1;
        name_off = pybpf_ext_word(e, pos);
        count = pybpf_ext_word(e, pos + 4);
        pos += 8;
        if (count == 0 || count > (uint64_t)(end - pos) / rec_size)
            return 1;
        section = pybpf_ext_section(e, sub, name_off, pos, count, rec_size, &bad);
        if (section == NULL)
            return bad ? 1 : -1;
        if (PyList_Append(list, section) < 0) {
            Py_DECREF(section);
            return -1;
        }
        Py_DECREF(section);
        pos += (Py_ssize_t)count * rec_size;
    }
    return 0;
}

/* ext_tables(data, types, offsets, first_id, strings_end) -> tuple | None
 * A .BTF.ext section of either byte order, read and checked as
 * pybpf.btf.ext.packed reads it: (little, funcs, lines, relos), each a list
 * per section in file order. A func info is (name_off, at, slots, type ids),
 * a line info (name_off, at, slots, file offsets, line offsets, line and
 * column), a CO-RE record (name_off, at, record size, byte offsets, type ids,
 * access string offsets, kinds): at is where its first record starts, each
 * column native uint32 bytes. Func and line infos are checked (instruction offsets
 * multiples of 8, type ids FUNC records of types, string offsets below
 * strings_end); None where anything is amiss, for the Python code to say
 * what. */
static PyObject *pybpf_ext_tables(PyObject *self, PyObject *args)
{
    PyObject *objs[3], *lists[3] = {NULL, NULL, NULL}, *result = NULL;
    Py_buffer views[3];
    struct pybpf_ext e;
    Py_ssize_t hdr_len;
    int sub, subs, little;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOnn", &objs[0], &objs[1], &objs[2], &e.first_id,
                          &e.strings_end))
        return NULL;
    if (pybpf_get_buffers(objs, views, 3) < 0)
        return NULL;
    e.data = views[0].buf;
    e.len = views[0].len;
    e.words = views[1].buf;
    e.nwords = views[1].len / 4;
    e.offsets = views[2].buf;
    e.count = views[2].len / 4;
    if (e.len < 8 || !((e.data[0] == 0x9f && e.data[1] == 0xeb)
                       || (e.data[0] == 0xeb && e.data[1] == 0x9f))
        || e.data[2] != 1 || e.data[3] != 0)
        goto declined;
    little = e.data[0] == 0x9f;
    e.swap = little != PY_LITTLE_ENDIAN;
    hdr_len = (Py_ssize_t)pybpf_ext_word(&e, 4);
    if (hdr_len < 24 || hdr_len > e.len)
        goto declined;
    subs = hdr_len >= 32 ? 3 : 2;
    for (sub = 0; sub < 3; sub++) {
        lists[sub] = PyList_New(0);
        if (lists[sub] == NULL)
            goto out;
    }
    for (sub = 0; sub < subs; sub++) {
        int found = pybpf_ext_subsection(&e, sub, hdr_len, pybpf_ext_word(&e, 8 + 8 * sub),
                                         pybpf_ext_word(&e, 12 + 8 * sub), lists[sub]);
        if (found < 0)
            goto out;
        if (found > 0)
            goto declined;
    }
    result = Py_BuildValue("(OOOO)", little ? Py_True : Py_False, lists[0], lists[1], lists[2]);
    goto out;
declined:
    Py_INCREF(Py_None);
    result = Py_None;
out:
    for (sub = 0; sub < 3; sub++)
        Py_XDECREF(lists[sub]);
    pybpf_release_buffers(views, 3);
    return result;
}

/* A file mapped read-only (kernel BTF, an index the boot keeps): Python's
 * mmap holds a duplicate of the descriptor for as long as the mapping lives,
 * and ctypes, which can do without, costs a load more to import than this
 * whole module. It exports its bytes read-only; every view holds it, so it
 * is unmapped after the last. */
typedef struct {
    PyObject_HEAD
    void *addr;
    Py_ssize_t size;
} pybpf_mapping;

static int pybpf_mapping_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    pybpf_mapping *m = (pybpf_mapping *)self;
    return PyBuffer_FillInfo(view, self, m->addr, m->size, 1, flags);
}

static void pybpf_mapping_dealloc(PyObject *self)
{
    pybpf_mapping *m = (pybpf_mapping *)self;
    if (m->addr != NULL)
        munmap(m->addr, (size_t)m->size);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs pybpf_mapping_buffer = {pybpf_mapping_getbuffer, NULL};

static PyTypeObject pybpf_mapping_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_pybpf_btf_scan.Mapping",
    .tp_basicsize = sizeof(pybpf_mapping),
    .tp_dealloc = pybpf_mapping_dealloc,
    .tp_as_buffer = &pybpf_mapping_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A file's first bytes mapped read-only; unmapped with its last view.",
};

/* checksum(data) -> int
 * XXH64 (seed 0) of a contiguous buffer: the whole-entry check of pybpf.btf's
 * per-boot index cache, which reads a 1.3 MB entry in every process that
 * loads kernel BTF. XXH64 takes a quarter of the instructions per byte of
 * zlib's CRC-32 and, being here, spares the process loading zlib and libz.
 * Words are read little-endian, as the algorithm's definition says, so the
 * result is XXH64's on every host. */
#define PYBPF_XXH_P1 0x9E3779B185EBCA87ULL
#define PYBPF_XXH_P2 0xC2B2AE3D27D4EB4FULL
#define PYBPF_XXH_P3 0x165667B19E3779F9ULL
#define PYBPF_XXH_P4 0x85EBCA77C2B2AE63ULL
#define PYBPF_XXH_P5 0x27D4EB2F165667C5ULL

static uint64_t pybpf_rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t pybpf_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Once per call, at the tail: byte by byte is fast enough. */
static uint32_t pybpf_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t pybpf_xxh_round(uint64_t acc, uint64_t input)
{
    acc += input * PYBPF_XXH_P2;
    return pybpf_rotl64(acc, 31) * PYBPF_XXH_P1;
}

static uint64_t pybpf_xxh_merge(uint64_t acc, uint64_t lane)
{
    acc ^= pybpf_xxh_round(0, lane);
    return acc * PYBPF_XXH_P1 + PYBPF_XXH_P4;
}

static uint64_t pybpf_xxh64(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    uint64_t h;

    if (len >= 32) {
        uint64_t v1 = PYBPF_XXH_P1 + PYBPF_XXH_P2, v2 = PYBPF_XXH_P2, v3 = 0;
        uint64_t v4 = 0 - PYBPF_XXH_P1;
        do {
            v1 = pybpf_xxh_round(v1, pybpf_le64(p));
            v2 = pybpf_xxh_round(v2, pybpf_le64(p + 8));
            v3 = pybpf_xxh_round(v3, pybpf_le64(p + 16));
            v4 = pybpf_xxh_round(v4, pybpf_le64(p + 24));
            p += 32;
        } while ((size_t)(end - p) >= 32);
        h = pybpf_rotl64(v1, 1) + pybpf_rotl64(v2, 7) + pybpf_rotl64(v3, 12) +
            pybpf_rotl64(v4, 18);
        h = pybpf_xxh_merge(h, v1);
        h = pybpf_xxh_merge(h, v2);
        h = pybpf_xxh_merge(h, v3);
        h = pybpf_xxh_merge(h, v4);
    } else {
        h = PYBPF_XXH_P5;
    }
    h += (uint64_t)len;
    for (; (size_t)(end - p) >= 8; p += 8) {
        h ^= pybpf_xxh_round(0, pybpf_le64(p));
        h = pybpf_rotl64(h, 27) * PYBPF_XXH_P1 + PYBPF_XXH_P4;
    }
    if ((size_t)(end - p) >= 4) {
        h ^= (uint64_t)pybpf_le32(p) * PYBPF_XXH_P1;
        h = pybpf_rotl64(h, 23) * PYBPF_XXH_P2 + PYBPF_XXH_P3;
        p += 4;
    }
    for (; p < end; p++) {
        h ^= (uint64_t)*p * PYBPF_XXH_P5;
        h = pybpf_rotl64(h, 11) * PYBPF_XXH_P1;
    }
    h ^= h >> 33;
    h *= PYBPF_XXH_P2;
    h ^= h >> 29;
    h *= PYBPF_XXH_P3;
    h ^= h >> 32;
    return h;
}

static PyObject *pybpf_checksum(PyObject *self, PyObject *arg)
{
    Py_buffer data;
    uint64_t h;

    (void)self;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    h = pybpf_xxh64(data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLongLong(h);
}

/* map_readonly(fd, size): the first size bytes of the open file fd mapped
 * private and read-only, or None where mmap(2) refuses. The caller may close
 * fd at once. */
static PyObject *pybpf_map_readonly(PyObject *self, PyObject *args)
{
    int fd;
    Py_ssize_t size;
    void *addr;
    pybpf_mapping *m;

    (void)self;
    if (!PyArg_ParseTuple(args, "in", &fd, &size))
        return NULL;
    if (size <= 0)
        Py_RETURN_NONE;
    Py_BEGIN_ALLOW_THREADS
    addr = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    Py_END_ALLOW_THREADS
    if (addr == MAP_FAILED)
        Py_RETURN_NONE;
    m = PyObject_New(pybpf_mapping, &pybpf_mapping_type);
    if (m == NULL) {
        munmap(addr, (size_t)size);
        return NULL;
    }
    m->addr = addr;
    m->size = size;
    return (PyObject *)m;
}

static PyMethodDef pybpf_btf_scan_methods[] = {
    {"checksum", pybpf_checksum, METH_O,
     "checksum(data): XXH64 (seed 0) of a contiguous buffer, as an int."},
    {"map_readonly", pybpf_map_readonly, METH_VARARGS,
     "map_readonly(fd, size): the file's first size bytes mapped read-only, or None."},
    {"index", pybpf_index, METH_VARARGS,
     "index(types, rules): (offsets, names) of the records of a type section, or None."},
    {"name_order", pybpf_name_order, METH_VARARGS,
     "name_order(strings, names): named record indices sorted by name, or None."},
    {"strings", pybpf_strings, METH_VARARGS,
     "strings(table, base): every string of a string table by its offset, decoded."},
    {"pointer_members", pybpf_pointer_members, METH_VARARGS,
     "pointer_members(types, offsets, decoded, first_id, type_id, kinds): the members of a "
     "struct of pointers, or None."},
    {"ext_tables", pybpf_ext_tables, METH_VARARGS,
     "ext_tables(data, types, offsets, first_id, strings_end): a .BTF.ext section's "
     "records as columns per section, checked, or None."},
    {"dump", pybpf_dump, METH_VARARGS,
     "dump(types, offsets, strings, base_strings_len, first_id, start, stop, json): "
     "records as bpftool's raw or JSON dump, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pybpf_btf_scan_module = {
    PyModuleDef_HEAD_INIT, "_pybpf_btf_scan", "pybpf.btf's record scan, compiled.", -1,
    pybpf_btf_scan_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pybpf_btf_scan(void)
{
    PyObject *m;

    if (PyType_Ready(&pybpf_mapping_type) < 0)
        return NULL;
    m = PyModule_Create(&pybpf_btf_scan_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "VERSION", PYBPF_BTF_SCAN_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
