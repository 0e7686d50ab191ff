"""Start-up: what a process pays before pybpf.core does anything (issue #18).

Each check runs a fresh interpreter and looks at ``sys.modules`` afterwards:
a module that only some calls need is imported by those calls, not up front.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pybpf.asm import codec
from pybpf.btf.kernel import load_boot_note
from pybpf.core import _sys, _sys_build


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds once it has run ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def _load_core_object(testdata: Path) -> str:
    """The code most checks run: load core-el.o (a CO-RE object with .bss) and close it."""
    return (
        "from pybpf.core import Collection, load_collection_spec\n"
        f"Collection(load_collection_spec({str(testdata / 'core-el.o')!r})).close()"
    )


def test_the_freshness_check_of_the_compiled_module_needs_no_hashlib() -> None:
    # Loaded outside the package, as the build hook loads it.
    code = (
        "import importlib.util as u\n"
        f"s = u.spec_from_file_location('b', {str(_sys_build.__file__)!r})\n"
        "m = u.module_from_spec(s)\n"
        "s.loader.exec_module(m)\n"
        "m.source_hash()"
    )
    loaded = _modules_after(code)
    assert "hashlib" not in loaded
    assert "_hashlib" not in loaded


def test_importing_core_leaves_out_what_only_some_calls_use() -> None:
    loaded = _modules_after("import pybpf.core")
    # platform: os.uname() says the machine; gzip: only /proc/config.gz;
    # CO-RE: only objects with CO-RE records, or extern kfuncs and ksyms.
    assert not {"platform", "gzip", "pybpf.btf.corerelo"} & loaded


def test_private_classes_on_the_load_path_are_plain_classes() -> None:
    # A dataclass costs a few hundred microseconds to define (it compiles its
    # methods at import); these are internal, so they need none of it.
    import dataclasses

    from pybpf.core import _attach_btf, _externs, _kernel_btf, _prog_load, _sys, program

    for cls in (
        _sys.FDCalls,
        _prog_load.LoadRequest,
        program._Attach,
        _externs._Found,
        _attach_btf.AttachBTF,
        _kernel_btf.BTFInfo,
        _kernel_btf.ModuleBTF,
    ):
        assert not dataclasses.is_dataclass(cls), cls
        assert "__slots__" in vars(cls), cls


def test_private_records_of_the_lower_layers_on_the_load_path_are_plain_classes() -> None:
    # The ELF reader's section and symbol records, the marshalled BTF records,
    # the CO-RE steps and the .BTF.ext reader's: every load of a CO-RE object
    # defines them.
    import dataclasses

    from pybpf.btf import marshal_record
    from pybpf.btf.corerelo import accessor, candidates, fixup
    from pybpf.btf.ext import packed, wire
    from pybpf.elf import _elffile

    for cls in (
        _elffile.Section,
        _elffile.Symbol,
        marshal_record.Record,
        accessor.Access,
        accessor.AccessSpec,
        candidates.Candidate,
        fixup._FieldValue,
        packed.PackedExtInfos,
        packed._Where,
        wire.RawExtInfos,
        wire.RawSection,
    ):
        assert not dataclasses.is_dataclass(cls), cls
        assert "__slots__" in vars(cls), cls


def test_the_syscall_layer_imports_a_command_or_enum_when_it_is_first_read() -> None:
    # The link layer imports pybpf.core.sys in every attach call's module; the
    # freplace target lookup (and with it the BTF parser) and the perf and
    # link enums come with their first reader.
    loaded = _modules_after("from pybpf.core import sys")
    unused = {
        "pybpf.core._ext_target",
        "pybpf.btf.parse",
        "pybpf.core._uapi_link",
        "pybpf.core._uapi_perf",
        "pybpf.core._cmds",
        "pybpf.core._owner",
        "_pybpf_readers",
    }
    assert not unused & loaded, sorted(unused & loaded)


def test_every_name_of_the_syscall_layer_is_the_object_of_its_home_module() -> None:
    import importlib

    from pybpf.core import _ext_target, _sys, _uapi_perf, sys

    assert sys.program_func_id is _ext_target.func_id
    assert sys.ffi is _sys.ffi
    assert sys.PERF_EVENT_IOC_SET_BPF == _uapi_perf.PERF_EVENT_IOC_SET_BPF
    for module, names in sys._EXPORTS.items():
        home = importlib.import_module(module)
        for name in names:
            assert getattr(sys, name) is getattr(home, name), name
    assert sorted(sys.__all__) == sorted(
        {n for names in sys._EXPORTS.values() for n in names}
        | {"perf_ioctl", "namespace_type", "mount"}
    )
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sys.nothing  # noqa: B018


def test_the_command_layer_needs_no_elf_type_enums() -> None:
    # Every bpf(2) command goes through _cmds and its RLIMIT_MEMLOCK check;
    # the map type that check's once-per-boot probe creates is its only use
    # of the ELF layer's 127 program, map and attach types.
    loaded = _modules_after("from pybpf.core import _cmds")
    assert "pybpf.elf._uapi" not in loaded


def test_opening_a_perf_event_imports_no_event_reader() -> None:
    # Every kprobe, uprobe and tracepoint attach opens a perf event: the perf
    # buffer and ring buffer readers are for programs' output only.
    loaded = _modules_after("from pybpf.core import PerfEventAttr, perf_event_open")
    unused = {
        "pybpf.core.perf",
        "pybpf.core.ringbuf",
        "pybpf.core._records",
        "pybpf.core._reader",
        "pybpf.core._cpus",
        "pybpf.core._consume",
        "select",
        "mmap",
    }
    assert not unused & loaded, sorted(unused & loaded)


def test_the_compiled_readers_load_on_first_read() -> None:
    # The consume loops are loaded by the first reader of _sys.readers, once.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from pybpf.core import _sys\n"
            "before = '_pybpf_readers' in sys.modules\n"
            "same = _sys.COMPILED == (_sys.readers is not None)\n"
            "print(before, _sys.readers is _sys.readers, same)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["False", "True", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _sys.nothing  # noqa: B018


def test_the_perf_event_names_are_the_same_objects_from_every_public_place() -> None:
    import pybpf.core
    from pybpf.core import perf

    for name in perf.__all__:
        assert getattr(perf, name) is getattr(pybpf.core, name), name


@pytest.mark.kernel
def test_loading_a_core_object_leaves_out_what_only_other_calls_use(testdata: Path) -> None:
    loaded = _modules_after(_load_core_object(testdata))
    # The link and perf enums: only links and perf events use them. The helper
    # ids: only a printed helper call. Map and program infos: only .info().
    # BTF value codecs: only maps with BTF keys or values (core-el.o has .bss).
    # struct_ops, .kconfig and freplace: only objects that have them. signal:
    # only the ABI-mode fallback of the syscall layer holds signals back.
    # pathlib (with urllib.parse and ipaddress): paths on the load path are strings.
    # hashlib: only a program's tag. The asm builder: only programs built in Python.
    # threading: its lock is _thread's; only ABI mode needs more of it. fcntl:
    # only ABI mode and Program.from_fd. importlib.util: the compiled module's
    # further modules load with importlib.machinery. RunResult: only a test run.
    # The compiled readers' loops: only ring and perf buffers.
    # The process's privileges: only a refusal's message. The CPU count: only
    # per-CPU maps, perf event arrays and the batch probe.
    unused = {
        "pybpf.core._privileges",
        "pybpf.core._cpus",
        "threading",
        "fcntl",
        "importlib.util",
        "pybpf.core._run_result",
        "_pybpf_readers",
        "hashlib",
        "_hashlib",
        "pybpf.asm.builder",
        "signal",
        "pathlib",
        "urllib.parse",
        "ipaddress",
        "pybpf.btf.codec",
        "pybpf.core._struct_ops",
        "pybpf.core._kconfig",
        "pybpf.core._ext_target",
        "pybpf.core._uapi_link",
        "pybpf.core._uapi_perf",
        "pybpf.asm._uapi",
        "pybpf.core.info",
        "pybpf.core.prog_info",
    }
    assert not unused & loaded, sorted(unused & loaded)
    assert "pybpf.core.collection" in loaded


@pytest.mark.kernel
def test_loading_a_core_object_imports_no_dataclasses(testdata: Path) -> None:
    # The public specs, ext records, CO-RE results and options are records
    # (pybpf.asm.records): dataclasses, with inspect, ast, dis and tokenize,
    # cost more to import than the load's own work.
    loaded = _modules_after(_load_core_object(testdata))
    heavy = {"dataclasses", "inspect", "ast", "dis", "tokenize"}
    assert not heavy & loaded, sorted(heavy & loaded)
    assert {"pybpf.asm.records", "pybpf.btf.corerelo"} <= loaded


@pytest.mark.kernel
def test_loading_a_core_object_imports_no_typing(testdata: Path) -> None:
    # typing (with contextlib, which it imports) costs more than most of the
    # load's own modules: annotations never run, the ELF reader's named tuples
    # and the ext records' generic table have light run-time bases
    # (pybpf.asm.runtime_typing), and the Codec protocol, which is typing's,
    # is imported by its first reader. re: only a search of a large BTF blob
    # (the kernel's without its name index) uses it, not the object's own.
    loaded = _modules_after(_load_core_object(testdata))
    unused = {"typing", "contextlib", "re", "pybpf.core._codec_protocol"}
    assert not unused & loaded, sorted(unused & loaded)
    assert "pybpf.core.codec" in loaded


@pytest.mark.kernel
def test_loading_a_core_object_imports_no_importlib(testdata: Path) -> None:
    # Lazy exports and compiled lookups import by __import__, and the syscall
    # layer loads its further compiled modules with the classes that loaded
    # _pybpf_sys: importlib (with the warnings it imports) stays out, and
    # warnings is imported only where a warning is given.
    loaded = _modules_after(_load_core_object(testdata))
    assert not {"importlib", "warnings"} & loaded, sorted({"importlib", "warnings"} & loaded)


@pytest.mark.kernel
def test_loading_a_core_object_imports_no_weakref(testdata: Path) -> None:
    # FD watches its descriptors with _weakref's references: weakref (with
    # _weakrefset) cost every load ~0.5 ms for weakref.finalize alone.
    loaded = _modules_after(_load_core_object(testdata))
    assert not {"weakref", "_weakrefset"} & loaded, sorted({"weakref", "_weakrefset"} & loaded)


@pytest.mark.kernel
def test_loading_a_core_object_imports_no_ctypes(testdata: Path) -> None:
    # Kernel BTF is mapped by the compiled record scan's map_readonly: ctypes,
    # which costs more to import than the mapping saves, is for installs
    # without pybpf-core's compiled modules.
    if not _sys.COMPILED:
        pytest.skip("pybpf-core runs in cffi ABI mode here")
    loaded = _modules_after(_load_core_object(testdata))
    assert "ctypes" not in loaded


@pytest.mark.kernel
def test_loading_an_object_without_decl_tags_leaves_their_modules_out(testdata: Path) -> None:
    # core-el.o has no exception_callback: or arg:ctx tags: the object's BTF is
    # looked at once, and the modules acting on such tags are not imported.
    loaded = _modules_after(_load_core_object(testdata))
    unused = {"pybpf.core._exception_cb", "pybpf.core._arg_ctx"}
    assert not unused & loaded, sorted(unused & loaded)
    assert "pybpf.core._objbtf" in loaded


def test_importing_core_imports_no_regex_engine() -> None:
    # re is for name searches in large BTF blobs, which only a call runs.
    loaded = _modules_after("import pybpf.core; from pybpf.core import Collection, Map, Program")
    assert not {"re", "typing"} & loaded


def test_the_codec_protocol_is_the_same_class_from_every_public_place() -> None:
    import pickle

    import pybpf.core
    from pybpf.core import _codec_protocol, codec

    assert pybpf.core.Codec is codec.Codec is _codec_protocol.Codec
    assert codec.Codec.__module__ == "pybpf.core.codec"
    assert pickle.loads(pickle.dumps(codec.Codec)) is codec.Codec
    assert isinstance(codec.IntCodec(4), codec.Codec)
    assert isinstance(codec.BytesCodec(), codec.Codec)
    assert not isinstance(object(), codec.Codec)
    assert "Codec" in dir(codec)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        codec.Nothing  # noqa: B018


def test_opening_a_perf_event_imports_no_dataclasses() -> None:
    loaded = _modules_after("from pybpf.core import PerfEventAttr, perf_event_open")
    assert "dataclasses" not in loaded


def test_run_result_is_the_same_class_from_every_public_place() -> None:
    # RunResult is defined on first use (only a test run makes one), yet stays
    # importable from pybpf.core and from pybpf.core.program.
    import pybpf.core
    from pybpf.core import program

    assert program.RunResult is pybpf.core.RunResult
    assert program.RunResult(0, b"", b"", 1).duration_ns == 1
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        program.Nothing  # noqa: B018


def _imported_by_pybpf(code: str) -> dict[str, set[str]]:
    """Per module name: the pybpf modules whose import statements named it, running ``code``.

    Unlike ``sys.modules`` this sees an import that found its module loaded
    already (by ``dataclasses``, say), so it tells what pybpf itself needs.
    """
    probe = (
        "import builtins, sys\n"
        "seen = {}\n"
        "real = builtins.__import__\n"
        "def spy(name, globals=None, locals=None, fromlist=(), level=0):\n"
        "    importer = (globals or {}).get('__name__') or ''\n"
        "    if importer.startswith('pybpf.') and not level:\n"
        "        seen.setdefault(name, set()).add(importer)\n"
        "    return real(name, globals, locals, fromlist, level)\n"
        "builtins.__import__ = spy\n"
        f"{code}\n"
        "builtins.__import__ = real\n"
        "for name, importers in seen.items():\n"
        "    print(name, *sorted(importers))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    found: dict[str, set[str]] = {}
    for line in done.stdout.splitlines():
        name, *importers = line.split()
        found[name] = set(importers)
    return found


@pytest.mark.kernel
def test_loading_a_core_object_needs_no_contextlib_copy_or_disassembler(testdata: Path) -> None:
    # contextlib: the BTF decoder's collector pause and the pin cleanup are
    # plain code. copy: only a variable's typed view copies it. The
    # disassembler: only printing an instruction. resource: only to probe
    # whether the kernel charges BPF memory to RLIMIT_MEMLOCK, and to raise it
    # where it does (before 5.11): not once the boot's note says it does not
    # (where a note can be kept: the conftest's loads have probed by now).
    imported = _imported_by_pybpf(_load_core_object(testdata))
    unused = {"contextlib", "copy", "pybpf.asm.disasm"}
    if b"memlock_charged=0" in (load_boot_note("core-probes") or b"").split():
        unused.add("resource")
    assert not {name: imported[name] for name in unused & imported.keys()}
    assert "pybpf.core.program" in imported  # the load ran


def _defined_after(code: str, names: set[str]) -> set[str]:
    """Which of ``names`` some loaded module defines once a fresh interpreter ran ``code``."""
    probe = (
        f"{code}\n"
        "import sys\n"
        f"names = {sorted(names)!r}\n"
        "found = {n for m in list(sys.modules.values()) for n in names if n in vars(m)}\n"
        "print(' '.join(found))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


@pytest.mark.kernel
def test_loading_a_core_object_builds_none_of_cores_enums_it_does_not_use(testdata: Path) -> None:
    # RunFlags: only Program.run; StatsType: only enable_stats; UpdateFlags:
    # only element writes that pass one; FileFlags: only opening pins and ids.
    built = _defined_after(
        _load_core_object(testdata),
        {"RunFlags", "StatsType", "UpdateFlags", "FileFlags", "Command", "MapFlags"},
    )
    assert built == {"Command", "MapFlags"}


def test_the_test_run_and_stats_enums_are_the_same_objects_from_every_public_place() -> None:
    import pybpf.core
    from pybpf.core import _uapi_run, sys

    assert pybpf.core.RunFlags is sys.RunFlags is _uapi_run.RunFlags
    assert sys.StatsType is _uapi_run.StatsType


def test_the_access_flags_are_the_same_objects_from_every_public_place() -> None:
    import pybpf.core
    from pybpf.core import _uapi_access, sys

    assert pybpf.core.UpdateFlags is sys.UpdateFlags is _uapi_access.UpdateFlags
    assert pybpf.core.FileFlags is sys.FileFlags is _uapi_access.FileFlags


@pytest.mark.kernel
def test_loading_an_object_without_pins_or_batches_imports_neither(testdata: Path) -> None:
    # Pinning rules and bpffs paths: only pinned maps, replacements and pin();
    # batch operations: only a map's batch calls and items() of a full map.
    loaded = _modules_after(_load_core_object(testdata))
    unused = {"pybpf.core._pinning", "pybpf.core._bpffs", "pybpf.core._batch"}
    assert not unused & loaded, sorted(unused & loaded)
    assert "pybpf.core.map" in loaded


@pytest.mark.kernel
def test_loading_a_core_object_imports_nothing_only_other_objects_need(testdata: Path) -> None:
    # Legacy maps, BTF maps (core-el.o has no .maps), struct_ops and arenas:
    # only objects that have them (the reader and the loader tell their
    # sections by names kept in light modules). BTF content equality: only
    # comparing specs. BTF layout rules: only sizeof/alignof. The ELF reader
    # of pybpf.btf: only load_spec of a file (a load reads the object's BTF
    # from pybpf.elf's sections). Program headers and notes: only executables.
    loaded = _modules_after(_load_core_object(testdata))
    unused = {
        "pybpf.elf.legacy_maps",
        "pybpf.elf.btf_maps",
        "pybpf.elf.struct_ops",
        "pybpf.elf.arena",
        "pybpf.elf._btfeq",
        "pybpf.btf.layout",
        "pybpf.btf.elfsections",
        "pybpf.elf._segments",
    }
    assert not unused & loaded, sorted(unused & loaded)
    assert "pybpf.elf.reader" in loaded


def test_the_section_names_are_the_same_objects_from_every_public_place() -> None:
    from pybpf.elf import arena, datasecs, sections, struct_ops

    assert arena.ARENA_SECTION == datasecs.ARENA_SECTION == ".addr_space.1"
    assert arena.is_arena_section is datasecs.is_arena_section
    assert struct_ops.is_struct_ops_section is sections.is_struct_ops_section
    assert struct_ops.is_struct_ops_section("?.struct_ops.link")
    assert not struct_ops.is_struct_ops_section(".struct_ops.foo")


@pytest.mark.kernel
def test_loading_an_object_without_externs_imports_no_extern_resolver(testdata: Path) -> None:
    # Kernel symbols and kfuncs: only programs that use them (core-el.o has none).
    # The ELF reader's extern classifier: only objects with undefined symbols.
    loaded = _modules_after(_load_core_object(testdata))
    assert not {"pybpf.core._externs", "pybpf.elf.externs"} & loaded
    assert "pybpf.core.program" in loaded


def test_batch_cursor_is_the_same_class_from_every_public_place() -> None:
    import pybpf.core
    from pybpf.core import _batch, map

    assert map.BatchCursor is pybpf.core.BatchCursor is _batch.BatchCursor
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        map.Nothing  # noqa: B018


@pytest.mark.kernel
def test_loading_a_core_object_builds_no_register_enum(testdata: Path) -> None:
    # Decoding, relocating and loading name no register: only the builder and
    # the disassembler do.
    built = _defined_after(
        _load_core_object(testdata),
        {"Register", "Instructions"},
    )
    assert built == {"Instructions"}


@pytest.mark.kernel
def test_loading_a_core_object_builds_no_opcode_field_enum(testdata: Path) -> None:
    # Decoding (in C, with the compiled codec), CO-RE patching and loading
    # compare the plain numbers of pybpf.asm.opcodes: the field enums are for
    # building and printing programs, the Python codec's tables for installs
    # without the compiled codec.
    code = _load_core_object(testdata)
    # (Source is also the ELF reader's name for what it reads.)
    fields = {"OpClass", "Size", "Mode", "ALUOp", "JumpOp", "AtomicOp"}
    sources = {"PseudoSource", "CallSource"}
    assert _defined_after(code, fields | sources | {"Instructions"}) == {"Instructions"}
    loaded = _modules_after(code)
    assert "pybpf.asm._opcode_fields" not in loaded
    assert "pybpf.asm._sources" not in loaded
    if codec._compiled_codec() is not None:
        assert "pybpf.asm._python_codec" not in loaded
    assert "pybpf.btf.corerelo.patch" in loaded  # the load relocated


def test_the_registers_are_the_same_objects_from_every_public_place() -> None:
    import pybpf.asm
    from pybpf.asm import _registers, opcodes

    for name in _registers.__all__:
        assert getattr(opcodes, name) is getattr(pybpf.asm, name) is getattr(_registers, name)
    assert opcodes.RFP is opcodes.R10 is opcodes.Register.R10
    assert str(opcodes.R1) == "r1"
    with pytest.raises(AttributeError, match="no attribute 'R11'"):
        opcodes.R11  # noqa: B018
