"""Value codec figures: the map key/value hot path and a small struct record."""

from __future__ import annotations

import shutil
from pathlib import Path

from run import Bench

from pybpf.btf import Array, Int, IntEncoding, Member, Struct, load_spec
from pybpf.btf.cdump import format_c
from pybpf.btf.codec import cache_clear, codec_for

VMLINUX = Path("/sys/kernel/btf/vmlinux")


def run(bench: Bench) -> None:
    """Codec hot paths, a struct record, task_struct, and format_c of vmlinux."""
    u32 = Int("unsigned int", 4)
    u64 = Int("unsigned long long", 8)
    key, value = codec_for(u32, "little"), codec_for(u64, "little")
    k, v = key.encode(7), value.encode(1 << 40)

    def hot() -> None:
        key.decode(key.encode(7))
        value.decode(value.encode(1 << 40))

    bench.report("u32 key + u64 value: encode + decode", bench.time(hot), note="target <= 1 us")
    bench.report("u32 key encode", bench.time(lambda: key.encode(7)))
    bench.report("u64 value decode", bench.time(lambda: value.decode(v)))
    assert key.decode(k) == 7

    char = Int("char", 1, IntEncoding.SIGNED)
    s32 = Int("int", 4, IntEncoding.SIGNED)
    event = Struct(
        "event",
        32,
        [
            Member("pid", u32, 0),
            Member("tgid", u32, 32),
            Member("ts", u64, 64),
            Member("comm", Array(char, 16), 128),
        ],
    )
    codec = codec_for(event, "little")
    record = codec.decode(codec.encode({"pid": 1, "tgid": 1, "ts": 99, "comm": b"init"}))
    raw = codec.encode(record)
    bench.report(
        "struct event {u32,u32,u64,char[16]} encode", bench.time(lambda: codec.encode(record))
    )
    bench.report("struct event decode", bench.time(lambda: codec.decode(raw)))
    flags = Struct(
        "flags",
        8,
        [Member("a", u32, 0, 3), Member("b", s32, 3, 5), Member("c", u32, 32)],
    )
    fc = codec_for(flags, "little")
    fr = fc.decode(fc.encode({"a": 5, "b": -3, "c": 9}))
    fraw = fc.encode(fr)
    bench.report("struct with 2 bitfields encode", bench.time(lambda: fc.encode(fr)))
    bench.report("struct with 2 bitfields decode", bench.time(lambda: fc.decode(fraw)))

    if not VMLINUX.exists():
        return
    spec = load_spec(VMLINUX)
    task = spec.type_by_name("task_struct", Struct)

    def compile_task() -> None:
        cache_clear()
        codec_for(task, "little")

    bench.report("codec_for(task_struct), uncached", bench.time(compile_task, number=1))
    tc = codec_for(task, "little")
    raw_task = bytes(tc.size)
    bench.report("task_struct (3264 bytes) decode", bench.time(lambda: tc.decode(raw_task)))

    # The C dump of the kernel's types, paired with bpftool dumping the same file.
    if shutil.which("bpftool") is None:
        return
    bpftool = bench.process(["bpftool", "btf", "dump", "file", str(VMLINUX), "format", "c"])
    bench.compare(
        "format_c(vmlinux), load included",
        bench.in_process(lambda: format_c(load_spec(VMLINUX)), number=1),
        bpftool,
        baseline_name="bpftool process",
    )
    bench.compare(
        "format_c(vmlinux), types decoded",
        bench.in_process(lambda: format_c(spec), number=1),
        bpftool,
        baseline_name="bpftool process",
    )
