/* _pybpf_readers: the event readers' consume loops (see READERS_MODULE in
 * pybpf/core/_sys_build.py). */

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
