// Global variables as the loader sees them: .data, .bss, .rodata with
// "const volatile" values meant to be set before load (scalars, an array, a
// struct, a bool), static variables, custom .data.<name>/.rodata.<name>
// sections, string literals in .rodata.str1.1 (bpf_printk), and globals shared
// by several programs. Loads on 5.10.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

struct config {
	u32 mode;
	u32 threshold;
	u64 mask;
};

/* .rodata: set by the user before loading, frozen afterwards. */
const volatile int rodata_int = 1;
const volatile u64 rodata_u64 = 0xdeadbeefcafef00dULL;
const volatile _Bool rodata_enabled = 1;
const volatile u32 rodata_array[4] = { 1, 2, 3, 4 };
const volatile struct config rodata_config = { .mode = 2, .threshold = 100, .mask = ~0ULL };
const volatile u32 rodata_zero; /* zero-initialised but still .rodata */

/* .data and .bss */
u64 data_packets = 1;
u32 data_array[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
u64 bss_bytes;
struct config bss_config;
static u64 static_data = 42;
static u32 static_bss;

/* Custom sections: each becomes its own array map. */
u64 custom_data_a SEC(".data.custom") = 1;
u64 custom_data_b SEC(".data.custom") = 2;
u32 custom_bss SEC(".data.zeroes");
const volatile u32 custom_rodata SEC(".rodata.custom") = 3;

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	if (!rodata_enabled)
		return 0;
	data_packets++;
	bss_bytes += skb->len;
	static_data += rodata_int;
	static_bss++;
	custom_data_a += custom_rodata;
	custom_bss++;
	if (skb->len > rodata_config.threshold)
		bss_config.mode = rodata_config.mode;
	bss_config.mask = rodata_u64 & rodata_config.mask;
	return data_array[skb->len & 7] + rodata_array[skb->mark & 3] + rodata_zero;
}

SEC("socket")
int read_counters(struct __sk_buff *skb)
{
	return data_packets + bss_bytes + static_data + static_bss + custom_data_b;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int print_counters(void *ctx)
{
	bpf_printk("packets %llu bytes %llu", data_packets, bss_bytes);
	bpf_printk("mode %u", bss_config.mode);
	/* A bare literal: clang puts it in the mergeable .rodata.str1.1. */
	bpf_trace_printk("static %llu\n", sizeof("static %llu\n"), static_data);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
