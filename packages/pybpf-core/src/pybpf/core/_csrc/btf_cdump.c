/* _pybpf_btf_cdump: pybpf.btf's C header dump, compiled (see BTF_CDUMP_MODULE
 * in pybpf/core/_sys_build.py and pybpf.btf.cdump, which owns the contract).
 *
 * The Python module pybpf.btf.cdump is the reference: this file follows its
 * algorithm step by step (ordering walk, emit walk, names, layout, padding,
 * declarations), on type ids with one C array per property instead of one
 * Python object per type, so that the text is the same byte for byte.
 *
 * Everything read is bounds-checked: ids, string offsets and item counts are
 * validated before the dump starts, walks keep their own bounded stacks and
 * nested declarations are bounded as the Python code bounds them. Whatever
 * the Python code would refuse (or that this code does not handle) makes
 * dump_c return None, and the Python code then runs and says what is wrong.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Bump when dump_c's arguments or result change: pybpf.btf uses a module of
 * the version it was written for, and its Python code otherwise. */
#define CDUMP_VERSION 1

enum {
    K_VOID = 0, K_INT = 1, K_PTR = 2, K_ARRAY = 3, K_STRUCT = 4, K_UNION = 5, K_ENUM = 6,
    K_FWD = 7, K_TYPEDEF = 8, K_VOLATILE = 9, K_CONST = 10, K_RESTRICT = 11, K_FUNC = 12,
    K_FUNC_PROTO = 13, K_VAR = 14, K_DATASEC = 15, K_FLOAT = 16, K_DECL_TAG = 17,
    K_TYPE_TAG = 18, K_ENUM64 = 19, K_LAST = 19
};

/* Order and emit states, as cdump.py's (0: never set). */
#define ST_NONE 0
#define ST_IN_PROGRESS 1
#define ST_DONE 2

/* cdump.MAX_NESTING, _SHORTCUT_STEPS, _MAX_PAD_UNITS. */
#define MAX_NESTING 64
#define SHORTCUT_STEPS 8
#define MAX_PAD_UNITS 512
/* Deeper walks (only a cycle nothing ends, or absurd input) are left to Python. */
#define MAX_WALK_DEPTH 65536
/* Nested layouts (struct in struct by value) deeper than this go to Python. */
#define MAX_LAYOUT_DEPTH 512
#define NO_CONTAINER 0xFFFFFFFFu

/* A name's count in one namespace (cdump.py's type_names / ident_names). */
struct slot {
    const char *key;
    uint32_t len;
    uint32_t count;
};

struct names {
    struct slot *slots;
    size_t cap, used;
};

struct frame {
    uint32_t id;
    uint32_t arg; /* order: through_ptr; emit: container */
    uint32_t i;
    uint32_t extra; /* order: strong; emit: inner container */
    uint8_t pc;
};

struct dumper {
    jmp_buf bail;
    const uint32_t *w;
    uint32_t nwords;
    const char *str;
    uint32_t str_len;
    uint32_t n; /* ids 0..n-1, 0 is void */
    uint32_t base_n; /* split BTF: the base's ids are 0..base_n-1 (else n) */
    uint32_t base_str_len; /* split BTF: the base's strings (else str_len) */
    uint32_t ptr_size;
    uint32_t *off;
    uint8_t *kind;
    uint8_t *referenced;
    uint8_t *order_state;
    uint8_t *emit_state;
    uint8_t *fwd_emitted;
    uint32_t *rname; /* resolved name's count, 0: not yet */
    int64_t *align;   /* -1: not yet; aligned(N) of a union reaches 2**32 */
    int64_t *size;    /* -1: not yet */
    int8_t *packed;   /* -1: not yet */
    struct names type_names, ident_names;
    uint32_t *queue;
    uint32_t queue_len;
    struct frame *stack;
    uint32_t stack_cap;
    char *out;
    size_t out_len, out_cap;
    char *scratch;
    size_t scratch_cap;
    int nesting;
    int layout_depth;
};

static void bail(struct dumper *d) { longjmp(d->bail, 1); }

/* -- records ------------------------------------------------------------- */

static inline uint32_t W(const struct dumper *d, uint32_t at) { return d->w[at]; }
static inline uint32_t info_of(const struct dumper *d, uint32_t id) { return d->w[d->off[id] + 1]; }
static inline uint32_t vlen_of(const struct dumper *d, uint32_t id)
{
    return id ? info_of(d, id) & 0xffff : 0;
}
static inline int kflag_of(const struct dumper *d, uint32_t id) { return id ? (int)(info_of(d, id) >> 31) : 0; }
/* The size/type word: a size, or the one type referred to. */
static inline uint32_t word2(const struct dumper *d, uint32_t id) { return d->w[d->off[id] + 2]; }
static inline uint32_t name_off(const struct dumper *d, uint32_t id) { return id ? d->w[d->off[id]] : 0; }

static inline const char *str_at(const struct dumper *d, uint32_t offset) { return d->str + offset; }
static inline int named(const struct dumper *d, uint32_t id) { return str_at(d, name_off(d, id))[0] != 0; }

/* Member i of a struct or union: name offset, type, offset word. */
static inline uint32_t member_word(const struct dumper *d, uint32_t id, uint32_t i, uint32_t k)
{
    return d->w[d->off[id] + 3 + 3 * i + k];
}
static inline uint32_t member_type(const struct dumper *d, uint32_t id, uint32_t i)
{
    return member_word(d, id, i, 1);
}
static inline uint32_t member_bits(const struct dumper *d, uint32_t id, uint32_t i)
{
    return kflag_of(d, id) ? member_word(d, id, i, 2) >> 24 : 0;
}
static inline int64_t member_offset(const struct dumper *d, uint32_t id, uint32_t i)
{
    uint32_t word = member_word(d, id, i, 2);
    return kflag_of(d, id) ? (int64_t)(word & 0xffffff) : (int64_t)word;
}
static inline uint32_t param_type(const struct dumper *d, uint32_t id, uint32_t i)
{
    return d->w[d->off[id] + 3 + 2 * i + 1];
}
static inline uint32_t param_name(const struct dumper *d, uint32_t id, uint32_t i)
{
    return d->w[d->off[id] + 3 + 2 * i];
}
static inline int is_composite(int k) { return k == K_STRUCT || k == K_UNION; }
static inline int is_qualifier(int k)
{
    return k == K_VOLATILE || k == K_CONST || k == K_RESTRICT || k == K_TYPE_TAG;
}

/* Words after the 3 of a record's header, and per item. */
static const uint8_t extra_words[K_LAST + 1] = {0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0};
static const uint8_t item_words[K_LAST + 1] = {0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3};

/* A base's records refer to the base's types and strings only, as the
 * base's decoder checks; the split blob's to both. */
