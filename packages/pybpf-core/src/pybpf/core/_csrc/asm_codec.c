/* _pybpf_asm_codec: pybpf.asm's instruction decode and encode, compiled (see
 * ASM_CODEC_MODULE in pybpf/core/_sys_build.py and pybpf.asm.codec, which
 * owns the contract).
 *
 * A module of its own: pybpf.asm is the lowest layer and imports nothing of
 * pybpf.core, so it looks this module up by name. What it knows about
 * opcodes comes in from Python as a table. It only takes the common case:
 * wherever the input is anything but plainly valid, a function returns None
 * and the Python code does the work (and names the error), so both give the
 * same results and errors.
 *
 * Instructions are built without running Instruction.__init__: the slots are
 * stored at the offsets their member descriptors give, which is what the
 * plain stores of __init__ do.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

/* Bump when a function's arguments or results change: pybpf.asm uses a
 * module of the version it was written for, and its Python code otherwise. */
#define PYBPF_ASM_CODEC_VERSION 1

/* The rules table: 256 flag bytes per opcode, then 256 bytes of the largest
 * src each opcode takes without a closer look. */
#define RULE_VALID 0x01  /* an opcode encode and decode take (never 0x00) */
#define RULE_ALU 0x02    /* a non-zero offset needs a closer look */
#define RULE_CHECK 0x04  /* always needs a closer look */
#define RULES_SIZE 512

#define LD_IMM64 0x18

enum { F_OPCODE, F_DST, F_SRC, F_OFFSET, F_CONSTANT, F_NAMES, F_COUNT };
static const char *const field_names[F_COUNT] = {"opcode", "dst",      "src",
                                                 "offset", "constant", "_names"};

/* The offsets of the instruction class's slots; 0 when it has not got them
 * as plain object slots (then the functions return None). */
static int slot_offsets(PyTypeObject *cls, Py_ssize_t *offsets)
{
    for (int i = 0; i < F_COUNT; i++) {
        PyObject *descr = PyObject_GetAttrString((PyObject *)cls, field_names[i]);
        if (descr == NULL)
            return -1;
        if (!Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX ||
            (((PyMemberDescrObject *)descr)->d_member->flags & READONLY)) {
            Py_DECREF(descr);
            return 0;
        }
        offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
    }
    return 1;
}

static int parse_rules(Py_buffer *rules)
{
    if (rules->len != RULES_SIZE) {
        PyErr_SetString(PyExc_ValueError, "rules must be 512 bytes");
        return -1;
    }
    return 0;
}

static inline PyObject **slot_at(PyObject *obj, Py_ssize_t offset)
{
    return (PyObject **)((char *)obj + offset);
}

static inline int16_t read16(const unsigned char *p, int little)
{
    return (int16_t)(little ? (p[0] | p[1] << 8) : (p[0] << 8 | p[1]));
}

static inline uint32_t read32(const unsigned char *p, int little)
{
    if (little)
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
           (uint32_t)p[0] << 24;
}

static inline void write16(unsigned char *p, uint16_t v, int little)
{
    if (little) {
        p[0] = v & 0xff;
        p[1] = v >> 8;
    } else {
        p[0] = v >> 8;
        p[1] = v & 0xff;
    }
}

static inline void write32(unsigned char *p, uint32_t v, int little)
{
    for (int k = 0; k < 4; k++)
        p[little ? k : 3 - k] = (v >> (8 * k)) & 0xff;
}

/* A new instruction with its fields, or NULL with an exception set. */
static PyObject *make_instruction(PyTypeObject *cls, const Py_ssize_t *offsets, unsigned op,
                                  unsigned dst, unsigned src, int off, long long constant)
{
    PyObject *values[F_NAMES];
    PyObject *obj;
    values[F_OPCODE] = PyLong_FromUnsignedLong(op);
    values[F_DST] = PyLong_FromUnsignedLong(dst);
    values[F_SRC] = PyLong_FromUnsignedLong(src);
    values[F_OFFSET] = PyLong_FromLong(off);
    values[F_CONSTANT] = PyLong_FromLongLong(constant);
    obj = cls->tp_alloc(cls, 0);
    if (obj == NULL || !values[0] || !values[1] || !values[2] || !values[3] || !values[4]) {
        for (int i = 0; i < F_NAMES; i++)
            Py_XDECREF(values[i]);
        Py_XDECREF(obj);
        return NULL;
    }
    for (int i = 0; i < F_NAMES; i++)
        *slot_at(obj, offsets[i]) = values[i];
    *slot_at(obj, offsets[F_NAMES]) = Py_NewRef(Py_None);
    return obj;
}

