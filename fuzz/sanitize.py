"""The compiled BTF dumps and readers under AddressSanitizer and UndefinedBehaviorSanitizer.

atheris measures the coverage of Python code only, so the C of
``_pybpf_btf_cdump`` (the C header dump) and of ``_pybpf_btf_scan``'s
``dump`` (bpftool's raw text and JSON), ``pointer_members`` and
``ext_tables`` (``.BTF.ext``) is barely explored by ``nox -s fuzz``.
This tool compiles both modules with ``-fsanitize=address,undefined`` into a
temporary folder, puts that folder first on the module path, runs Python again
with libasan preloaded, then either runs their cross-check tests
(``--tests``) or mutates the BTF of ``testdata/`` (and slices of the running
kernel's BTF) for a number of seconds. Each mutated blob goes through the
compiled entry points directly (with hostile counts, offsets and ranges too)
and through the dumps, whose text must be the Python code's, or the compiled
code must decline (None) where the Python code raises ``BTFError``. The
``.BTF.ext`` sections of ``testdata/`` are mutated too: read against their
object's BTF, the compiled scan's tables must be the Python reading's, or
its error the same. Any
sanitizer report aborts the run; any other disagreement is printed with the
blob (hex) and counted.

    .nox/tests/bin/python fuzz/sanitize.py --tests [-k EXPRESSION]
    .nox/tests/bin/python fuzz/sanitize.py 600 --seed 1

The normal build of pybpf-core is untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "packages" / "pybpf-core" / "src" / "pybpf" / "core" / "_csrc"
MODULES = {"_pybpf_btf_cdump": "btf_cdump.c", "_pybpf_btf_scan": "btf_scan.c"}
FLAGS = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
    "-shared",
    "-fPIC",
]
# Seconds the compiled dump of one (at most 100 KB) blob may take, under the sanitizers.
SLOW = 5.0
# Set in the child run: the folder of the sanitized modules.
BUILT_ENV = "PYBPF_SANITIZED_MODULES"
TESTS = [
    "packages/pybpf-btf/tests/test_cdump_compiled.py",
    "packages/pybpf-btf/tests/test_raw_records_compiled.py",
    "packages/pybpf-btf/tests/test_scan.py",
    "packages/pybpf-btf/tests/test_pointer_members.py",
    "packages/pybpf-btf/tests/test_ext_compiled.py",
]
#: The share of mutated inputs that are a .BTF.ext section, not a BTF blob.
EXT_SHARE = 0.2
BOUNDARY = [
    0,
    1,
    2,
    3,
    0x7F,
    0x80,
    0xFF,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    0xFFFFF,
    0x100000,
    0xFFFFFF,
    0x1000000,
]


def build(folder: Path) -> None:
    """Compile both modules with the sanitizers into ``folder``."""
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for name, source in MODULES.items():
        out = folder / f"{name}{suffix}"
        subprocess.run(
            ["gcc", *FLAGS, f"-I{include}", str(CSRC / source), "-o", str(out)], check=True
        )


def libasan() -> str:
    """The path of gcc's AddressSanitizer runtime, to preload."""
    found = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if not os.path.isabs(found):
        raise SystemExit("gcc has no libasan.so: install libasan")
    return found


def relaunch(argv: list[str]) -> int:
    """Build the modules and run this script again with them and libasan."""
    folder = Path(tempfile.mkdtemp(prefix="pybpf-asan-"))
    try:
        build(folder)
        env = dict(os.environ)
        env.update(
            LD_PRELOAD=libasan(),
            # Python's own allocations leak by design at exit; CPython's
            # small-object allocator would hide overflows of its blocks.
            ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1",
            UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
            PYTHONMALLOC="malloc",
            PYTHONPATH=os.pathsep.join([str(folder), env.get("PYTHONPATH", "")]),
            PYBPF_ROOT=str(ROOT),
        )
        env[BUILT_ENV] = str(folder)
        return subprocess.run([sys.executable, __file__, *argv], env=env, check=False).returncode
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_modules() -> None:
    """Make sure the sanitized modules, not the installed ones, are imported."""
    import importlib  # noqa: PLC0415

    folder = os.environ[BUILT_ENV]
    for name in MODULES:
        module = importlib.import_module(name)
        if not str(module.__file__).startswith(folder):
            raise SystemExit(f"{name} comes from {module.__file__}, not the sanitized build")