static void check_ref(struct dumper *d, uint32_t id, uint32_t target)
{
    if (target >= (id < d->base_n ? d->base_n : d->n))
        bail(d);
}

static void check_str(struct dumper *d, uint32_t id, uint32_t offset)
{
    if (offset >= (id < d->base_n ? d->base_str_len : d->str_len))
        bail(d);
}

/* Frame the records and check each the way pybpf.btf's decoder does. */
static void index_records(struct dumper *d)
{
    uint32_t at = 0, id = 1, i;
    while (at < d->nwords) {
        uint32_t info, k, vlen, length, size, data;
        if (d->nwords - at < 3 || id >= d->n)
            bail(d);
        info = W(d, at + 1);
        k = (info >> 24) & 0x1f;
        vlen = info & 0xffff;
        if (k == K_VOID || k > K_LAST)
            bail(d);
        length = 3 + extra_words[k] + item_words[k] * vlen;
        if (length > d->nwords - at)
            bail(d);
        d->off[id] = at;
        d->kind[id] = (uint8_t)k;
        check_str(d, id, W(d, at));
        size = W(d, at + 2);
        switch (k) {
        case K_INT: {
            uint32_t enc, boff, bits;
            data = W(d, at + 3);
            enc = (data >> 24) & 0x0f;
            boff = (data >> 16) & 0xff;
            bits = data & 0xff;
            if (size != 1 && size != 2 && size != 4 && size != 8 && size != 16)
                bail(d);
            if ((enc != 0 && enc != 1 && enc != 2 && enc != 4) || (data & 0xF000FF00u))
                bail(d);
            if (bits == 0 || bits > 128 || boff + bits > size * 8)
                bail(d);
            break;
        }
        case K_PTR: case K_TYPEDEF: case K_VOLATILE: case K_CONST: case K_RESTRICT:
        case K_TYPE_TAG: case K_FUNC: case K_DECL_TAG:
            check_ref(d, id, size);
            if (k == K_FUNC && vlen > 2)
                bail(d);
            break;
        case K_VAR:
            check_ref(d, id, size);
            if (W(d, at + 3) > 2)
                bail(d);
            break;
        case K_ARRAY:
            check_ref(d, id, W(d, at + 3));
            check_ref(d, id, W(d, at + 4));
            break;
        case K_STRUCT: case K_UNION:
            for (i = 0; i < vlen; i++) {
                check_str(d, id, W(d, at + 3 + 3 * i));
                check_ref(d, id, W(d, at + 4 + 3 * i));
            }
            break;
        case K_ENUM: case K_ENUM64:
            if (size != 1 && size != 2 && size != 4 && size != 8 && (size || vlen))
                bail(d);
            for (i = 0; i < vlen; i++)
                check_str(d, id, W(d, at + 3 + item_words[k] * i));
            break;
        case K_FUNC_PROTO:
            check_ref(d, id, size);
            for (i = 0; i < vlen; i++) {
                check_str(d, id, W(d, at + 3 + 2 * i));
                check_ref(d, id, W(d, at + 4 + 2 * i));
            }
            break;
        case K_DATASEC:
            for (i = 0; i < vlen; i++)
                check_ref(d, id, W(d, at + 3 + 3 * i));
            break;
        case K_FLOAT:
            if (size != 2 && size != 4 && size != 8 && size != 12 && size != 16)
                bail(d);
            break;
        case K_FWD:
            break;
        default:
            bail(d);
        }
        at += length;
        id++;
    }
    if (id != d->n)
        bail(d);
}

/* What another type refers to (record_refs.referenced_flags: libbpf's rule). */
static void mark_referenced(struct dumper *d)
{
    uint32_t id, i;
    for (id = 1; id < d->n; id++) {
        uint32_t at = d->off[id], vlen = vlen_of(d, id);
        switch (d->kind[id]) {
        case K_PTR: case K_TYPEDEF: case K_VOLATILE: case K_CONST: case K_RESTRICT:
        case K_TYPE_TAG: case K_FUNC: case K_VAR: case K_DECL_TAG:
            d->referenced[W(d, at + 2)] = 1;
            break;
        case K_STRUCT: case K_UNION:
            for (i = 0; i < vlen; i++)
                d->referenced[W(d, at + 4 + 3 * i)] = 1;
            break;
        case K_FUNC_PROTO:
            for (i = 0; i < vlen; i++)
                d->referenced[W(d, at + 4 + 2 * i)] = 1;
            break;
        case K_ARRAY:
            d->referenced[W(d, at + 3)] = 1;
            d->referenced[W(d, at + 4)] = 1;
            break;
        case K_DATASEC:
            for (i = 0; i < vlen; i++)
                d->referenced[W(d, at + 3 + 3 * i)] = 1;
            break;
        default:
            break;
        }
    }
}

/* -- output -------------------------------------------------------------- */

static void put(struct dumper *d, const char *s, size_t len)
{
    if (d->out_cap - d->out_len < len) {
        size_t cap = d->out_cap ? d->out_cap : 65536;
        char *grown;
        while (cap - d->out_len < len) {
            if (cap > ((size_t)1 << 40))
                bail(d);
            cap *= 2;
        }
        grown = PyMem_Realloc(d->out, cap);
        if (grown == NULL)
            bail(d);
        d->out = grown;
        d->out_cap = cap;
    }
    memcpy(d->out + d->out_len, s, len);
    d->out_len += len;
}

static void puts_(struct dumper *d, const char *s) { put(d, s, strlen(s)); }

static void put_u64(struct dumper *d, uint64_t v)
{
    char buf[24];
    int len = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    put(d, buf, (size_t)len);
}

static void put_i64(struct dumper *d, int64_t v)
{
    char buf[24];
    int len = snprintf(buf, sizeof(buf), "%lld", (long long)v);
    put(d, buf, (size_t)len);
}

static void put_indent(struct dumper *d, int lvl)
{
    static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    while (lvl > 0) {
        int step = lvl > 16 ? 16 : lvl;
        put(d, tabs, (size_t)step);
        lvl -= step;
    }
}

/* -- names --------------------------------------------------------------- */

