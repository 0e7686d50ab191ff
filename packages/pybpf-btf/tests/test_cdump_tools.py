"""The C dump against the tools: bpftool's text, and clang compiling the header.

bpftool 7.1 (libbpf 1.1) writes no ``__attribute__((mode(...)))`` after 1-, 2-
and 8-byte enums, which the dump writes so that such enums keep their size (newer
libbpf writes ``mode(byte)`` and ``mode(word)`` too); the comparison ignores those
attributes. 8-byte ENUMs (BTF from before ENUM64) are in 5.10's kernel BTF.
Recompiling a header must give back every struct's and union's layout.
Skipped, with the reason, where a tool is missing.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pybpf.btf import Composite, Spec, Struct, Typedef, Union, load_spec, underlying
from pybpf.btf.cdump import format_c

VMLINUX = Path("/sys/kernel/btf/vmlinux")
MODE_BYTE = " __attribute__((mode(byte)))"
MODE_HI = " __attribute__((mode(HI)))"
MODE_WORD = " __attribute__((mode(word)))"


def without_modes(header: str) -> str:
    return header.replace(MODE_BYTE, "").replace(MODE_HI, "").replace(MODE_WORD, "")


RICH_SOURCE = r"""
typedef unsigned int u32;
typedef unsigned long long u64;
struct list_head { struct list_head *next, *prev; };
struct a; struct b;
struct a { struct b *peer; int x; };
struct b { struct a embedded; struct b *self; };
typedef struct { int x; union { long l; char c[3]; }; } anon_t;
typedef enum { RED, GREEN = 5 } color_t;
enum big { BIG_A = 1, BIG_B = 0x123456789abcdef0ULL };
enum neg64 { NEG_A = -0x100000000LL, NEG_B = 1 };
enum small { SMALL_A = 1 } __attribute__((packed));
struct __attribute__((packed)) pk { char c; int i; short s; };
struct __attribute__((aligned(16))) al { int i; };
struct bits { unsigned a:3; int b:5; unsigned long long c:40; char d; unsigned e:1; };
struct gaps { char c; long l; char d; int i:4; long m; };
typedef int (*handler_t)(void *ctx, const char *name, ...);
struct ops {
	int (*open)(struct ops *self, int flags);
	void (*close)(void);
	handler_t handlers[4];
	int (*table[2])(u32, u64);
	char *(*getname)(const volatile int *const p);
	const char *const names[3];
	volatile u32 *restrict vp;
	int matrix[2][3];
	int (*pa)[5];
	void (*(*signal)(int, void (*)(int)))(int);
	struct { int inner; } nested;
	enum { IN_A, IN_B } inner_enum;
	struct list_head list;
	anon_t anon;
	color_t color;
	enum big big;
	enum neg64 neg;
	enum small small;
	struct pk pk;
	struct al al;
	struct bits bits;
	struct gaps gaps;
	float f; double d;
	_Bool flag;
	struct fwd_only *fwd;
	union fwd_union *fu;
	int flex[];
};
#define __user __attribute__((btf_type_tag("user")))
struct tagged { int __user *uptr; int __attribute__((btf_decl_tag("tag"))) x; };
struct ops ops_v;
struct b b_v;
struct tagged tagged_v;
"""

CORE_PROGRAM = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	pid_t pid = BPF_CORE_READ(prev, pid);
	bpf_printk("switch from %d", pid);
	return 0;
}
"""


def tool(*names: str) -> str:
    for name in names:
        if shutil.which(name):
            return name
    pytest.skip(f"{names[0]} is not installed")