# --- the mutation loop --------------------------------------------------------------------


def seed_blobs() -> list[bytes]:
    """The ``.BTF`` of the objects in testdata, the hostile seeds, and kernel BTF slices."""
    sys.path.insert(0, str(Path(__file__).parent))
    from seeds import seeds  # noqa: PLC0415

    blobs = list(dict.fromkeys(seeds("dump")))
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if vmlinux.exists():
        blobs += list(kernel_slices(vmlinux.read_bytes()))
    return blobs


def kernel_slices(data: bytes, pieces: int = 24, records: int = 400) -> Iterator[bytes]:
    """Runs of the kernel's records as blobs of their own (ids beyond them dangle)."""
    from pybpf.btf import load_spec  # noqa: PLC0415

    raw = load_spec(data)._raw
    assert raw is not None
    words = bytes(raw.words)
    offsets = list(raw.offsets)
    strings = raw.strings
    rng = random.Random(0)
    starts = [0] + [rng.randrange(len(offsets) - records) for _ in range(pieces - 1)]
    for start in starts:
        stop = min(start + records, len(offsets))
        yield compacted(words, offsets[start:stop], strings)


# Per kind with named items: (words before the items, words per item).
_NAMED_ITEMS = {4: (3, 3), 5: (3, 3), 6: (3, 2), 13: (3, 2), 19: (3, 3)}
_FIXED = {1: 4, 3: 6, 14: 4, 17: 4, 15: 3}
_PER_ITEM = {4: 3, 5: 3, 6: 2, 13: 2, 15: 3, 19: 3}


def compacted(words: bytes, offsets: list[int], strings: bytes) -> bytes:
    """The records at ``offsets`` as a blob, with a string table of their names only."""
    out = bytearray()
    table = bytearray(b"\0")
    moved: dict[int, int] = {0: 0}

    def name(at: int) -> None:
        old = struct.unpack_from("=I", out, at)[0]
        if old not in moved:
            end = strings.index(b"\0", old)
            moved[old] = len(table)
            table.extend(strings[old : end + 1])
        struct.pack_into("=I", out, at, moved[old])

    for word in offsets:
        info = struct.unpack_from("=I", words, 4 * word + 4)[0]
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        length = _FIXED.get(kind, 3) + _PER_ITEM.get(kind, 0) * vlen
        at = len(out)
        out += words[4 * word : 4 * (word + length)]
        name(at)
        if kind in _NAMED_ITEMS:
            fixed, per = _NAMED_ITEMS[kind]
            for item in range(vlen):
                name(at + 4 * (fixed + per * item))
    return blob(bytes(out), bytes(table))


def split_pairs(blobs: list[bytes], most: int = 12) -> Iterator[tuple[bytes, bytes]]:
    """(base, split) pairs: a seed as the base, and types over its named ones."""
    from pybpf.btf import (  # noqa: PLC0415
        BTFError,
        Enum,
        EnumValue,
        Member,
        Pointer,
        Spec,
        Struct,
        Typedef,
        load_spec,
    )
    from pybpf.btf.marshal import marshal  # noqa: PLC0415

    made = 0
    for base_blob in blobs:
        try:
            base = load_spec(base_blob)
            named = [t for t in base if t.name][:6]
        except BTFError:
            continue
        if not named or made == most:
            continue
        split = Spec(base=base)
        for t in named:
            split.add(Typedef(t.name, Pointer(t)))
            split.add(Struct(t.name, 8, [Member("p", Pointer(t), 0)]))
        split.add(Enum("", 4, [EnumValue("A", 1)]))
        yield base_blob, marshal(split)
        made += 1


