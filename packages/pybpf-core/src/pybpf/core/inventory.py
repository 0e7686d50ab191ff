"""Every program, map and BTF object in the kernel, and what a loaded program consists of.

The kernel hands out objects by id (``BPF_*_GET_NEXT_ID``); an object can
go away between being listed and being opened, and such ids are skipped.
:func:`program_code` reads back what the verifier made of a program: the
translated instructions, the JIT's machine code and the line info that maps
instructions to source lines.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from pybpf.core import _cmds, _sys
from pybpf.core._kernel_btf import BTFInfo, btf_info, open_btf, read_btf
from pybpf.core._uapi import Command
from pybpf.core.errors import BPFError
from pybpf.core.fd import FD
from pybpf.core.info import MapInfo
from pybpf.core.prog_info import ProgramInfo

__all__ = [
    "BTFInfo",
    "ProgramCode",
    "SourceLine",
    "btf_ids",
    "btf_objects",
    "map_ids",
    "maps",
    "program_code",
    "program_ids",
    "programs",
]


def _ids(cmd: Command) -> Iterator[int]:
    cur = 0
    while True:
        nxt = _cmds.get_next_id(cmd, cur)
        if nxt is None:
            return
        yield nxt
        cur = nxt


def program_ids() -> Iterator[int]:
    """Every loaded program's id, in increasing order (``BPF_PROG_GET_NEXT_ID``)."""
    return _ids(Command.PROG_GET_NEXT_ID)


def map_ids() -> Iterator[int]:
    """Every map's id, in increasing order (``BPF_MAP_GET_NEXT_ID``)."""
    return _ids(Command.MAP_GET_NEXT_ID)


def btf_ids() -> Iterator[int]:
    """Every BTF object's id, in increasing order (``BPF_BTF_GET_NEXT_ID``)."""
    return _ids(Command.BTF_GET_NEXT_ID)


def _open(cmd: Command, obj_id: int, what: str) -> FD | None:
    try:
        return _cmds.get_fd_by_id(cmd, obj_id, 0, what)
    except BPFError as e:
        if e.errno == errno.ENOENT:
            return None  # gone since it was listed
        raise


def programs() -> Iterator[ProgramInfo]:
    """What the kernel says about each loaded program, in id order."""
    for prog_id in program_ids():
        fd = _open(Command.PROG_GET_FD_BY_ID, prog_id, "open program id")
        if fd is not None:
            with fd:
                yield ProgramInfo.from_fd(fd)


def maps() -> Iterator[MapInfo]:
    """What the kernel says about each map, in id order."""
    for map_id in map_ids():
        fd = _open(Command.MAP_GET_FD_BY_ID, map_id, "open map id")
        if fd is not None:
            with fd:
                yield MapInfo.from_fd(fd)


def btf_objects() -> Iterator[BTFInfo]:
    """What each BTF object in the kernel is (vmlinux, a module's, or loaded), in id order."""
    for btf_id in btf_ids():
        try:
            fd = open_btf(btf_id)
        except BPFError as e:
            if e.errno == errno.ENOENT:
                continue
            raise
        with fd:
            yield btf_info(fd)


#: One source line: (file, line number, column, text).
SourceLine = tuple[str, int, int, str]

_LINE_INFO = struct.Struct("=IIII")  # insn_off, file_name_off, line_off, line_col
_BTF_HEADER = struct.Struct("=HBBIIIII")  # magic, version, flags, hdr_len, type/str off+len


@dataclass(frozen=True)
class ProgramCode:
    """A loaded program as the kernel keeps it."""

    #: The translated instructions, as the kernel's byte order encodes them.
    xlated: bytes
    #: The JIT's machine code (empty without the JIT).
    jited: bytes
    #: Source lines by instruction slot, from the kernel's copy of the line info.
    lines: dict[int, SourceLine]


def _strings(btf: bytes) -> bytes:
    _magic, _version, _flags, hdr_len, _toff, _tlen, str_off, str_len = _BTF_HEADER.unpack_from(btf)
    start = hdr_len + str_off
    return btf[start : start + str_len]


def _string(strings: bytes, offset: int) -> str:
    end = strings.find(b"\0", offset)
    return strings[offset : end if end >= 0 else None].decode("utf-8", "replace")


def program_code(prog_id: int) -> ProgramCode:
    """The translated instructions, JIT code and line info of program ``prog_id``.

    Line info needs the program's BTF (loaded with it); without, ``lines``
    is empty. The kernel zeroes the instructions' addresses (and gives no JIT
    code) unless the caller may see kernel addresses (``kptr_restrict``).
    """
    ffi = _sys.ffi
    with _cmds.get_fd_by_id(Command.PROG_GET_FD_BY_ID, prog_id, 0, "open program id") as fd:
        what = f"program id {prog_id}"
        first = _cmds.new_info("prog")
        _cmds.obj_info(fd, first, what)
        xlated = ffi.new("uint8_t[]", max(int(first.xlated_prog_len), 1))
        jited = ffi.new("uint8_t[]", max(int(first.jited_prog_len), 1))
        count, rec_size = int(first.nr_line_info), int(first.line_info_rec_size)
        lines = ffi.new("uint8_t[]", max(count * rec_size, 1))
        info = _cmds.new_info("prog")
        info.xlated_prog_len = first.xlated_prog_len
        info.xlated_prog_insns = _sys.addr(xlated)
        info.jited_prog_len = first.jited_prog_len
        info.jited_prog_insns = _sys.addr(jited)
        if count:
            info.nr_line_info = count
            info.line_info_rec_size = rec_size
            info.line_info = _sys.addr(lines)
        _cmds.obj_info(fd, info, what)
        btf_id = int(info.btf_id)
        xlated_bytes = bytes(ffi.buffer(xlated, int(info.xlated_prog_len)))
        jited_bytes = bytes(ffi.buffer(jited, int(info.jited_prog_len)))
        raw_lines = bytes(ffi.buffer(lines, count * rec_size))
    sources: dict[int, SourceLine] = {}
    if count and btf_id and rec_size >= _LINE_INFO.size:
        with open_btf(btf_id) as btf_fd:
            strings = _strings(read_btf(btf_fd, btf_info(btf_fd, with_name=False).size))
        for i in range(count):
            off, file_off, line_off, line_col = _LINE_INFO.unpack_from(raw_lines, i * rec_size)
            text = _string(strings, line_off)
            file = _string(strings, file_off)
            sources[off] = (file, line_col >> 10, line_col & 0x3FF, text)
    return ProgramCode(xlated_bytes, jited_bytes, sources)