def bpftool_c(path: Path) -> str:
    out = subprocess.run(
        [tool("bpftool"), "btf", "dump", "file", str(path), "format", "c"],
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.skip(f"bpftool cannot dump {path.name}: {out.stderr.strip()[:200]}")
    return out.stdout


def compiles(header: str, tmp_path: Path, program: str = '#include "vmlinux.h"\n') -> None:
    (tmp_path / "vmlinux.h").write_text(header)
    (tmp_path / "prog.c").write_text(program)
    arch = {"x86_64": "x86", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    cmd = [tool("clang", "clang-19", "clang-16"), "-target", "bpf", "-g", "-O2"]
    # Kernels built with -fms-extensions (Linux 6.19 and later) have tagged
    # anonymous members (``union pipe_index;``), which the header keeps, as
    # bpftool's does: compile it as the kernel's selftests do.
    cmd += ["-fms-extensions", "-Wno-microsoft-anon-tag"]
    cmd += [f"-D__TARGET_ARCH_{arch}", "-I", str(tmp_path), "-c", str(tmp_path / "prog.c")]
    cmd += ["-o", str(tmp_path / "prog.o")]
    result = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def layouts_survive(spec: Spec, tmp_path: Path) -> int:
    """Recompile the header with a variable of every struct and union; compare layouts.

    Returns how many composites were compared (those with a unique name).
    """
    header = format_c(spec)
    names = re.findall(r"^(struct|union) (\w+) \{", header, re.MULTILINE)
    if not names:
        return 0  # nothing to lay out (and clang writes no .BTF for an empty program)
    program = '#include "vmlinux.h"\n' + "".join(
        f"{kind} {name} v{i};\n" for i, (kind, name) in enumerate(names)
    )
    compiles(header, tmp_path, program)
    original: dict[tuple[type, str], list[Composite]] = {}
    for t in spec:
        if isinstance(t, Struct | Union) and t.name:
            original.setdefault((type(t), t.name), []).append(t)
    compared = 0
    for t in load_spec(tmp_path / "prog.o"):
        if not isinstance(t, Struct | Union) or not t.name:
            continue
        same_name = original.get((type(t), t.name), [])
        if len(same_name) != 1 or embeds_va_list(same_name[0]):
            continue
        before = same_name[0]
        assert t.size == before.size, t.name
        assert [(m.name, m.offset, m.bitfield_size) for m in t.members] == [
            (m.name, m.offset, m.bitfield_size) for m in before.members
        ], t.name
        compared += 1
    return compared


def embeds_va_list(t: Composite) -> bool:
    """``__builtin_va_list`` is the compiler's own: a pointer for BPF, 24 bytes on x86."""
    for m in t.members:
        mt = m.type
        while isinstance(mt, Typedef) and mt.name != "__builtin_va_list":
            mt = mt.type
        if isinstance(mt, Typedef):
            return True
        mt = underlying(mt)
        if isinstance(mt, Composite) and embeds_va_list(mt):
            return True
    return False


def test_testdata_layouts_survive_recompilation(obj_path: Path, tmp_path: Path) -> None:
    layouts_survive(load_spec(obj_path), tmp_path)


def test_testdata_matches_bpftool(obj_path: Path) -> None:
    mine = format_c(load_spec(obj_path))
    assert without_modes(mine) == without_modes(bpftool_c(obj_path))


def test_testdata_header_compiles(obj_path: Path, tmp_path: Path) -> None:
    compiles(format_c(load_spec(obj_path)), tmp_path)


@pytest.mark.parametrize("target", ["bpfel", "bpfeb"])
def test_rich_source(tmp_path: Path, target: str) -> None:
    # clang 15 and later: signed enums, ENUM64, type tags.
    cc = tool("clang-19", "clang-16")
    (tmp_path / "rich.c").write_text(RICH_SOURCE)
    obj = tmp_path / "rich.o"
    subprocess.run(
        [cc, "-target", target, "-g", "-O2", "-c", str(tmp_path / "rich.c"), "-o", str(obj)],
        check=True,
    )
    mine = format_c(load_spec(obj))
    assert without_modes(mine) == without_modes(bpftool_c(obj))
    assert "enum small {\n\tSMALL_A = 1,\n}" + MODE_BYTE in mine
    (tmp_path / "header").mkdir()
    compiles(mine, tmp_path / "header")


# Layouts bpftool's header gets wrong; each must survive recompilation.
LAYOUT_SOURCES = {
    # Found by the property test: a packed struct's tail gap, 56 bits to the
    # next long boundary and then a whole long, gets no aligning mark.
    "packed_tail_gap": """
struct s0 { char m0; long m1:49; int (*m2[1])(void*, long); } __attribute__((packed));
struct s1 { char m0; struct s0 m1; } __attribute__((aligned(16)));
""",
    # The same gap in the middle of a packed struct.
    "packed_middle_gap": """
struct mid { char a; int b; char c __attribute__((aligned(16))); } __attribute__((packed));
""",
    # An explicit `:0` before a bitfield: BTF has no member for it.
    "zero_width_before_bitfield": """
struct z1 { char a; int: 0; int b: 3; };
struct z2 { char a; long: 0; short b: 3; };
struct z3 { int x; long: 0; long y: 40; };
""",
    # An over-aligned union at an offset its alignment forbids.
    "aligned_union_in_packed_struct": """
union ua { char c; } __attribute__((aligned(16)));
struct pu { char c; union ua u; } __attribute__((packed));
struct wu { short s; struct pu p; };
""",
    # Unnamed bitfields give a union a size no attribute can.
    "union_unnamed_bitfields": """
union u1 { char a; int: 24; };
union u2 { short a; int: 24; } __attribute__((packed));
union u4 { short a; long: 40; };
struct h { char c; union u4 x; };
""",
    # A struct packed for a straddling bitfield has alignment 1 where it is held.
    "straddle_struct_embedded": """
struct st { char a; short b: 9; char c; } __attribute__((packed));
struct wst { char c; struct st s __attribute__((aligned(2))); };
""",
    # Tagged anonymous members (-fms-extensions, as Linux 6.19+ builds with):
    # 7.3's pipe_inode_info holds ``union pipe_index;``.
    "tagged_anonymous_member": """
union pipe_index { unsigned long head_tail; struct { unsigned short head, tail; }; };
struct pipe { int x; union pipe_index; int y; };
""",
}


@pytest.mark.parametrize("name", sorted(LAYOUT_SOURCES))
def test_layouts_bpftool_gets_wrong(name: str, tmp_path: Path) -> None:
    cc = tool("clang", "clang-19", "clang-16")
    source = LAYOUT_SOURCES[name]
    names = re.findall(r"^(struct|union) (\w+) \{", source, re.MULTILINE)
    (tmp_path / "layout.c").write_text(
        source + "".join(f"{kind} {tag} v{i};\n" for i, (kind, tag) in enumerate(names))
    )
    obj = tmp_path / "layout.o"
    flags = ["-g", "-O2", "-fms-extensions", "-Wno-microsoft-anon-tag"]
    subprocess.run(
        [cc, "-target", "bpf", *flags, "-c", str(tmp_path / "layout.c"), "-o", str(obj)],
        check=True,
    )
    (tmp_path / "header").mkdir()
    assert layouts_survive(load_spec(obj), tmp_path / "header") == len(names)


def kernel_header() -> str:
    """The C header of the running kernel's BTF (for ``kernel_files`` tests only)."""
    return format_c(load_spec(VMLINUX))


@pytest.mark.slow
@pytest.mark.kernel_files
def test_vmlinux_header_compiles_a_core_program(tmp_path: Path) -> None:
    if not Path("/usr/include/bpf/bpf_core_read.h").exists():
        pytest.skip("libbpf headers (bpf/bpf_core_read.h) are not installed")
    compiles(kernel_header(), tmp_path, CORE_PROGRAM)


@pytest.mark.slow
@pytest.mark.kernel_files
def test_vmlinux_layouts_survive_recompilation(tmp_path: Path) -> None:
    assert layouts_survive(load_spec(VMLINUX), tmp_path) > 1000


@pytest.mark.slow
@pytest.mark.kernel_files
def test_vmlinux_matches_bpftool() -> None:
    mine = kernel_header()
    theirs = bpftool_c(VMLINUX)
    assert without_modes(mine) == without_modes(theirs)