def blob(types: bytes, strings: bytes) -> bytes:
    """Little-endian raw BTF of a type section and a string table."""
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return header + types + strings


def records(data: bytes) -> list[int]:
    """The byte offsets of a blob's records in ``data`` (none when it does not parse)."""
    from pybpf.btf import BTFError, load_spec  # noqa: PLC0415

    try:
        raw = load_spec(data)._raw
    except BTFError:
        return []
    if raw is None:
        return []
    type_off = 24 + struct.unpack_from("<I", data, 12)[0]
    return [type_off + 4 * at for at in raw.offsets]


def mutate(rng: random.Random, data: bytes, starts: list[int]) -> bytes:
    """One hostile variant of ``data``: a few edits of the kinds raw BTF breaks by."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
        choice = rng.randrange(10)
        if choice == 0 and out:  # a bit flip
            at = rng.randrange(len(out))
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1 and len(out) >= 4:  # a word set to a boundary value
            at = rng.randrange(len(out) - 3) & ~3
            struct.pack_into("<I", out, at, rng.choice(BOUNDARY))
        elif choice == 2 and len(out) > 24:  # truncation (the header may or may not follow)
            del out[rng.randrange(24, len(out)) :]
            if rng.random() < 0.5:
                fix_header(out)
        elif choice == 3 and len(out) >= 24:  # a header field set to a boundary value
            struct.pack_into("<I", out, 8 + 4 * rng.randrange(4), rng.choice(BOUNDARY))
        elif starts:  # a record's fields
            at = rng.choice(starts)
            if at + 12 > len(out):
                continue
            name, info, size_type = struct.unpack_from("<III", out, at)
            n = len(starts)
            if choice == 4:  # vlen inflated (or deflated)
                vlen = rng.choice(((info & 0xFFFF) + rng.randrange(1, 4), 0, 0xFFFF, 1))
                info = (info & ~0xFFFF) | (vlen & 0xFFFF)
            elif choice == 5:  # another kind, kind_flag maybe
                info = (info & ~0x1F000000) | (rng.randrange(32) << 24)
                if rng.random() < 0.3:
                    info ^= 1 << 31
            elif choice == 6:  # a reference to itself, or to another record
                index = starts.index(at) + 1
                size_type = rng.choice((index, rng.randrange(n + 2), n + 1, 0, 0xFFFFF))
            elif choice == 7:  # a name off the table, or into the middle of one
                name = rng.choice((rng.randrange(1 << 12), 0xFFFFFF, 0xFFFFFFFF, name + 1))
            elif choice == 8:  # a cycle between two records
                other = rng.choice(starts)
                if other + 12 > len(out):
                    continue
                struct.pack_into("<I", out, other + 8, starts.index(at) + 1)
                size_type = starts.index(other) + 1
            else:  # an item word after the record's head
                item = at + 12 + 4 * rng.randrange(8)
                if item + 4 <= len(out):
                    struct.pack_into("<I", out, item, rng.choice([*BOUNDARY, 1, 2, n, n + 1]))
            struct.pack_into("<III", out, at, name, info, size_type)
    if rng.random() < 0.05 and len(out) > 24:  # splice a random run onto itself
        a, b = sorted(rng.randrange(24, len(out)) for _ in range(2))
        out[a:a] = out[a:b]
        fix_header(out)
    return bytes(out)


def fix_header(out: bytearray) -> None:
    """Make a little-endian header's sections fit the blob again, strings last."""
    if len(out) < 24 or out[:2] != b"\x9f\xeb":
        return
    type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", out, 8)
    body = len(out) - 24
    str_len = max(0, min(str_len, body - str_off)) if str_off <= body else 0
    type_len = max(0, min(type_len, body - type_off)) if type_off <= body else 0
    struct.pack_into("<IIII", out, 8, type_off, type_len, str_off, str_len)


