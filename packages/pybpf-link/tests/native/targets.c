// Native targets for pybpf.link's offline tests, compiled by the tests with
// the host's C compiler (twice: -DSECOND gives the second translation unit).
//
// - `duplicate`: one static function per unit, so .symtab holds two local
//   definitions of one name at different addresses (ambiguous to libbpf);
// - `first_alias`: an alias of `first`, one address under two names;
// - `chosen`: static in the first unit, weak global in the second: the
//   non-weak definition wins in .symtab, the weak one is all .dynsym has;
// - `traced`: one USDT probe site, written the way systemtap's sys/sdt.h
//   writes it (a stapsdt note, .stapsdt.base, a semaphore in .probes), so the
//   tests need no systemtap headers.
#ifndef SECOND
unsigned short test_traced_semaphore __attribute__((section(".probes"), used));

static int __attribute__((noinline, used)) duplicate(int x)
{
	return x + 1;
}

int first(int x)
{
	return duplicate(x);
}

int first_alias(int x) __attribute__((alias("first")));

static int __attribute__((noinline, used)) chosen(int x)
{
	return x + 3;
}

int __attribute__((noinline)) traced(int x)
{
	__asm__ __volatile__(
		"990: nop\n"
		".pushsection .note.stapsdt,\"\",\"note\"\n"
		".balign 4\n"
		".4byte 992f-991f, 994f-993f, 3\n"
		"991: .asciz \"stapsdt\"\n"
		"992: .balign 4\n"
		"993: .8byte 990b\n"
		".8byte _.stapsdt.base\n"
		".8byte test_traced_semaphore\n"
		".asciz \"test\"\n"
		".asciz \"traced\"\n"
		".asciz \"-4@%edi 8@-16(%rbp) -4@$5\"\n"
		"994: .balign 4\n"
		".popsection\n"
		".ifndef _.stapsdt.base\n"
		".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"
		".weak _.stapsdt.base\n"
		".hidden _.stapsdt.base\n"
		"_.stapsdt.base: .space 1\n"
		".size _.stapsdt.base, 1\n"
		".popsection\n"
		".endif\n");
	return x * 2;
}

int second(int x);

int main(void)
{
	return first(1) + traced(2) + second(3);
}
#else
static int __attribute__((noinline, used)) duplicate(int x)
{
	return x - 1;
}

int __attribute__((weak, noinline)) chosen(int x)
{
	return x + 4;
}

int second(int x)
{
	return duplicate(x) + chosen(x);
}
#endif
