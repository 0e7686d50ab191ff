"""Instructions.tag() against the tag the running kernel reports for the same program."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import struct
from pathlib import Path
from types import ModuleType
from typing import Literal

import pytest

from pybpf import asm
from pybpf.asm import R0, R1, R2, R10, Helper


def uapi(layer: str) -> ModuleType:
    """A layer's generated ``_uapi`` module, without importing the layer itself."""
    spec = importlib.util.find_spec(f"pybpf.{layer}")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "_uapi.py"
    else:
        # Not installed: take it from the monorepo checkout next to this package.
        path = Path(__file__).resolve().parents[2] / f"pybpf-{layer}/src/pybpf/{layer}/_uapi.py"
    if not path.exists():
        pytest.skip(f"pybpf.{layer} is not installed")
    module_spec = importlib.util.spec_from_file_location(f"_pybpf_{layer}_uapi", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


NR_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
_libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    assert NR_BPF is not None
    fd = int(_libc.syscall(NR_BPF, cmd, attr, len(attr)))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


def create_array_map(value_size: int) -> int:
    core, elf = uapi("core"), uapi("elf")
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("<IIII", attr, 0, elf.MapType.ARRAY, 4, value_size, 1)
    return bpf(core.Command.MAP_CREATE, attr)


def load_socket_filter(code: bytes) -> int:
    core, elf = uapi("core"), uapi("elf")
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 16)
    attr = ctypes.create_string_buffer(128)
    struct.pack_into(
        "<IIQQIIQ",
        attr,
        0,
        elf.ProgramType.SOCKET_FILTER,
        len(code) // 8,
        ctypes.addressof(insns),
        ctypes.addressof(license_),
        1,
        len(log),
        ctypes.addressof(log),
    )
    try:
        return bpf(core.Command.PROG_LOAD, attr)
    except OSError as err:
        raise AssertionError(f"load failed: {err}\n{log.value.decode()}") from None


def kernel_tag(prog_fd: int) -> str:
    core = uapi("core")
    info = ctypes.create_string_buffer(256)
    attr = ctypes.create_string_buffer(16)
    struct.pack_into("<IIQ", attr, 0, prog_fd, len(info), ctypes.addressof(info))
    bpf(core.Command.OBJ_GET_INFO_BY_FD, attr)
    # struct bpf_prog_info: __u32 type, __u32 id, __u8 tag[8], ...
    return info.raw[8:16].hex()


def program() -> asm.Instructions:
    return asm.Instructions(
        [
            asm.symbol("main"),
            asm.store(R10, -4, 0, size=4),
            asm.mov(R2, R10),
            asm.add(R2, -4),
            asm.ld_map_fd(R1, "counters"),
            asm.call(Helper.map_lookup_elem),
            asm.jeq(R0, 0, "out"),
            asm.ld_map_value(R1, "counters", 0),
            asm.load(R2, R1, 0),
            asm.call("helper"),
            asm.label("out"),
            asm.mov(R0, 0),
            asm.exit(),
            asm.symbol("helper"),
            asm.mov(R0, 1),
            asm.exit(),
        ]
    )


def kernel_tag_algorithm() -> Literal["sha256", "sha1"]:
    """The hash behind the running kernel's tags: SHA-256 from Linux 6.18, SHA-1 before."""
    release = tuple(int(part) for part in platform.release().split("-")[0].split(".")[:2])
    return "sha256" if release >= (6, 18) else "sha1"


@pytest.mark.kernel
def test_tag_matches_kernel() -> None:
    map_fd = create_array_map(8)
    try:
        insns = program()
        insns.resolve_references()
        for insn in insns:
            if insn.is_load_from_map:
                insn.set_map_fd(map_fd)
        prog_fd = load_socket_filter(insns.encode())
        try:
            assert insns.tag(algorithm=kernel_tag_algorithm()) == kernel_tag(prog_fd)
            assert insns.matches_tag(kernel_tag(prog_fd))
        finally:
            os.close(prog_fd)
    finally:
        os.close(map_fd)


def test_tag_ignores_map_fds() -> None:
    one, two = program(), program()
    for insns, fd in ((one, 3), (two, 42)):
        insns.resolve_references()
        for insn in insns:
            if insn.is_load_from_map:
                insn.set_map_fd(fd)
    assert one.encode() != two.encode()
    assert one.tag() == two.tag()
    assert one.tag(algorithm="sha1") == two.tag(algorithm="sha1")
    assert one.tag("big") == two.tag("big") != one.tag()
    assert one.tag() != one.tag(algorithm="sha1")
    assert len(one.tag()) == 16


def test_tag_of_two_instructions() -> None:
    # The tag of "r0 = 0; exit" as Linux 6.18 reports it (bpftool prog show).
    insns = asm.Instructions([asm.mov(R0, 0), asm.exit()])
    assert insns.tag() == "59f4a931744dcdc6"
    assert insns.matches_tag("59F4A931744DCDC6")
    assert insns.matches_tag(insns.tag(algorithm="sha1"))
    assert not insns.matches_tag("0000000000000000")


def test_tag_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        asm.Instructions([asm.exit()]).tag(algorithm="md5")  # type: ignore[arg-type]
