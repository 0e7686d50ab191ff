"""Ext infos in the form ``BPF_PROG_LOAD`` takes them.

The kernel wants arrays of ``struct bpf_func_info {u32 insn_off, type_id}``,
``struct bpf_line_info {u32 insn_off, file_name_off, line_off, line_col}``
(offsets in instructions, string offsets into the BTF loaded with the
program) and ``struct bpf_core_relo {u32 insn_off, type_id, access_str_off,
kind}`` (offset in bytes), in the machine's byte order.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Sequence

from pybpf.btf.ext.records import CORERelocation, FuncInfo, LineInfo
from pybpf.btf.types import Type

__all__ = [
    "CORE_RELO_SIZE",
    "FUNC_INFO_SIZE",
    "LINE_INFO_SIZE",
    "encode_core_relocations",
    "encode_func_infos",
    "encode_line_infos",
]

#: ``sizeof(struct bpf_func_info)``: the ``func_info_rec_size`` of ``BPF_PROG_LOAD``.
FUNC_INFO_SIZE = 8
#: ``sizeof(struct bpf_line_info)``: the ``line_info_rec_size`` of ``BPF_PROG_LOAD``.
LINE_INFO_SIZE = 16
#: ``sizeof(struct bpf_core_relo)``: the ``core_relo_rec_size`` of ``BPF_PROG_LOAD``.
CORE_RELO_SIZE = 16

_PREFIX = {"little": "<", "big": ">"}


def encode_func_infos(
    records: Sequence[FuncInfo], type_id: Callable[[Type], int], byteorder: str = sys.byteorder
) -> bytes:
    """The ``func_info`` array: ``type_id`` gives the id of each function in the loaded BTF."""
    rec = struct.Struct(_PREFIX[byteorder] + "II")
    return b"".join(rec.pack(r.offset, type_id(r.func)) for r in records)


def encode_line_infos(
    records: Sequence[LineInfo], string_offset: Callable[[str], int], byteorder: str = sys.byteorder
) -> bytes:
    """The ``line_info`` array: ``string_offset`` places file names and lines in the loaded BTF."""
    rec = struct.Struct(_PREFIX[byteorder] + "IIII")
    return b"".join(
        rec.pack(r.offset, string_offset(r.file), string_offset(r.line), r.line_col)
        for r in records
    )


def encode_core_relocations(
    records: Sequence[CORERelocation],
    type_id: Callable[[Type], int],
    string_offset: Callable[[str], int],
    byteorder: str = sys.byteorder,
) -> bytes:
    """The ``core_relos`` array, for a kernel that relocates itself (offsets in bytes)."""
    rec = struct.Struct(_PREFIX[byteorder] + "IIII")
    return b"".join(
        rec.pack(r.offset * 8, type_id(r.type), string_offset(r.access_string), int(r.kind))
        for r in records
    )
