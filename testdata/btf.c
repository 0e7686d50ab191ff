// pybpf: clang=clang-19
// Every BTF kind clang emits, for the BTF reader, marshaller and C dumper:
// INT (incl. _Bool, char, __int128), PTR, ARRAY (multi-dimensional), STRUCT,
// UNION (anonymous and nested, bitfields), ENUM (signed and unsigned, 1/2/4
// bytes), ENUM64, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC (static and
// global linkage), FUNC_PROTO (also as function pointers), VAR, DATASEC
// (.data, .rodata, .bss, .data.foo, .rodata.bar), FLOAT, DECL_TAG, TYPE_TAG.
// clang-19: clang-14 emits neither ENUM64 nor the signedness flag of enums.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))
#define __percpu __attribute__((btf_type_tag("percpu")))

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef signed char s8;
typedef long long s64;
typedef u32 u32_alias; /* typedef of a typedef */
typedef const volatile u64 cv_u64;

enum unsigned_enum { UE_ZERO = 0, UE_ONE = 1, UE_BIG = 0xfffffff0u };
enum signed_enum { SE_NEG = -2, SE_ZERO = 0, SE_POS = 3 };
enum __attribute__((packed)) enum8 { E8_A = 1, E8_B = 255 };
enum __attribute__((packed)) enum16 { E16_A = 1, E16_B = 0x1234 };
enum __attribute__((packed)) enum16_signed { E16S_NEG = -300, E16S_POS = 300 };
enum enum64 { E64_SMALL = 1, E64_BIG = 0x123456789abcdef0ULL };
enum enum64_signed { E64S_NEG = -0x100000000LL, E64S_POS = 7 };
enum { ANON_ENUM_VALUE = 42 } anon_enum_var;

struct fwd_only; /* FWD: declared, never defined */
union fwd_union;

typedef int (*callback_t)(void *ctx, u64 arg);

struct bits {
	u32 a : 3;
	u32 b : 5;
	s8 c : 2;
	u64 d : 40;
	u64 : 0; /* zero-width: forces alignment */
	u16 e : 9;
	enum signed_enum f : 4;
};

union bits_union {
	u32 whole;
	u32 low : 8;
	u32 high : 24;
};

struct __tag("struct_tag") nested {
	int before;
	struct {
		int anon_a;
		union {
			u32 anon_u32;
			float anon_float;
		};
	};
	union {
		struct {
			u16 lo;
			u16 hi;
		} halves;
		u32 word;
	} named_union;
	struct inner_named {
		char name[16];
	} inner;
	int tagged_member __tag("member_tag");
};

struct __attribute__((packed)) packed {
	u8 a;
	u32 b;
	u16 c;
	u64 d;
};

struct aligned {
	u8 a;
	u64 b __attribute__((aligned(16)));
} __attribute__((aligned(32)));

struct everything {
	_Bool flag;
	char c;
	signed char sc;
	unsigned char uc;
	short s;
	unsigned short us;
	int i;
	unsigned int ui;
	long l;
	unsigned long ul;
	long long ll;
	unsigned long long ull;
	__int128 i128;
	unsigned __int128 u128;
	float f;
	double d;
	long double ld;
	u32_alias alias;
	const int c_int;
	volatile int v_int;
	const volatile int cv_int;
	cv_u64 typedef_cv;
	int *restrict restrict_ptr;
	const char *const_str;
	void *void_ptr;
	void **void_ptr_ptr;
	int array[4];
	u8 matrix[2][3];
	u16 cube[2][3][4];
	const int const_array[2];
	char zero_len[0];
	struct nested *nested_ptr;
	struct fwd_only *fwd_ptr;
	union fwd_union *fwd_union_ptr;
	struct bits bits;
	union bits_union bits_union;
	struct nested nested;
	struct packed packed;
	struct aligned aligned;
	enum unsigned_enum ue;
	enum signed_enum se;
	enum enum8 e8;
	enum enum16 e16;
	enum enum16_signed e16s;
	enum enum64 e64;
	enum enum64_signed e64s;
	callback_t callback;
	void (*fn_ptr)(int, const char *);
	int (*fn_ptr_array[2])(void);
	int __user *user_ptr;
	int __user __percpu *two_tags_ptr;
	const int __user *const_user_ptr;
};

/* Globals in every data section, tagged and not. */
struct everything everything_bss;
struct everything everything_data = { .i = 1, .f = 1.5f, .d = 2.25 };
const volatile struct nested nested_rodata = { .before = 7 };
int tagged_global __tag("var_tag") = 3;
static int static_global = 5;
static u64 static_bss;
u64 custom_data SEC(".data.foo") = 0x1122334455667788ULL;
u32 custom_data_more SEC(".data.foo") = 9;
const volatile u32 custom_rodata SEC(".rodata.bar") = 10;
const char message[] = "btf testdata";

/* FUNC with static and global linkage, tagged function and arguments. */
static __noinline int static_func(struct nested *n)
{
	return n->before + n->anon_a + n->named_union.halves.hi + static_global;
}

__noinline __tag("func_tag") int global_func(int arg __tag("arg_tag"), u64 other)
{
	return arg * (int)other + tagged_global;
}

SEC("socket")
int btf_prog(struct __sk_buff *skb)
{
	struct nested n = {};

	n.before = skb->len;
	everything_bss.bits.d = skb->len;
	everything_bss.bits_union.high = skb->mark;
	everything_bss.e64 = E64_BIG;
	everything_data.ue = UE_BIG;
	static_global += 1;
	static_bss += skb->len;
	return static_func(&n) + global_func(skb->mark, custom_data) + custom_rodata +
	       nested_rodata.before + message[0] + custom_data_more + everything_bss.bits.c;
}

char LICENSE[] SEC("license") = "GPL";