class Oracle:
    """The dumps of one blob, compiled and in Python, compared."""

    def __init__(self) -> None:
        import importlib  # noqa: PLC0415

        from pybpf.btf import BTFError, cdump, load_spec, parse  # noqa: PLC0415
        from pybpf.btf.raw_records import record_json, record_text  # noqa: PLC0415

        self.BTFError = BTFError
        self.cdump = cdump
        self.load_spec = load_spec
        self.parse = parse
        self.record_text = record_text
        self.record_json = record_json
        self.cmod = importlib.import_module("_pybpf_btf_cdump")
        self.smod = importlib.import_module("_pybpf_btf_scan")
        # The two readings of .BTF.ext, as the cross-check tests compare them;
        # small blobs go through the compiled scan too.
        sys.path.insert(0, str(ROOT / "packages" / "pybpf-btf" / "tests"))
        self.ext_tests: Any = importlib.import_module("test_ext_compiled")
        parse._SCAN_COMPILED_FROM = 0
        self.failures = 0
        self.base: bytes | None = None
        # Blobs that loaded, and of those the ones the compiled dump wrote.
        self.loaded = 0
        self.written = 0

    def report(self, what: str, data: bytes) -> None:
        """Print a disagreement and the blob that makes it."""
        self.failures += 1
        over = "" if self.base is None else f" (split over {self.base.hex()})"
        print(f"MISMATCH {what}: {data.hex()}{over}", flush=True)

    def load(self, data: bytes) -> Any:
        """``data`` as a spec, over a fresh (untouched) load of the base when split."""
        base = None if self.base is None else self.load_spec(self.base)
        return self.load_spec(data, base=base)

    def check(self, data: bytes, rng: random.Random, base: bytes | None = None) -> None:
        """Everything about one blob (split over ``base``): direct hostile calls, cross-checks."""
        self.base = base
        self.direct(data, rng)
        try:
            spec = self.load(data)
        except self.BTFError:
            return
        except Exception as e:  # a bug of its own: report, go on
            self.report(f"load_spec raised {type(e).__name__}: {e}", data)
            return
        self.loaded += 1
        self.c_dump(data)
        self.record_dumps(data)
        self.pointer_members(spec, data)
        del spec

    def pointer_members(self, spec: Any, data: bytes) -> None:
        """Every type's ``Spec.pointer_members``, from the compiled scan and in Python."""
        raw = spec._raw
        if raw is None:
            return
        for type_id in range(spec.next_id + 1):
            try:
                made = spec.pointer_members(type_id)
                reference = spec._pointer_members(raw, type_id)
            except Exception as e:
                self.report(f"pointer_members({type_id}) raised {type(e).__name__}: {e}", data)
                return
            if made != reference:
                self.report(f"pointer_members({type_id}): {made} != {reference}", data)
                return

    def ext(self, ext: bytes, btf: bytes, rng: random.Random) -> None:
        """A ``.BTF.ext`` section read by the compiled scan and in Python: the same outcome."""
        self.ext_direct(ext, btf, rng)
        try:
            made = self.ext_tests.outcome(ext, btf, python=False)
            reference = self.ext_tests.outcome(ext, btf, python=True)
        except Exception as e:
            self.report(f".BTF.ext reading raised {type(e).__name__}: {e}", ext)
            return
        if made != reference:
            self.report(f".BTF.ext readings differ: {made!r:.200} / {reference!r:.200}", ext)

    def ext_direct(self, ext: bytes, btf: bytes, rng: random.Random) -> None:
        """``ext_tables`` called with hostile types, record offsets and string ends."""
        words = btf[24:][: rng.randrange(len(btf)) & ~3]
        n = len(words) // 4
        offsets = struct.pack(
            "=8I",
            *(
                rng.choice((rng.randrange(n + 4), n, n - 1, 0xFFFFFFFF)) & 0xFFFFFFFF
                for _ in range(8)
            ),
        )[: 4 * rng.randrange(9)]
        self.smod.ext_tables(
            ext,
            words,
            offsets,
            rng.choice((1, 0, 0x7FFFFFFF, -1)),
            rng.choice((0, len(btf), 0x7FFFFFFF, -1)),
        )

    def _python(self, fn: Callable[[], object]) -> object:
        os.environ["PYBPF_BTF_CDUMP"] = "python"
        os.environ["PYBPF_BTF_SCAN"] = "python"
        self.parse._compiled_scan.cache_clear()
        try:
            return fn()
        except self.BTFError as e:
            return e
        finally:
            del os.environ["PYBPF_BTF_CDUMP"]
            del os.environ["PYBPF_BTF_SCAN"]
            self.parse._compiled_scan.cache_clear()

    def c_dump(self, data: bytes) -> None:
        """The C header dump, compiled and in Python."""
        spec = self.load(data)
        took = time.monotonic()
        try:
            compiled = self.cdump._compiled_dump(spec, spec.pointer_size or 8)
        except Exception as e:
            self.report(f"compiled dump_c raised {type(e).__name__}: {e}", data)
            return
        took = time.monotonic() - took
        if took > SLOW:
            self.report(f"compiled dump_c took {took:.1f} s", data)
        try:
            reference = self._python(lambda: self.cdump.dump_c(self.load(data)))
        except Exception as e:
            self.report(f"Python dump_c raised {type(e).__name__}: {e}", data)
            return
        self.written += compiled is not None
        if compiled is not None and compiled != reference:
            kind = "raised BTFError" if isinstance(reference, self.BTFError) else "differs"
            self.report(f"dump_c: C wrote text where Python {kind}", data)

    def _records(self, data: bytes) -> object:
        raw = "".join(text for _, text in self.record_text(self.load(data)) or ())
        return raw, "".join(self.record_json(self.load(data)) or ())

    def record_dumps(self, data: bytes) -> None:
        """The raw text and JSON of bpftool, from the compiled scan and in Python."""
        try:
            made = self._records(data)
        except self.BTFError as e:
            made = e
        except Exception as e:
            self.report(f"compiled raw/JSON dumps raised {type(e).__name__}: {e}", data)
            return
        try:
            reference = self._python(lambda: self._records(data))
        except Exception as e:
            self.report(f"Python raw/JSON dumps raised {type(e).__name__}: {e}", data)
            return
        if isinstance(made, self.BTFError) and isinstance(reference, self.BTFError):
            if str(made) != str(reference):
                self.report(f"raw/JSON errors differ: {made!s} / {reference!s}", data)
        elif made != reference:
            self.report("raw/JSON dumps differ", data)

    def direct(self, data: bytes, rng: random.Random) -> None:
        """The entry points called as no caller in pybpf would: they may refuse, not crash."""
        if len(data) < 24:
            return
        body = data[24:]
        cut = rng.randrange(len(body) + 1) & ~3
        words, strings = body[:cut], body[cut:]
        count = rng.choice(
            (len(words) // 12, rng.randrange(len(words) // 12 + 2), 0, 1, 0x7FFFFFFE, 0xFFFFFFFF)
        )
        base = rng.choice((0, 0, rng.randrange(count + 1) if count < 1 << 20 else 1))
        base_str = rng.choice((0, len(strings), rng.randrange(len(strings) + 1)))
        ptr = rng.choice((8, 8, 4, 0, 3))
        with contextlib.suppress(ValueError, OverflowError, MemoryError):
            self.cmod.dump_c(words, strings, count, ptr, base, base_str)
        n = len(words) // 4
        offsets = struct.pack(
            "=8I",
            *(
                rng.choice((rng.randrange(n + 4), n, n - 1, n - 2, 0xFFFFFFFF, 0x80000000))
                & 0xFFFFFFFF
                for _ in range(8)
            ),
        )[: 4 * rng.randrange(9)]
        nrec = len(offsets) // 4
        # The types decoded so far, by index: some of the records, or none.
        decoded = {rng.randrange(nrec + 2): object() for _ in range(rng.randrange(3))}
        self.smod.pointer_members(
            words,
            offsets,
            decoded,
            rng.choice((1, 0, 0x7FFFFFFF)),
            rng.choice((rng.randrange(nrec + 2), 0, 0xFFFFFFFF)),
            (rng.randrange(1 << 32), 2, 3, 4),
        )
        start = rng.randrange(nrec + 1)
        stop = rng.randrange(start, nrec + 1)
        for as_json in (False, True):
            with contextlib.suppress(ValueError):
                self.smod.dump(
                    words,
                    offsets,
                    strings,
                    rng.choice((0, len(strings), 0xFFFFFFFF)),
                    rng.choice((1, 0, 0xFFFFFFFF, 0x80000000)),
                    start,
                    stop,
                    as_json,
                )


def mutation_loop(seconds: float, seed: int) -> int:
    """Mutate the seeds for ``seconds``; the number of disagreements found."""
    rng = random.Random(seed)
    oracle = Oracle()
    blobs = seed_blobs()
    starts = {i: records(b) for i, b in enumerate(blobs)}
    pairs = list(split_pairs(blobs))
    print(f"{len(blobs)} seed blobs, {len(pairs)} split pairs", flush=True)
    deadline = time.monotonic() + seconds
    tried = 0
    for data in blobs:
        oracle.check(data, rng)
    for base, data in pairs:
        oracle.check(data, rng, base)
    # The .BTF.ext and .BTF of each testdata object with both, as the cross-check tests read them.
    exts = [oracle.ext_tests.sections(path) for path in oracle.ext_tests.OBJECTS]
    for ext, btf in exts:
        oracle.ext(ext, btf, rng)
    while time.monotonic() < deadline:
        if exts and rng.random() < EXT_SHARE:  # .BTF.ext: the section mutated, its BTF kept
            ext, btf = rng.choice(exts)
            oracle.ext(mutate(rng, ext, []), btf, rng)
        elif pairs and rng.random() < 0.25:  # split BTF: the split blob mutated, the base kept
            base, data = rng.choice(pairs)
            oracle.check(mutate(rng, data, []), rng, base)
        else:
            i = rng.randrange(len(blobs))
            oracle.check(mutate(rng, blobs[i], starts[i]), rng)
        tried += 1
        if tried % 2000 == 0:
            print(f"{tried} inputs, {oracle.failures} disagreements", flush=True)
    print(
        f"done: {tried} inputs in {seconds:.0f} s ({oracle.loaded} loaded, "
        f"{oracle.written} dumped in C), {oracle.failures} disagreements",
        flush=True,
    )
    return oracle.failures


def main() -> int:
    """Build and relaunch, or (relaunched) run the tests or the mutation loop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--tests", action="store_true", help="run the cross-check tests")
    parser.add_argument("-k", dest="select", help="with --tests: pytest's -k")
    args = parser.parse_args()
    if BUILT_ENV not in os.environ:
        return relaunch(sys.argv[1:])
    check_modules()
    if args.tests:
        import pytest  # noqa: PLC0415

        os.chdir(ROOT)
        return int(
            pytest.main(
                [
                    "-q",
                    "-s",
                    "-p",
                    "no:cacheprovider",
                    *TESTS,
                    *(["-k", args.select] if args.select else []),
                ]
            )
        )
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    print(f"seed {seed}", flush=True)
    return 1 if mutation_loop(args.seconds, seed) else 0


if __name__ == "__main__":
    sys.exit(main())