static uint64_t hash_name(const char *s, uint32_t len)
{
    uint64_t h = 1469598103934665603ull;
    uint32_t i;
    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The count of name in ns after adding one (cdump's counts[name] += 1). */
static uint32_t count_name(struct dumper *d, struct names *ns, const char *key, uint32_t len)
{
    size_t mask, i;
    if (2 * (ns->used + 1) > ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 4096, j;
        struct slot *slots = PyMem_Calloc(cap, sizeof(*slots));
        if (slots == NULL)
            bail(d);
        for (j = 0; j < ns->cap; j++) {
            struct slot *s = &ns->slots[j];
            if (s->key == NULL)
                continue;
            i = hash_name(s->key, s->len) & (cap - 1);
            while (slots[i].key != NULL)
                i = (i + 1) & (cap - 1);
            slots[i] = *s;
        }
        PyMem_Free(ns->slots);
        ns->slots = slots;
        ns->cap = cap;
    }
    mask = ns->cap - 1;
    i = hash_name(key, len) & mask;
    while (ns->slots[i].key != NULL) {
        struct slot *s = &ns->slots[i];
        if (s->len == len && memcmp(s->key, key, len) == 0)
            return ++s->count;
        i = (i + 1) & mask;
    }
    ns->slots[i].key = key;
    ns->slots[i].len = len;
    ns->slots[i].count = 1;
    ns->used++;
    return 1;
}

/* cdump's resolve_name: the count of the type's name (1: as is), 0 if unnamed. */
static uint32_t resolve_name(struct dumper *d, uint32_t id, struct names *ns)
{
    const char *name = str_at(d, name_off(d, id));
    uint32_t count;
    if (!name[0])
        return 0;
    if (d->rname[id])
        return d->rname[id];
    if (d->kind[id] == K_FWD || (d->kind[id] == K_ENUM && vlen_of(d, id) == 0))
        count = 1;
    else
        count = count_name(d, ns, name, (uint32_t)strlen(name));
    d->rname[id] = count;
    return count;
}

static void put_counted(struct dumper *d, const char *name, uint32_t count)
{
    puts_(d, name);
    if (count > 1) {
        puts_(d, "___");
        put_u64(d, count);
    }
}

static void put_type_name(struct dumper *d, uint32_t id)
{
    uint32_t count = resolve_name(d, id, &d->type_names);
    if (count)
        put_counted(d, str_at(d, name_off(d, id)), count);
}

static void put_ident_name(struct dumper *d, uint32_t id)
{
    uint32_t count = resolve_name(d, id, &d->ident_names);
    if (count)
        put_counted(d, str_at(d, name_off(d, id)), count);
}

/* True when the resolved name of id (in ns) is text. */
static int resolved_is(struct dumper *d, uint32_t id, struct names *ns, const char *text)
{
    uint32_t count = resolve_name(d, id, ns);
    if (!count)
        return text[0] == 0;
    return count == 1 && strcmp(str_at(d, name_off(d, id)), text) == 0;
}

/* -- layout -------------------------------------------------------------- */

static uint32_t layout_base(struct dumper *d, uint32_t t)
{
    uint32_t steps = 0;
    for (;;) {
        int k = d->kind[t];
        if (k == K_TYPEDEF || is_qualifier(k) || k == K_VAR)
            t = word2(d, t);
        else if (k == K_ARRAY)
            t = W(d, d->off[t] + 3);
        else
            return t;
        if (++steps > d->n)
            bail(d); /* a cycle: Python raises */
    }
}

/* cdump's size_of: sizeof, 0 where it has none or raises. */
static int64_t size_of(struct dumper *d, uint32_t start)
{
    uint64_t count = 1, size;
    uint32_t t = start, steps = 0;
    if (d->size[start] >= 0)
        return d->size[start];
    for (;;) {
        int k = d->kind[t];
        if (k == K_INT || k == K_ENUM || k == K_ENUM64 || is_composite(k) || k == K_FLOAT
            || k == K_DATASEC) {
            size = count * (uint64_t)word2(d, t);
            break;
        }
        if (k == K_PTR) {
            size = count * d->ptr_size;
            break;
        }
        if (k == K_TYPEDEF || is_qualifier(k) || k == K_VAR) {
            t = word2(d, t);
        } else if (k == K_ARRAY) {
            count *= W(d, d->off[t] + 5);
            if (count > 0xFFFFFFFFull)
                count = 0x100000000ull; /* past any size: stays past */
            t = W(d, d->off[t] + 3);
        } else {
            size = 0;
            break;
        }
        if (++steps > d->n) {
            size = 0; /* a reference cycle */
            break;
        }
    }
    if (size > 0xFFFFFFFFull)
        size = 0;
    d->size[start] = (int64_t)size;
    return (int64_t)size;
}

static int64_t roundup(int64_t x, int64_t y) { return (x + y - 1) / y * y; }

static int64_t align_of(struct dumper *d, uint32_t t);

static int is_packed(struct dumper *d, uint32_t t);

/* cdump's union_layout: attributes (packed: bit 0; aligned(N): *aligned_to),
 * the alignment, and bits of a size-giving unnamed bitfield. */
struct union_layout {
    int packed;
    int64_t aligned_to; /* 0: none */
    int64_t align;
    int64_t pad_bits;
};

static struct union_layout union_layout(struct dumper *d, uint32_t t)
{
    struct union_layout u = {0, 0, 1, 0};
    uint32_t vlen = vlen_of(d, t), i;
    int64_t size = word2(d, t), widest = 0, natural;
    for (i = 0; i < vlen; i++) {
        int64_t a = align_of(d, member_type(d, t, i));
        if (a > u.align)
            u.align = a;
    }
    if (!vlen || !size)
        return u;
    for (i = 0; i < vlen; i++) {
        int64_t s = size_of(d, member_type(d, t, i));
        if (i == 0 || s > widest)
            widest = s;
    }
    natural = roundup(widest, u.align);
    if (natural > size || size % u.align) {
        u.packed = 1;
        for (i = 0; i < vlen; i++) {
            int64_t bits = member_bits(d, t, i);
            int64_t s = (bits + 7) / 8;
            if (!s)
                s = size_of(d, member_type(d, t, i));
            if (i == 0 || s > natural)
                natural = s;
        }
        u.align = 1;
    }
    if (natural < size) {
        int64_t grow = u.align;
        while (roundup(natural > 1 ? natural : 1, grow) < size)
            grow *= 2;
        if (natural && roundup(natural, grow) == size) {
            u.aligned_to = grow;
            u.align = grow;
        } else if (size <= (int64_t)d->ptr_size) {
            u.pad_bits = size * 8;
        }
    }
    return u;
}

static int64_t align_of_uncached(struct dumper *d, uint32_t t)
{
    uint32_t base = layout_base(d, t), vlen, i;
    int k = d->kind[base];
    int64_t best = 1, zero = 0;
    int any_zero = 0;
    if (k == K_INT || k == K_ENUM || k == K_ENUM64 || k == K_FLOAT) {
        uint32_t size = word2(d, base);
        return size < d->ptr_size ? size : d->ptr_size;
    }
    if (k == K_PTR)
        return d->ptr_size;
    if (!is_composite(k))
        return 0;
    vlen = vlen_of(d, base);
    for (i = 0; i < vlen; i++) {
        int64_t a = align_of(d, member_type(d, base, i));
        if (a <= 0 && !any_zero) {
            any_zero = 1;
            zero = a;
        }
        if (a > best)
            best = a;
    }
    if (any_zero)
        return zero;
    if (k == K_UNION)
        return union_layout(d, base).align;
    if (is_packed(d, base))
        return 1;
    return best;
}

static int64_t align_of(struct dumper *d, uint32_t t)
{
    int64_t a;
    if (d->align[t] >= 0)
        return d->align[t];
    if (++d->layout_depth > MAX_LAYOUT_DEPTH)
        bail(d); /* a struct holding itself, or absurd nesting: Python decides */
    a = align_of_uncached(d, t);
    d->layout_depth--;
    d->align[t] = a;
    return a;
}

static int is_packed_uncached(struct dumper *d, uint32_t t)
{
    uint32_t vlen = vlen_of(d, t), i;
    int64_t max_align = 1;
    for (i = 0; i < vlen; i++) {
        int64_t align = align_of(d, member_type(d, t, i));
        int64_t bits = member_bits(d, t, i), offset = member_offset(d, t, i);
        if (bits == 0 && align > 0 && offset % (8 * align) != 0)
            return 1;
        if (align && bits && offset / (8 * align) != (offset + bits - 1) / (8 * align))
            return 1;
        if (align > max_align)
            max_align = align;
    }
    return (int64_t)word2(d, t) % max_align != 0;
}

static int is_packed(struct dumper *d, uint32_t t)
{
    if (d->packed[t] < 0)
        d->packed[t] = (int8_t)is_packed_uncached(d, t);
    return d->packed[t];
}

/* -- declarations -------------------------------------------------------- */

static void type_decl(struct dumper *d, uint32_t t, const char *fname, int lvl);

static void nest(struct dumper *d)
{
    if (++d->nesting > MAX_NESTING)
        bail(d);
}

static void struct_fwd(struct dumper *d, uint32_t t)
{
    puts_(d, d->kind[t] == K_STRUCT ? "struct" : "union");
    if (named(d, t)) {
        put(d, " ", 1);
        put_type_name(d, t);
    }
}

static void fwd_def(struct dumper *d, uint32_t t)
{
    puts_(d, kflag_of(d, t) ? "union " : "struct ");
    put_type_name(d, t);
}

static void typedef_def(struct dumper *d, uint32_t t, int lvl)
{
    uint32_t count = resolve_name(d, t, &d->ident_names);
    const char *name = str_at(d, name_off(d, t));
    size_t len;
    if (word2(d, t) == 0 && count == 1 && strcmp(name, "__gnuc_va_list") == 0) {
        puts_(d, "typedef __builtin_va_list __gnuc_va_list");
        return;
    }
    puts_(d, "typedef ");
    if (count <= 1) {
        type_decl(d, word2(d, t), count ? name : "", lvl);
        return;
    }
    /* The declared name carries its suffix (typedefs are defined at the top
     * level only: one scratch buffer serves them all). */
    len = strlen(name) + 16;
    if (len > d->scratch_cap) {
        char *grown = PyMem_Realloc(d->scratch, len);
        if (grown == NULL)
            bail(d);
        d->scratch = grown;
        d->scratch_cap = len;
    }
    snprintf(d->scratch, len, "%s___%u", name, count);
    type_decl(d, word2(d, t), d->scratch, lvl);
}

static void enum_def(struct dumper *d, uint32_t t, int lvl)
{
    uint32_t vlen = vlen_of(d, t), i, at = d->off[t];
    int wide = d->kind[t] == K_ENUM64, is_signed = kflag_of(d, t);
    uint32_t size = word2(d, t);
    int any_high = 0;
    puts_(d, "enum");
    if (named(d, t)) {
        put(d, " ", 1);
        put_type_name(d, t);
    }
    if (!vlen)
        return;
    put(d, " {", 2);
    for (i = 0; i < vlen; i++) {
        uint32_t name = W(d, at + 3 + (wide ? 3 : 2) * i);
        put(d, "\n", 1);
        put_indent(d, lvl + 1);
        put_counted(d, str_at(d, name),
                    count_name(d, &d->ident_names, str_at(d, name), (uint32_t)strlen(str_at(d, name))));
        puts_(d, " = ");
        if (wide) {
            uint64_t v = (uint64_t)W(d, at + 4 + 3 * i) | (uint64_t)W(d, at + 5 + 3 * i) << 32;
            if (v >> 32)
                any_high = 1;
            if (is_signed && (v >> 63))
                put_i64(d, (int64_t)v);
            else
                put_u64(d, v);
            puts_(d, is_signed ? "LL," : "ULL,");
        } else {
            uint32_t v = W(d, at + 4 + 2 * i);
            if (is_signed && (v >> 31))
                put_i64(d, (int32_t)v);
            else
                put_u64(d, v);
            put(d, ",", 1);
        }
    }
    put(d, "\n", 1);
    put_indent(d, lvl);
    put(d, "}", 1);
    if (size == 1)
        puts_(d, " __attribute__((mode(byte)))");
    else if (size == 2)
        puts_(d, " __attribute__((mode(HI)))");
    else if (size == 8 && d->ptr_size == 8 && (!wide || !any_high))
        puts_(d, " __attribute__((mode(word)))");
}

static int64_t lands_at(struct dumper *d, int64_t cur, uint32_t t, int64_t bits, int packed)
{
    int64_t unit;
    if (packed) {
        unit = 8;
    } else {
        int64_t a = align_of(d, t);
        unit = (a > 1 ? a : 1) * 8;
    }
    if (!bits)
        return roundup(cur, unit);
    if (packed || cur / unit == (cur + bits - 1) / unit)
        return cur;
    return roundup(cur, unit);
}

static void pad_line(struct dumper *d, int lvl, const char *type, int64_t bits)
{
    put(d, "\n", 1);
    put_indent(d, lvl);
    puts_(d, type);
    puts_(d, ": ");
    put_i64(d, bits);
    put(d, ";", 1);
}

static void bit_padding(struct dumper *d, int64_t cur, int64_t nxt, int64_t lands, int in_bitfield,
                        int packed, int lvl)
{
    static const char *pad_names[4] = {"long", "int", "short", "char"};
    int64_t pad_sizes[4] = {(int64_t)d->ptr_size * 8, 32, 16, 8};
    int p = 3, j;
    int64_t new_ = cur;
    const char *pad_type;
    int64_t pad_bits;
    if (cur >= nxt)
        return;
    if ((nxt - cur) / pad_sizes[0] > MAX_PAD_UNITS) {
        if (cur % 8) {
            pad_line(d, lvl, "char", 8 - cur % 8);
            cur += 8 - cur % 8;
        }
        put(d, "\n", 1);
        put_indent(d, lvl);
        puts_(d, "char __pad_");
        put_i64(d, cur / 8);
        put(d, "[", 1);
        put_i64(d, (nxt - cur) / 8);
        puts_(d, "];");
        cur += (nxt - cur) / 8 * 8;
        if (cur == nxt)
            return;
    }
    for (j = 0; j < 4; j++) {
        p = j;
        new_ = roundup(cur, pad_sizes[j]);
        if (new_ <= nxt)
            break;
    }
    pad_type = pad_names[p];
    pad_bits = pad_sizes[p];
    if (cur < new_ && new_ <= nxt) {
        if (in_bitfield || (new_ == nxt && lands != new_)
            || (new_ != nxt && (packed || nxt - new_ <= new_ - cur)))
            pad_line(d, lvl, pad_type, in_bitfield ? new_ - cur : 0);
        cur = new_;
    }
    while (cur != nxt) {
        int64_t bits = nxt - cur < pad_bits ? nxt - cur : pad_bits;
        if (bits == pad_bits) {
            pad_line(d, lvl, pad_type, pad_bits);
            cur += bits;
            continue;
        }
        for (j = 3; j >= 0; j--) {
            pad_type = pad_names[j];
            pad_bits = pad_sizes[j];
            if (pad_bits < bits)
                continue;
            pad_line(d, lvl, pad_type, bits);
            cur += bits;
            break;
        }
    }
}

static void struct_def(struct dumper *d, uint32_t t, int lvl)
{
    int is_struct = d->kind[t] == K_STRUCT;
    int64_t align, offset = 0;
    int packed, prev_bitfield = 0, attr_packed;
    uint32_t vlen = vlen_of(d, t), i;
    int64_t size = word2(d, t);
    struct union_layout u = {0, 0, 0, 0};
    nest(d);
    align = align_of(d, t);
    packed = is_struct && is_packed(d, t);
    struct_fwd(d, t);
    puts_(d, " {");
    for (i = 0; i < vlen; i++) {
        int64_t bits = member_bits(d, t, i), moff = member_offset(d, t, i);
        uint32_t mt = member_type(d, t, i);
        int64_t lands = lands_at(d, offset, mt, bits, packed);
        if (offset < moff)
            bit_padding(d, offset, moff, lands, prev_bitfield && bits != 0, packed, lvl + 1);
        put(d, "\n", 1);
        put_indent(d, lvl + 1);
        type_decl(d, mt, str_at(d, member_word(d, t, i, 0)), lvl + 1);
        if (bits) {
            puts_(d, ": ");
            put_i64(d, bits);
            put(d, ";", 1);
            offset = moff + bits;
            prev_bitfield = 1;
        } else {
            put(d, ";", 1);
            offset = moff + size_of(d, mt) * 8;
            prev_bitfield = 0;
        }
    }
    attr_packed = packed;
    if (is_struct) {
        int64_t lands = roundup(offset, (align > 1 ? align : 1) * 8);
        bit_padding(d, offset, size * 8, lands, 0, packed, lvl + 1);
    } else {
        u = union_layout(d, t);
        attr_packed = u.packed;
        bit_padding(d, 0, u.pad_bits, 0, 0, 0, lvl + 1);
    }
    if (vlen || size) {
        put(d, "\n", 1);
        put_indent(d, lvl);
        put(d, "}", 1);
    } else {
        put(d, "}", 1);
    }
    if (attr_packed || u.aligned_to) {
        puts_(d, " __attribute__((");
        if (attr_packed)
            puts_(d, "packed");
        if (u.aligned_to) {
            if (attr_packed)
                puts_(d, ", ");
            puts_(d, "aligned(");
            put_i64(d, u.aligned_to);
            put(d, ")", 1);
        }
        puts_(d, "))");
    }
    d->nesting--;
}

/* cdump's plain_name: writes it and returns 1, or returns 0 (writing nothing). */
static int plain_name(struct dumper *d, uint32_t t)
{
    int k = d->kind[t];
    switch (k) {
    case K_TYPEDEF:
        put_ident_name(d, t);
        return 1;
    case K_INT: case K_FLOAT:
        puts_(d, str_at(d, name_off(d, t)));
        return 1;
    case K_VOID:
        puts_(d, "void");
        return 1;
    default:
        break;
    }
    if (!named(d, t))
        return 0;
    if (k == K_STRUCT)
        puts_(d, "struct ");
    else if (k == K_UNION)
        puts_(d, "union ");
    else if (k == K_ENUM || k == K_ENUM64)
        puts_(d, "enum ");
    else
        return 0;
    put_type_name(d, t);
    return 1;
}

static int has_plain_name(struct dumper *d, uint32_t t)
{
    int k = d->kind[t];
    if (k == K_TYPEDEF || k == K_INT || k == K_FLOAT || k == K_VOID)
        return 1;
    return named(d, t) && (is_composite(k) || k == K_ENUM || k == K_ENUM64);
}

static void emit_name(struct dumper *d, const char *name, int last_was_ptr)
{
    if (name[0]) {
        if (!last_was_ptr)
            put(d, " ", 1);
        puts_(d, name);
    }
}

/* A declaration's chain, top at stack[*top - 1]. */
struct chain {
    uint32_t *ids;
    uint32_t len;
};

static void emit_mods(struct dumper *d, struct chain *c)
{
    while (c->len) {
        int k = d->kind[c->ids[c->len - 1]];
        if (k == K_VOLATILE)
            puts_(d, "volatile ");
        else if (k == K_CONST)
            puts_(d, "const ");
        else if (k == K_RESTRICT)
            puts_(d, "restrict ");
        else
            return;
        c->len--;
    }
}

static void drop_mods(struct dumper *d, struct chain *c)
{
    while (c->len && is_qualifier(d->kind[c->ids[c->len - 1]]))
        c->len--;
}

static void params(struct dumper *d, uint32_t t, int lvl)
{
    uint32_t vlen = vlen_of(d, t), i;
    if (!vlen || (vlen == 1 && param_type(d, t, 0) == 0)) {
        puts_(d, "(void)");
        return;
    }
    put(d, "(", 1);
    for (i = 0; i < vlen; i++) {
        if (i)
            puts_(d, ", ");
        if (i == vlen - 1 && param_type(d, t, i) == 0) {
            puts_(d, "...");
            break;
        }
        type_decl(d, param_type(d, t, i), str_at(d, param_name(d, t, i)), lvl);
    }
    put(d, ")", 1);
}

static void type_chain(struct dumper *d, struct chain *c, const char *fname, int lvl);

static void type_chain_inner(struct dumper *d, struct chain *c, const char *fname, int lvl)
{
    int last_was_ptr = 1;
    while (c->len) {
        uint32_t t = c->ids[--c->len];
        int k = d->kind[t];
        switch (k) {
        case K_TYPEDEF:
            emit_mods(d, c);
            put_ident_name(d, t);
            break;
        case K_PTR:
            puts_(d, last_was_ptr ? "*" : " *");
            break;
        case K_INT: case K_FLOAT:
            emit_mods(d, c);
            puts_(d, str_at(d, name_off(d, t)));
            break;
        case K_STRUCT: case K_UNION:
            emit_mods(d, c);
            if (named(d, t))
                struct_fwd(d, t);
            else
                struct_def(d, t, lvl);
            break;
        case K_CONST:
            puts_(d, " const");
            break;
        case K_ARRAY: {
            uint32_t nelems = W(d, d->off[t] + 5);
            int multidim;
            drop_mods(d, c);
            if (!c->len) {
                emit_name(d, fname, last_was_ptr);
                put(d, "[", 1);
                put_u64(d, nelems);
                put(d, "]", 1);
                return;
            }
            multidim = d->kind[c->ids[c->len - 1]] == K_ARRAY;
            if (fname[0] && !last_was_ptr)
                put(d, " ", 1);
            if (!multidim)
                put(d, "(", 1);
            type_chain(d, c, fname, lvl);
            if (!multidim)
                put(d, ")", 1);
            put(d, "[", 1);
            put_u64(d, nelems);
            put(d, "]", 1);
            return;
        }
        case K_FUNC_PROTO:
            drop_mods(d, c);
            if (c->len) {
                puts_(d, " (");
                type_chain(d, c, fname, lvl);
                put(d, ")", 1);
            } else {
                emit_name(d, fname, last_was_ptr);
            }
            params(d, t, lvl);
            return;
        case K_ENUM: case K_ENUM64:
            emit_mods(d, c);
            if (named(d, t)) {
                puts_(d, "enum ");
                put_type_name(d, t);
            } else {
                enum_def(d, t, lvl);
            }
            break;
        case K_VOID:
            emit_mods(d, c);
            puts_(d, "void");
            last_was_ptr = 0;
            continue;
        case K_VOLATILE:
            puts_(d, " volatile");
            break;
        case K_RESTRICT:
            puts_(d, " restrict");
            break;
        case K_FWD:
            emit_mods(d, c);
            fwd_def(d, t);
            break;
        case K_TYPE_TAG:
            emit_mods(d, c);
            puts_(d, " __attribute__((btf_type_tag(\"");
            puts_(d, str_at(d, name_off(d, t)));
            puts_(d, "\")))");
            break;
        default:
            return;
        }
        last_was_ptr = k == K_PTR;
    }
    emit_name(d, fname, last_was_ptr);
}

static void type_chain(struct dumper *d, struct chain *c, const char *fname, int lvl)
{
    nest(d);
    type_chain_inner(d, c, fname, lvl);
    d->nesting--;
}

/* Longest declaration chain followed; a longer one (a cycle) goes to Python. */
#define MAX_CHAIN 256

static void type_decl(struct dumper *d, uint32_t t, const char *fname, int lvl)
{
    uint32_t ids[MAX_CHAIN];
    struct chain c = {ids, 0};
    if (d->nesting < MAX_NESTING) {
        if (d->kind[t] == K_PTR) {
            uint32_t target = word2(d, t);
            if (has_plain_name(d, target)) {
                plain_name(d, target);
                puts_(d, " *");
                puts_(d, fname);
                return;
            }
        } else if (has_plain_name(d, t)) {
            plain_name(d, t);
            if (fname[0]) {
                put(d, " ", 1);
                puts_(d, fname);
            }
            return;
        }
    }
    for (;;) {
        int k = d->kind[t];
        if (c.len == MAX_CHAIN)
            bail(d);
        ids[c.len++] = t;
        if (k == K_VOID || k == K_INT || k == K_FLOAT || k == K_ENUM || k == K_ENUM64
            || k == K_FWD || is_composite(k) || k == K_TYPEDEF)
            break;
        if (k == K_PTR || is_qualifier(k))
            t = word2(d, t);
        else if (k == K_FUNC_PROTO)
            t = word2(d, t);
        else if (k == K_ARRAY)
            t = W(d, d->off[t] + 3);
        else
            break;
    }
    type_chain(d, &c, fname, lvl);
}

/* -- ordering (cdump's _order walk) ---------------------------------------- */

static void push(struct dumper *d, uint32_t *sp, uint32_t id, uint32_t arg)
{
    struct frame *f;
    if (*sp == d->stack_cap) {
        uint32_t cap = d->stack_cap ? d->stack_cap * 2 : 256;
        struct frame *grown;
        if (cap > MAX_WALK_DEPTH)
            bail(d);
        grown = PyMem_Realloc(d->stack, cap * sizeof(*grown));
        if (grown == NULL)
            bail(d);
        d->stack = grown;
        d->stack_cap = cap;
    }
    f = &d->stack[(*sp)++];
    f->id = id;
    f->arg = arg;
    f->i = 0;
    f->extra = 0;
    f->pc = 0;
}

static int proto_ordered(struct dumper *d, uint32_t t)
{
    uint32_t vlen = vlen_of(d, t), i;
    if (d->order_state[word2(d, t)] != ST_DONE)
        return 0;
    for (i = 0; i < vlen; i++)
        if (d->order_state[param_type(d, t, i)] != ST_DONE)
            return 0;
    return 1;
}

/* Queue t for emitting (each queue holds at most every type once per state change). */
static void enqueue(struct dumper *d, uint32_t t)
{
    if (d->queue_len >= 2 * d->n)
        bail(d);
    d->queue[d->queue_len++] = t;
}

static void order(struct dumper *d, uint32_t root)
{
    uint32_t sp = 0;
    int res = 0;
    push(d, &sp, root, 0);
    while (sp) {
        struct frame *f = &d->stack[sp - 1];
        uint32_t t = f->id, call = 0, call_tp = 0;
        int k = d->kind[t], tp = (int)f->arg, ret = -1;
        if (f->pc == 0) {
            uint8_t state = d->order_state[t];
            if (state != ST_NONE) {
                if (state == ST_DONE)
                    ret = 1;
                else if (is_composite(k) && tp && named(d, t))
                    ret = 0;
                else
                    bail(d); /* a type contains itself: Python raises */
                goto returned;
            }
        }
        switch (k) {
        case K_PTR:
            if (f->pc == 0) {
                f->pc = 1;
                call = word2(d, t);
                call_tp = 1;
                goto calling;
            }
            d->order_state[t] = ST_DONE;
            ret = res;
            break;
        case K_STRUCT: case K_UNION:
            if (f->pc == 0) {
                if (tp && named(d, t)) {
                    ret = 0;
                    break;
                }
                d->order_state[t] = ST_IN_PROGRESS;
                f->pc = 1;
            }
            while (f->i < vlen_of(d, t)) {
                uint32_t mt = member_type(d, t, f->i++);
                if (d->order_state[mt] != ST_DONE) {
                    call = mt;
                    call_tp = 0;
                    goto calling;
                }
            }
            if (named(d, t))
                enqueue(d, t);
            d->order_state[t] = ST_DONE;
            ret = 1;
            break;
        case K_VOLATILE: case K_CONST: case K_RESTRICT: case K_TYPE_TAG:
            if (f->pc == 0) {
                f->pc = 1;
                call = word2(d, t);
                call_tp = (uint32_t)tp;
                goto calling;
            }
            ret = res;
            break;
        case K_TYPEDEF:
            if (f->pc == 0) {
                f->pc = 1;
                call = word2(d, t);
                call_tp = (uint32_t)tp;
                goto calling;
            }
            if (tp && !res) {
                ret = 0;
                break;
            }
            enqueue(d, t);
            d->order_state[t] = ST_DONE;
            ret = 1;
            break;
        case K_FUNC_PROTO:
            if (f->pc == 0) {
                f->pc = 1;
                call = word2(d, t);
                call_tp = (uint32_t)tp;
                goto calling;
            }
            if (f->pc == 1) {
                f->extra = (uint32_t)res;
                f->pc = 2;
            } else if (res) {
                f->extra = 1;
            }
            if (f->i < vlen_of(d, t)) {
                call = param_type(d, t, f->i++);
                call_tp = (uint32_t)tp;
                goto calling;
            }
            ret = (int)f->extra;
            break;
        case K_ARRAY:
            if (f->pc == 0) {
                f->pc = 1;
                call = W(d, d->off[t] + 3);
                call_tp = 0;
                goto calling;
            }
            ret = res;
            break;
        case K_ENUM: case K_ENUM64: case K_FWD:
            if (named(d, t) || !d->referenced[t])
                enqueue(d, t);
            d->order_state[t] = ST_DONE;
            ret = 1;
            break;
        default:
            d->order_state[t] = ST_DONE;
            ret = 0;
            break;
        }
    returned:
        sp--;
        res = ret;
        continue;
    calling:
        if (d->order_state[call] == ST_DONE) {
            res = 1;
            continue;
        }
        if (d->kind[call] == K_FUNC_PROTO && proto_ordered(d, call)) {
            res = 1;
            continue;
        }
        push(d, &sp, call, call_tp);
        res = 0;
    }
}

/* -- emitting (cdump's _emit walk) ----------------------------------------- */

static void emit_semicolon(struct dumper *d) { put(d, ";\n\n", 3); }

static int is_builtin(struct dumper *d, uint32_t t)
{
    return strcmp(str_at(d, name_off(d, t)), "__builtin_va_list") == 0;
}

/* cdump's _MISSING_BASE_TYPES. */
static const char *missing_base_type(struct dumper *d, uint32_t t)
{
    static const char *const table[4][2] = {
        {"__Poly8_t", "unsigned char"},
        {"__Poly16_t", "unsigned short"},
        {"__Poly64_t", "unsigned long long"},
        {"__Poly128_t", "unsigned __int128"},
    };
    int i;
    for (i = 0; i < 4; i++)
        if (resolved_is(d, t, &d->type_names, table[i][0]))
            return table[i][1];
    return NULL;
}

/* True when the call (t, container) needs no walk (cdump's _emit_step). */
static int emit_skipped(struct dumper *d, uint32_t t, uint32_t container)
{
    uint32_t target = t;
    int step;
    if (d->emit_state[t] == ST_DONE)
        return 1;
    for (step = 0; step < SHORTCUT_STEPS; step++) {
        int k = d->kind[target];
        if (k == K_PTR || is_qualifier(k))
            target = word2(d, target);
        else if (k == K_ARRAY)
            target = W(d, d->off[target] + 3);
        else
            break;
        if (d->emit_state[target] == ST_DONE)
            return 1;
    }
    return container != NO_CONTAINER && d->fwd_emitted[target] && is_composite(d->kind[target])
           && named(d, target);
}

static void emit(struct dumper *d, uint32_t root)
{
    uint32_t sp = 0;
    push(d, &sp, root, NO_CONTAINER);
    while (sp) {
        struct frame *f = &d->stack[sp - 1];
        uint32_t t = f->id, container = f->arg, call = 0, call_container = 0;
        int k = d->kind[t];
        if (f->pc == 0) {
            uint8_t state = d->emit_state[t];
            if (state == ST_DONE)
                goto returned;
            if (state == ST_IN_PROGRESS) {
                if (d->fwd_emitted[t])
                    goto returned;
                if (is_composite(k)) {
                    if (t == container || !named(d, t))
                        goto returned;
                    struct_fwd(d, t);
                    emit_semicolon(d);
                    d->fwd_emitted[t] = 1;
                } else if (k == K_TYPEDEF) {
                    if (!is_builtin(d, t)) {
                        typedef_def(d, t, 0);
                        emit_semicolon(d);
                    }
                    d->fwd_emitted[t] = 1;
                }
                goto returned;
            }
        }
        switch (k) {
        case K_PTR: case K_VOLATILE: case K_CONST: case K_RESTRICT: case K_TYPE_TAG:
            if (f->pc == 0) {
                f->pc = 1;
                call = word2(d, t);
                call_container = container;
                goto calling;
            }
            break;
        case K_ARRAY:
            if (f->pc == 0) {
                f->pc = 1;
                call = W(d, d->off[t] + 3);
                call_container = container;
                goto calling;
            }
            break;
        case K_STRUCT: case K_UNION:
            if (f->pc == 0) {
                d->emit_state[t] = ST_IN_PROGRESS;
                if (container == NO_CONTAINER || !named(d, t)) {
                    f->extra = named(d, t) ? t : container;
                    f->pc = 1;
                } else {
                    if (!d->fwd_emitted[t] && t != container) {
                        struct_fwd(d, t);
                        emit_semicolon(d);
                        d->fwd_emitted[t] = 1;
                    }
                    f->pc = 2;
                }
            }
            if (f->pc == 1) {
                while (f->i < vlen_of(d, t)) {
                    uint32_t mt = member_type(d, t, f->i++);
                    if (d->emit_state[mt] != ST_DONE) {
                        call = mt;
                        call_container = f->extra;
                        goto calling;
                    }
                }
            }
            if (container == NO_CONTAINER) {
                struct_def(d, t, 0);
                emit_semicolon(d);
                d->emit_state[t] = ST_DONE;
            } else {
                d->emit_state[t] = ST_NONE;
            }
            break;
        case K_TYPEDEF:
            if (f->pc == 0) {
                d->emit_state[t] = ST_IN_PROGRESS;
                f->pc = 1;
                call = word2(d, t);
                call_container = t;
                goto calling;
            }
            if (!d->fwd_emitted[t] && !is_builtin(d, t)) {
                typedef_def(d, t, 0);
                emit_semicolon(d);
            }
            d->emit_state[t] = ST_DONE;
            break;
        case K_FUNC_PROTO:
            if (f->pc == 0) {
                f->pc = 1;
                call = word2(d, t);
                call_container = container;
                goto calling;
            }
            if (f->i < vlen_of(d, t)) {
                call = param_type(d, t, f->i++);
                call_container = container;
                goto calling;
            }
            break;
        case K_INT: {
            const char *alias = missing_base_type(d, t);
            if (alias != NULL) {
                puts_(d, "typedef ");
                puts_(d, alias);
                put(d, " ", 1);
                puts_(d, str_at(d, name_off(d, t)));
                emit_semicolon(d);
            }
            d->emit_state[t] = ST_DONE;
            break;
        }
        case K_ENUM: case K_ENUM64:
            if (container == NO_CONTAINER) {
                enum_def(d, t, 0);
                emit_semicolon(d);
            }
            d->emit_state[t] = ST_DONE;
            break;
        case K_FWD:
            fwd_def(d, t);
            emit_semicolon(d);
            d->emit_state[t] = ST_DONE;
            break;
        default:
            break;
        }
    returned:
        sp--;
        continue;
    calling:
        if (!emit_skipped(d, call, call_container))
            push(d, &sp, call, call_container);
    }
}

/* -- the dump -------------------------------------------------------------- */

static void dump(struct dumper *d)
{
    uint32_t id, q;
    index_records(d);
    mark_referenced(d);
    for (id = 1; id < d->n; id++) {
        int k = d->kind[id];
        if (k == K_FUNC || k == K_VAR || k == K_DATASEC || k == K_DECL_TAG)
            continue;
        if (d->order_state[id] == ST_DONE)
            continue;
        if (k == K_FUNC_PROTO && proto_ordered(d, id))
            continue;
        d->queue_len = 0;
        order(d, id);
        for (q = 0; q < d->queue_len; q++)
            emit(d, d->queue[q]);
    }
}

static void release(struct dumper *d)
{
    PyMem_Free(d->off);
    PyMem_Free(d->kind);
    PyMem_Free(d->referenced);
    PyMem_Free(d->order_state);
    PyMem_Free(d->emit_state);
    PyMem_Free(d->fwd_emitted);
    PyMem_Free(d->rname);
    PyMem_Free(d->align);
    PyMem_Free(d->size);
    PyMem_Free(d->packed);
    PyMem_Free(d->queue);
    PyMem_Free(d->stack);
    PyMem_Free(d->type_names.slots);
    PyMem_Free(d->ident_names.slots);
    PyMem_Free(d->out);
    PyMem_Free(d->scratch);
    PyMem_Free((void *)d->w);
}

/* The number of records (ids past void) a type section of n words could hold at most. */
static int setup(struct dumper *d, uint32_t count)
{
    size_t n = (size_t)count + 1, i;
    d->n = (uint32_t)n;
    d->off = PyMem_Calloc(n, sizeof(uint32_t));
    d->kind = PyMem_Calloc(n, 1);
    d->referenced = PyMem_Calloc(n, 1);
    d->order_state = PyMem_Calloc(n, 1);
    d->emit_state = PyMem_Calloc(n, 1);
    d->fwd_emitted = PyMem_Calloc(n, 1);
    d->rname = PyMem_Calloc(n, sizeof(uint32_t));
    d->align = PyMem_Malloc(n * sizeof(int64_t));
    d->size = PyMem_Malloc(n * sizeof(int64_t));
    d->packed = PyMem_Malloc(n);
    d->queue = PyMem_Malloc(2 * n * sizeof(uint32_t));
    if (!d->off || !d->kind || !d->referenced || !d->order_state || !d->emit_state
        || !d->fwd_emitted || !d->rname || !d->align || !d->size || !d->packed || !d->queue)
        return -1;
    for (i = 0; i < n; i++) {
        d->align[i] = -1;
        d->size[i] = -1;
        d->packed[i] = -1;
    }
    return 0;
}

static PyObject *cdump_dump_c(PyObject *self, PyObject *args)
{
    Py_buffer words, strings;
    unsigned int count, ptr_size, base_count = 0, base_strings = 0;
    struct dumper *d;
    PyObject *result = NULL;
    Py_ssize_t i;
    const char *str;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*II|II", &words, &strings, &count, &ptr_size, &base_count,
                          &base_strings))
        return NULL;
    str = strings.buf;
    d = PyMem_Calloc(1, sizeof(*d));
    if (d == NULL) {
        PyBuffer_Release(&words);
        PyBuffer_Release(&strings);
        return PyErr_NoMemory();
    }
    if (words.len % 4 || words.len / 4 > 0xFFFFFFFFll || strings.len == 0
        || strings.len > 0xFFFFFFFFll || str[0] != 0 || str[strings.len - 1] != 0
        || (ptr_size != 4 && ptr_size != 8) || count >= 0x7FFFFFFFu
        || (Py_ssize_t)count > words.len / 12 || base_count > count
        || (Py_ssize_t)base_strings > strings.len
        || (base_strings && str[base_strings - 1] != 0) || (base_count && !base_strings))
        goto unhandled;
    /* Names are written as they are: only ASCII is the same text as Python's decoding. */
    for (i = 0; i < strings.len; i++)
        if (((const unsigned char *)str)[i] >= 0x80)
            goto unhandled;
    d->nwords = (uint32_t)(words.len / 4);
    d->w = PyMem_Malloc(words.len ? (size_t)words.len : 4);
    if (d->w == NULL)
        goto unhandled;
    memcpy((void *)d->w, words.buf, (size_t)words.len);
    d->str = str;
    d->str_len = (uint32_t)strings.len;
    d->ptr_size = ptr_size;
    if (setup(d, count) < 0)
        goto unhandled;
    d->base_n = base_count ? base_count + 1 : d->n;
    d->base_str_len = base_count ? base_strings : d->str_len;
    if (setjmp(d->bail))
        goto unhandled;
    dump(d);
    result = PyUnicode_New((Py_ssize_t)d->out_len, 127);
    if (result != NULL && d->out_len) /* no text: no buffer, and memcpy wants one */
        memcpy(PyUnicode_DATA(result), d->out, d->out_len);
    goto out;
unhandled:
    Py_INCREF(Py_None);
    result = Py_None;
out:
    release(d);
    PyMem_Free(d);
    PyBuffer_Release(&words);
    PyBuffer_Release(&strings);
    return result;
}

static PyMethodDef cdump_methods[] = {
    {"dump_c", cdump_dump_c, METH_VARARGS,
     "dump_c(types, strings, count, pointer_size[, base_count, base_strings]): the C "
     "definitions of a whole BTF blob (pybpf.btf.cdump.dump_c's text), or None where the "
     "Python code must run. Split BTF comes as its base's words and strings followed by "
     "its own, with the base's record count and string table length."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cdump_module = {
    PyModuleDef_HEAD_INIT, "_pybpf_btf_cdump", "pybpf.btf's C header dump, compiled.", -1,
    cdump_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pybpf_btf_cdump(void)
{
    PyObject *m = PyModule_Create(&cdump_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "VERSION", CDUMP_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