/* The number of instructions in n slots, or -1 where a slot has an opcode
 * or register the codec does not take, or an LD_IMM64 has no clean second
 * half (opcode, registers and offset 0) after it. */
static Py_ssize_t count_instructions(const unsigned char *p, Py_ssize_t n,
                                     const unsigned char *flags)
{
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++, count++) {
        const unsigned char *s = p + 8 * i;
        unsigned regs = s[1];
        /* Both nibbles must be registers, whichever one is dst. */
        if (!(flags[s[0]] & RULE_VALID) || (regs & 0x0f) > 10 || (regs >> 4) > 10)
            return -1;
        if (s[0] == LD_IMM64) {
            if (i + 1 >= n || s[8] || s[9] || s[10] || s[11])
                return -1;
            i++;
        }
    }
    return count;
}

/* decode(raw, little, cls, rules) -> (instructions, suspects) | None */
static PyObject *asm_decode(PyObject *self, PyObject *args)
{
    Py_buffer raw, rules;
    int little;
    PyTypeObject *cls;
    Py_ssize_t offsets[F_COUNT];
    PyObject *insns = NULL, *suspects = NULL, *result = NULL;
    (void)self;

    if (!PyArg_ParseTuple(args, "y*pO!y*", &raw, &little, &PyType_Type, &cls, &rules))
        return NULL;
    if (parse_rules(&rules) < 0)
        goto done;
    {
        int have = slot_offsets(cls, offsets);
        if (have < 0)
            goto done;
        if (have == 0 || raw.len % 8) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    {
        const unsigned char *p = raw.buf;
        const unsigned char *flags = rules.buf;
        const unsigned char *max_src = flags + 256;
        Py_ssize_t slots = raw.len / 8;
        Py_ssize_t count = count_instructions(p, slots, flags), k = 0;
        if (count < 0)
            goto fallback;
        insns = PyList_New(count);
        suspects = PyList_New(0);
        if (insns == NULL || suspects == NULL)
            goto done;
        /* Every slot is valid now: this pass only builds. */
        for (Py_ssize_t i = 0; i < slots; i++) {
            const unsigned char *s = p + 8 * i;
            unsigned op = s[0], regs = s[1];
            unsigned dst = little ? regs & 0x0f : regs >> 4;
            unsigned src = little ? regs >> 4 : regs & 0x0f;
            int off = read16(s + 2, little);
            uint32_t imm = read32(s + 4, little);
            long long constant = (int32_t)imm;
            Py_ssize_t slot = i;
            PyObject *insn;
            if (op == LD_IMM64) {
                constant = (long long)((uint64_t)read32(s + 12, little) << 32 | imm);
                i++;
            }
            insn = make_instruction(cls, offsets, op, dst, src, off, constant);
            if (insn == NULL)
                goto done;
            PyList_SET_ITEM(insns, k++, insn); /* the list owns it now */
            if ((flags[op] & RULE_CHECK) || ((flags[op] & RULE_ALU) && off) ||
                src > max_src[op]) {
                PyObject *pair = Py_BuildValue("(nO)", slot, insn);
                if (pair == NULL || PyList_Append(suspects, pair) < 0) {
                    Py_XDECREF(pair);
                    goto done;
                }
                Py_DECREF(pair);
            }
        }
    }
    result = PyTuple_Pack(2, insns, suspects);
    goto done;
fallback:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(insns);
    Py_XDECREF(suspects);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&rules);
    return result;
}

/* A field's value as a C integer within [low, high]; 0 when it is not an int
 * or out of that range (no exception is left set then), -1 on an error. */
static int field_value(PyObject *value, long long low, long long high, long long *out)
{
    int overflow;
    long long v;
    if (value == NULL || !PyLong_Check(value))
        return 0;
    v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < low || v > high)
        return 0;
    *out = v;
    return 1;
}

/* encode(instructions, little, cls, rules) -> bytes | None */
static PyObject *asm_encode(PyObject *self, PyObject *args)
{
    PyObject *seq, *fast = NULL, *out = NULL, *result = NULL;
    Py_buffer rules;
    int little;
    PyTypeObject *cls;
    Py_ssize_t offsets[F_COUNT];
    (void)self;

    if (!PyArg_ParseTuple(args, "OpO!y*", &seq, &little, &PyType_Type, &cls, &rules))
        return NULL;
    if (parse_rules(&rules) < 0)
        goto done;
    {
        int have = slot_offsets(cls, offsets);
        if (have < 0)
            goto done;
        if (have == 0 || !PyList_CheckExact(seq)) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    fast = Py_NewRef(seq);
    {
        const unsigned char *flags = rules.buf;
        Py_ssize_t count = PyList_GET_SIZE(fast), size = 0, at = 0;
        unsigned char *p;
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *insn = PyList_GET_ITEM(fast, i);
            PyObject *op;
            int overflow = 0;
            if (!PyObject_TypeCheck(insn, cls))
                goto fallback;
            op = *slot_at(insn, offsets[F_OPCODE]);
            /* An int (subclass) is read without running Python code. */
            size += (op != NULL && PyLong_Check(op) &&
                     PyLong_AsLongAndOverflow(op, &overflow) == LD_IMM64)
                        ? 16
                        : 8;
        }
        out = PyBytes_FromStringAndSize(NULL, size);
        if (out == NULL)
            goto done;
        p = (unsigned char *)PyBytes_AS_STRING(out);
        /* The list is read again: nothing here runs Python code that could change it. */
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *insn = PyList_GET_ITEM(fast, i);
            long long op, dst, src, off, constant = 0;
            int r;
            unsigned char *s = p + at;
            if (at + 8 > size)
                goto fallback;
            if ((r = field_value(*slot_at(insn, offsets[F_OPCODE]), 0, 255, &op)) <= 0 ||
                (r = field_value(*slot_at(insn, offsets[F_DST]), 0, 10, &dst)) <= 0 ||
                (r = field_value(*slot_at(insn, offsets[F_SRC]), 0, 10, &src)) <= 0 ||
                (r = field_value(*slot_at(insn, offsets[F_OFFSET]), -0x8000, 0x7fff, &off)) <= 0)
                goto bad_field;
            if (!(flags[op] & RULE_VALID))
                goto fallback;
            s[0] = (unsigned char)op;
            s[1] = little ? (unsigned char)(dst | src << 4) : (unsigned char)(src | dst << 4);
            write16(s + 2, (uint16_t)off, little);
            if (op == LD_IMM64) {
                PyObject *value = *slot_at(insn, offsets[F_CONSTANT]);
                uint64_t wide;
                if (at + 16 > size)
                    goto fallback;
                r = field_value(value, INT64_MIN, INT64_MAX, &constant);
                if (r < 0)
                    goto done;
                if (r) {
                    wide = (uint64_t)constant;
                } else {
                    /* Given unsigned: up to 2**64 - 1. */
                    if (value == NULL || !PyLong_Check(value))
                        goto fallback;
                    wide = PyLong_AsUnsignedLongLong(value);
                    if (wide == (uint64_t)-1 && PyErr_Occurred()) {
                        PyErr_Clear();
                        goto fallback;
                    }
                }
                write32(s + 4, (uint32_t)wide, little);
                memset(s + 8, 0, 4);
                write32(s + 12, (uint32_t)(wide >> 32), little);
                at += 16;
            } else {
                r = field_value(*slot_at(insn, offsets[F_CONSTANT]), INT32_MIN, INT32_MAX,
                                &constant);
                if (r <= 0)
                    goto bad_field;
                write32(s + 4, (uint32_t)constant, little);
                at += 8;
            }
            continue;
        bad_field:
            if (r < 0)
                goto done;
            goto fallback;
        }
        if (at != size)
            goto fallback;
    }
    result = Py_NewRef(out);
    goto done;
fallback:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(out);
    Py_XDECREF(fast);
    PyBuffer_Release(&rules);
    return result;
}

static PyMethodDef asm_codec_methods[] = {
    {"decode", asm_decode, METH_VARARGS,
     "decode(raw, little, cls, rules): (instructions, suspects) or None."},
    {"encode", asm_encode, METH_VARARGS, "encode(instructions, little, cls, rules): bytes or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef asm_codec_module = {
    PyModuleDef_HEAD_INIT, "_pybpf_asm_codec",
    "pybpf.asm's instruction codec, compiled (see pybpf.asm.codec).", -1, asm_codec_methods,
};

PyMODINIT_FUNC PyInit__pybpf_asm_codec(void)
{
    PyObject *module = PyModule_Create(&asm_codec_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddIntConstant(module, "VERSION", PYBPF_ASM_CODEC_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
