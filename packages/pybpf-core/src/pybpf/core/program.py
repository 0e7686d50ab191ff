"""Programs: kernel objects loaded from a :class:`~pybpf.elf.spec.ProgramSpec`.

``Program(spec, maps=..., types=...)`` copies the spec's instructions, applies
CO-RE relocations (against the kernel's BTF or ``core_target``), resolves
ksym and kfunc externs, points every map load at its map's fd, and loads the
result with the spec's license, kernel version, attach type, flags and name,
plus func and line info from the object's BTF (``types``) when given.
"""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Mapping

from pybpf.asm import Instructions
from pybpf.asm.exports import lazy_exports
from pybpf.asm.records import replace
from pybpf.btf import (
    LineInfo,
    Spec,
    core_relocation,
    load_kernel_spec,
)
from pybpf.core import (
    _args,
    _attach_btf,
    _btf_probes,
    _cmds,
    _map_create,
    _probes,
    _prog_load,
    _sys,
)
from pybpf.core._kernel_btf import ModuleBTFs
from pybpf.core._objbtf import ObjectBTF
from pybpf.core._owner import KernelObject
from pybpf.core._uapi import Command
from pybpf.core.errors import BPFError, LimitError, NotSupportedError, VerifierError
from pybpf.core.fd import FD
from pybpf.elf import AttachType, ProgramType, UnspecifiedProgramTypeError
from pybpf.elf.spec import Extern, ProgramSpec

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    from pybpf.btf import CORERelocator
    from pybpf.core import _externs
    from pybpf.core._run_result import RunResult
    from pybpf.core._uapi_access import FileFlags
    from pybpf.core._uapi_run import RunFlags
    from pybpf.core.map import Map
    from pybpf.core.prog_info import ProgramInfo

__all__ = ["Program", "RunResult"]

#: What ``__exit__`` receives; ``type`` is a property inside ``Program``.
_ExcType: TypeAlias = "type[BaseException] | None"

#: Room past the input for a packet that grows in a test run (XDP, tc).
RUN_DATA_SLACK = 256

#: Program types whose test run takes a context in and gives none back:
#: the kernel refuses ``ctx_out`` (EINVAL) for them. A syscall program's
#: context comes back in its input buffer instead.
_CTX_IN_ONLY = frozenset(
    {
        ProgramType.RAW_TRACEPOINT,
        ProgramType.RAW_TRACEPOINT_WRITABLE,
        ProgramType.TRACING,
        ProgramType.LSM,
        ProgramType.STRUCT_OPS,
        ProgramType.SYSCALL,
    }
)


# RunResult is imported the first time it is read (PEP 562): a load makes none.
__getattr__, __dir__ = lazy_exports(
    __name__, {"pybpf.core._run_result": ["RunResult"]}, globals(), __all__
)


def kernel_spec_or_none() -> Spec | None:
    """The running kernel's BTF, or None when it has none."""
    try:
        return load_kernel_spec()
    except (OSError, ValueError):
        return None


def _program_info(fd: FD) -> ProgramInfo:
    """What the kernel says about the program behind ``fd``."""
    # Imported here: only opening a loaded program and .info() need it, not a load.
    from pybpf.core.prog_info import ProgramInfo  # noqa: PLC0415

    return ProgramInfo.from_fd(fd)


class Program(KernelObject):
    """A loaded BPF program.

    ``maps`` gives the :class:`~pybpf.core.map.Map` for each map name the
    instructions reference (data sections included: ``.rodata``, ``.bss`` ...).
    ``types`` is the object's BTF (``CollectionSpec.types``): with it the
    program gets func and line info, and CO-RE relocations can be applied.
    ``core_target`` replaces the kernel's BTF as the CO-RE target.
    ``log_level``/``log_size`` ask for a verifier log on the first attempt
    (by default it is fetched only when the load fails); the log of the
    successful load is then kept as :attr:`verifier_log`. ``attach_target`` is
    the loaded program whose function (``spec.attach_to``) a freplace
    (``EXT``) program replaces. What the running kernel lacks in vmlinux's
    BTF (CO-RE types, ksyms and kfuncs, attach targets) is looked for in its
    modules' BTF, opened for the load and closed after it. A spec without a
    program type (``ProgramType.UNSPEC``: its section names none) raises
    :class:`~pybpf.elf.UnspecifiedProgramTypeError`.

    The program owns its file descriptor: :meth:`close` or a ``with`` block
    closes it; afterwards every operation raises ClosedError.
    """

    __slots__ = ("__weakref__", "_fd", "_name", "_pinned", "_spec", "_type", "_verifier_log")
    _KIND = "program"

    def __init__(
        self,
        spec: ProgramSpec,
        *,
        maps: Mapping[str, Map] | None = None,
        types: Spec | None = None,
        core_target: Spec | None = None,
        log_level: int = 0,
        log_size: int = 0,
        attach_target: Program | None = None,
        _btf: ObjectBTF | None = None,
        _relocator: CORERelocator | None = None,
        _struct_ops: tuple[int, int] | None = None,
        _resolver: _externs.Resolver | None = None,
        _modules: ModuleBTFs | None = None,
    ) -> None:
        if not isinstance(spec, ProgramSpec):
            raise TypeError(f"Program needs a ProgramSpec, not {type(spec).__name__}")
        if spec.type == ProgramType.UNSPEC:
            # The kernel would only say EINVAL; the reader leaves this type to
            # programs of sections that name none, for the user to set.
            raise UnspecifiedProgramTypeError(spec.name, spec.section)
        spec = _usdt_load_spec(spec)
        what = f"program {spec.name!r}"
        _prog_load.check_numbers(what, spec)
        log_level = _args.unsigned(what, "log_level", log_level)
        log_size = _args.unsigned(what, "log_size", log_size, maximum=_prog_load.LOG_MAX)
        insns = spec.instructions.copy()
        # The load's module BTF: opened at the first use, closed after the
        # load, unless a collection lends its own.
        own_modules = None
        if _modules is None:
            _modules = own_modules = ModuleBTFs()
        own_btf = None
        own_resolver = None
        try:
            if _btf is None and types is not None:
                _btf = own_btf = ObjectBTF(
                    types,
                    [insns],
                    _btf_probes.sanitize_options(types),
                    kinds=[(spec.name, spec.type)],
                )
            if _btf is not None:
                # Before relocating: a dropped callback needs no maps or kfuncs.
                insns = _btf.exception_callback(spec.name, insns)
            relocate(spec.name, insns, types, core_target, _relocator, modules=_modules)
            if has_externs(insns):
                # Kernel symbols live in the running kernel, whatever CO-RE targets.
                if _resolver is None:
                    _resolver = own_resolver = new_resolver(_modules)
                _resolver.resolve(spec.name, insns)
            link_maps(spec.name, insns, maps or {})
            attach = _Attach(*_struct_ops) if _struct_ops is not None else None
            if spec.type == ProgramType.EXT:
                attach = _ext_attach(spec, attach_target)
            elif attach is None and _attach_btf.needs_attach_btf_id(spec):
                found = _attach_btf.find_attach_btf(spec, _modules)
                attach = _Attach(found.btf_id, btf_obj_fd=found.obj_fd)
            self._fd, log = _load(spec, insns, _btf, log_level, log_size, attach, _resolver)
        finally:
            if own_btf is not None:
                own_btf.close()
            if own_resolver is not None:
                own_resolver.close()
            if own_modules is not None:
                own_modules.close()
        self._name = spec.name
        self._type: ProgramType | int = spec.type
        self._pinned: str | None = None
        self._verifier_log = log
        self._spec: ProgramSpec | None = spec

    # -- opening existing programs ------------------------------------------------

    @classmethod
    def _from_owned(cls, fd: FD, what: str) -> Program:
        try:
            cls._check_kind(fd, what)
            info = _program_info(fd)
        except BaseException:
            fd.close()
            raise
        p = cls.__new__(cls)
        p._fd = fd
        p._name = info.name
        p._type = info.type
        p._pinned = None
        p._verifier_log = None
        p._spec = None
        return p

    @classmethod
    def from_fd(cls, fd: int | FD) -> Program:
        """The program behind ``fd``: an FD is taken over, a raw int duplicated.

        An fd of another kind of object (a map, a link) raises
        :class:`~pybpf.core.ObjectKindError`, which says what it is.
        """
        if isinstance(fd, FD):
            return cls._from_owned(fd, f"fd {fd.number}")
        num = _args.unsigned("Program.from_fd", "fd", fd, maximum=0x7FFFFFFF)
        import fcntl  # noqa: PLC0415 (only a raw fd number is duplicated with it)

        return cls._from_owned(FD(fcntl.fcntl(num, fcntl.F_DUPFD_CLOEXEC, 1)), f"fd {num}")

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open the program with kernel-wide id ``prog_id``."""
        prog_id = _args.unsigned("Program.from_id", "prog_id", prog_id)
        fd = _cmds.get_fd_by_id(Command.PROG_GET_FD_BY_ID, prog_id, 0, "open program id")
        return cls._from_owned(fd, f"program id {prog_id}")

    @classmethod
    def load_pinned(cls, path: str | os.PathLike[str], *, flags: FileFlags | int = 0) -> Program:
        """Open the program pinned at ``path`` in bpffs.

        A pin of another kind of object raises :class:`~pybpf.core.ObjectKindError`.
        """
        from pybpf.core._uapi_access import FileFlags  # noqa: PLC0415 (a load opens no pin)

        flags = FileFlags(_args.unsigned("Program.load_pinned", "flags", flags))
        fd, text = cls._open_pinned(path, flags)
        p = cls._from_owned(fd, f"pinned object {text!r}")
        p._pinned = text
        return p

    # -- properties ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The program's name (the spec's; the kernel's for opened programs)."""
        return self._name

    @property
    def type(self) -> ProgramType | int:
        """The program type."""
        return self._type

    @property
    def spec(self) -> ProgramSpec | None:
        """The spec this program was loaded from; None for opened programs.

        The link layer reads what attaching needs from it: the section
        (``kprobe/do_sys_open`` names its target), ``attach_type``,
        ``attach_to`` and ``sleepable``. Opened programs (``from_fd``,
        ``from_id``, ``load_pinned``) have only the kernel's view
        (:meth:`info`). A ``usdt`` program that a kernel with uprobe_multi
        links got as a ``TRACE_UPROBE_MULTI`` program (as libbpf loads them)
        has a copy of its spec saying so.
        """
        return self._spec

    @property
    def verifier_log(self) -> str | None:
        """The verifier's log of the load, when ``log_level`` asked for one; else None.

        A failed load's log is in its :class:`~pybpf.core.VerifierError`.
        Opened programs (``from_fd``, ``from_id``, ``load_pinned``) have none.
        """
        return self._verifier_log

    def info(self) -> ProgramInfo:
        """The kernel's view of the program."""
        return _program_info(self.fd)

    def __repr__(self) -> str:
        state = "closed" if self._fd.closed else f"fd={self._fd.number}"
        return f"Program({self._name!r}, {state})"

    # -- running ---------------------------------------------------------------------

    def run(
        self,
        data: bytes | None = None,
        *,
        ctx: bytes | None = None,
        repeat: int = 0,
        data_out_size: int | None = None,
        ctx_out_size: int | None = None,
        flags: RunFlags | int = 0,
        cpu: int | None = None,
        batch_size: int = 0,
    ) -> RunResult:
        """Run the program in the kernel on ``data`` and/or ``ctx`` (BPF_PROG_TEST_RUN).

        - ``data``: the packet; ``data_out_size`` the room for the packet after
          the run: by default as large as the input plus ``RUN_DATA_SLACK``
          bytes, ``0`` for none (``RunResult.data`` is then ``b""``). A packet
          that outgrows it raises LimitError (``ENOSPC``).
        - ``ctx``: the context (``struct __sk_buff``, ``xdp_md``, a raw
          tracepoint's arguments...); ``ctx_out_size`` the room for the
          context after the run: by default as large as ``ctx``, except for
          the types whose test run gives none back (raw tracepoint,
          tracing, LSM, struct_ops, syscall: the kernel refuses one); ``0``
          for none. A syscall program's context comes back in
          ``RunResult.ctx`` all the same (the kernel writes it over the input).
        - ``repeat``: how many times to run (``0``, the default, runs once:
          raw tracepoint, tracing and syscall programs take only ``0``);
          ``duration_ns`` is the mean.
        - ``flags``: :class:`~pybpf.core.RunFlags` (the default ``0`` is
          ``RunFlags.NONE``); ``cpu`` the CPU to run on
          (sets ``RunFlags.RUN_ON_CPU``; raw tracepoint programs only);
          ``batch_size``: frames per batch with ``RunFlags.XDP_LIVE_FRAMES``.

        Every number is checked before the syscall (TypeError, ValueError).
        """
        what = f"test run of program {self._name!r}"
        fd = self.fd.number
        repeat = _args.unsigned(what, "repeat", repeat)
        run_flags = _args.unsigned(what, "flags", flags)
        batch_size = _args.unsigned(what, "batch_size", batch_size)
        if cpu is not None:
            cpu = _args.unsigned(what, "cpu", cpu)
            from pybpf.core._uapi_run import RunFlags  # noqa: PLC0415 (a load runs nothing)

            run_flags |= RunFlags.RUN_ON_CPU
        data_in = _args.buffer(what, "data", data) if data is not None else None
        ctx_in = _args.buffer(what, "ctx", ctx) if ctx is not None else None
        data_out_len = _out_size(what, "data_out_size", data_out_size, data_in, RUN_DATA_SLACK)
        default_ctx = None if self._type in _CTX_IN_ONLY else ctx_in
        ctx_out_len = _out_size(what, "ctx_out_size", ctx_out_size, default_ctx, 0)
        if ctx_out_len and ctx_in is None:
            raise ValueError(f"{what}: ctx_out_size={ctx_out_len} without a ctx")

        ffi = _sys.ffi
        attr = _cmds.new_attr("test_run")
        attr.prog_fd = fd
        attr.repeat = repeat
        attr.flags = run_flags
        attr.cpu = cpu or 0
        attr.batch_size = batch_size
        # Every buffer the kernel reads or writes is our own: a syscall
        # program's context is written back over the input, and no size the
        # kernel is told exceeds the buffer it describes (0 would mean "no
        # limit" for data_out: that buffer is then not given at all).
        din = ffi.from_buffer(data_in) if data_in is not None else None
        dout = ffi.new("uint8_t[]", data_out_len) if data_out_len else None
        cin = ffi.new("uint8_t[]", ctx_in) if ctx_in else None
        cout = ffi.new("uint8_t[]", ctx_out_len) if ctx_out_len else None
        if data_in is not None:
            attr.data_in = _sys.addr(din)
            attr.data_size_in = len(data_in)
        if dout is not None:
            attr.data_out = _sys.addr(dout)
            attr.data_size_out = data_out_len
        if cin is not None:
            attr.ctx_in = _sys.addr(cin)
            attr.ctx_size_in = len(cin)
        if cout is not None:
            attr.ctx_out = _sys.addr(cout)
            attr.ctx_size_out = ctx_out_len
        rc = _cmds.prog_test_run(attr)
        if rc < 0:
            if self._fd.closed:
                raise self._closed()
            if rc == -errno.ENOSPC:
                raise LimitError(
                    -rc,
                    what,
                    limit=f"data_out_size={data_out_len}, ctx_out_size={ctx_out_len}",
                    reason="the output does not fit (ENOSPC)",
                )
            raise _cmds.error(-rc, what)
        # The kernel reports the whole size of what it had; it copied at most the buffer.
        out = b""
        if dout is not None:
            out = bytes(ffi.buffer(dout, min(int(attr.data_size_out), data_out_len)))
        ctx_res = b""
        if cout is not None:
            ctx_res = bytes(ffi.buffer(cout, min(int(attr.ctx_size_out), ctx_out_len)))
        elif cin is not None and self._type == ProgramType.SYSCALL:
            ctx_res = bytes(ffi.buffer(cin))
        from pybpf.core._run_result import RunResult  # noqa: PLC0415

        return RunResult(int(attr.retval), out, ctx_res, int(attr.duration))

    # -- kernel object ---------------------------------------------------------------

    def clone(self) -> Program:
        """Another ``Program`` for the same kernel program, with its own fd."""
        p = Program.__new__(Program)
        p._fd = self.fd.dup()
        p._name = self._name
        p._type = self._type
        p._pinned = None
        p._verifier_log = self._verifier_log
        p._spec = self._spec
        return p


def _out_size(what: str, name: str, given: int | None, data_in: bytes | None, slack: int) -> int:
    """The size of an output buffer of a test run: 0 for none."""
    if given is not None:
        return _args.unsigned(what, name, given)
    return 0 if data_in is None else len(data_in) + slack


#: libbpf's ``SEC_USDT`` sections: loaded for uprobe_multi links where the
#: kernel makes them, so that one link holds every site of a probe.
_USDT_SECTIONS = frozenset({"usdt+", "usdt.s+"})


def _usdt_load_spec(spec: ProgramSpec) -> ProgramSpec:
    """``spec``, or for a ``usdt`` program a copy loaded for ``TRACE_UPROBE_MULTI``.

    libbpf 1.5's rule: the copy where the kernel makes uprobe_multi links
    that filter by process (the cached probe
    :func:`~pybpf.core.features.have_uprobe_multi_link`), never by version.
    A spec that names its own attach type keeps it.
    """
    if spec.attach_type is not None or spec.type != ProgramType.KPROBE:
        return spec
    from pybpf.core import features  # noqa: PLC0415 (usdt programs only)
    from pybpf.elf.sections import match_section  # noqa: PLC0415

    found = match_section(spec.section)
    if found is None or found.definition.pattern not in _USDT_SECTIONS:
        return spec
    try:
        features.have_uprobe_multi_link()
    except NotSupportedError:
        return spec
    return replace(spec, attach_type=AttachType.TRACE_UPROBE_MULTI)


class _Attach:
    """What a program attaches to when the spec alone cannot say.

    ``expected_attach_type``: for struct_ops, the index of the member the
    program implements; ``prog_fd``: for freplace, the program whose function
    is replaced; ``btf_obj_fd``: for a target in a module, the module BTF's
    fd (open until the load is done).
    """

    __slots__ = ("btf_id", "btf_obj_fd", "expected_attach_type", "prog_fd")

    def __init__(
        self,
        btf_id: int,
        expected_attach_type: int | None = None,
        *,
        prog_fd: int = 0,
        btf_obj_fd: int = 0,
    ) -> None:
        self.btf_id = btf_id
        self.expected_attach_type = expected_attach_type
        self.prog_fd = prog_fd
        self.btf_obj_fd = btf_obj_fd


def _ext_attach(spec: ProgramSpec, target: Program | None) -> _Attach:
    """The attach BTF id and program of a freplace program."""
    what = f"program {spec.name!r}"
    if target is None:
        raise ValueError(f"{what}: a freplace program needs attach_target=<the Program to extend>")
    # Imported here: freplace programs are rare, and the module reads program infos.
    from pybpf.core._ext_target import func_id  # noqa: PLC0415

    fd = target.fd
    return _Attach(func_id(fd, spec.attach_to, what), prog_fd=fd.number)


def has_core_relocations(insns: Instructions) -> bool:
    """Whether any of ``insns`` carries a CO-RE relocation."""
    return any(core_relocation(i) is not None for i in insns)


def has_externs(insns: Instructions) -> bool:
    """Whether any of ``insns`` uses a kernel symbol or kfunc (an :class:`Extern`)."""
    return any(i.get_metadata(Extern) is not None for i in insns)


def new_resolver(modules: ModuleBTFs) -> _externs.Resolver:
    """The resolver of a load's externs, looking them up in the running kernel and ``modules``."""
    # Imported here: only programs with externs resolve any.
    from pybpf.core import _externs  # noqa: PLC0415

    return _externs.Resolver(kernel_spec_or_none, modules)


def core_relocator(
    types: Spec, target: Spec | None, modules: ModuleBTFs | None, what: str
) -> CORERelocator:
    """The CO-RE relocator of one object, as libbpf's ``bpf_core_find_cands``.

    A ``target`` given by the user is the only one (as libbpf's custom BTF
    path: no modules). Otherwise the kernel's BTF, then, for a type vmlinux
    lacks, the own types of each of ``modules``, read only then.
    """
    from pybpf.btf import CORERelocator  # noqa: PLC0415 (only objects with CO-RE records)

    if target is not None:
        return CORERelocator(types, target)
    kernel = kernel_spec_or_none()
    if kernel is None:
        raise BPFError(
            errno.ENOENT,
            f"{what}: CO-RE",
            reason="the kernel has no BTF (/sys/kernel/btf/vmlinux); pass core_target=",
        )
    if modules is None:
        return CORERelocator(types, kernel)
    return CORERelocator(types, itertools.chain((kernel,), modules.specs()))


def relocate(
    name: str,
    insns: Instructions,
    types: Spec | None,
    target: Spec | None,
    relocator: CORERelocator | None,
    *,
    modules: ModuleBTFs | None = None,
) -> None:
    """Apply the CO-RE relocations of ``insns`` in place."""
    if not has_core_relocations(insns):
        return
    if relocator is None:
        if types is None:
            raise ValueError(
                f"program {name!r} has CO-RE relocations: pass the object's BTF as types="
            )
        relocator = core_relocator(types, target, modules, f"program {name!r}")
    relocator.relocate(insns)


def link_maps(name: str, insns: Instructions, maps: Mapping[str, Map]) -> None:
    """Point every map load of ``insns`` that names a map at that map's fd.

    A map load that names no map carries its own fd (raw bytes, or one the
    user set): it goes to the kernel as it is, which judges that fd, as libbpf
    leaves an LD_IMM64 no relocation names.
    """
    for insn in insns:
        if not insn.is_load_from_map:
            continue
        ref = insn.reference
        if ref is None:
            continue
        m = maps.get(ref)
        if m is None:
            raise ValueError(f"program {name!r} uses map {ref!r}, which maps= does not give")
        insn.set_map_fd(m.fd.number)


def _load(  # noqa: PLR0917 (one private call site)
    spec: ProgramSpec,
    insns: Instructions,
    btf: ObjectBTF | None,
    log_level: int,
    log_size: int,
    attach: _Attach | None,
    resolver: _externs.Resolver | None,
) -> tuple[FD, str | None]:
    """Load; the FD and, when ``log_level`` asked for it, the verifier's log."""
    attach_type = spec.attach_type
    req = _prog_load.LoadRequest(
        name=spec.name,
        prog_type=spec.type,
        # As it is: an instruction the UAPI lacks is the kernel's to refuse (as
        # libbpf leaves it), with its verifier log, not the encoder's.
        insns=insns.encode(strict=False),
        license=spec.license,
        kernel_version=spec.kernel_version,
        flags=spec.flags,
        expected_attach_type=int(attach_type) if attach_type is not None else 0,
        log_level=log_level,
        log_size=log_size,
    )
    if _probes.have_map_names():
        # Program names follow the map name rules (and the same 4.15 probe).
        req.kernel_name = _map_create.sanitize_name(spec.name, allow_dot=_probes.names_allow_dot())
    if attach is not None:
        req.attach_btf_id = attach.btf_id
        req.attach_prog_fd = attach.prog_fd
        req.attach_btf_obj_fd = attach.btf_obj_fd
        if attach.expected_attach_type is not None:
            req.expected_attach_type = attach.expected_attach_type
    if resolver is not None:
        req.fd_array = resolver.fd_array
    line_records: list[LineInfo] = []
    if btf is not None and btf.fd is not None:
        req.btf_fd = btf.fd.number
        req.func_info, req.line_info, line_records = btf.ext_infos(insns, spec.name)
    try:
        return _prog_load.load(req)
    except VerifierError as exc:
        unresolved = resolver.explain(exc.log) if resolver is not None else ""
        if unresolved:
            exc.add_note(unresolved)
        # The object's line info names file and line; older kernels' logs
        # give only the text of the line.
        source = _source_of(exc.log, line_records) if line_records else ""
        if not source or source == exc.source:
            raise
        better = VerifierError(
            exc.errno or 0, exc.program, exc.log, source=source, truncated=exc.truncated
        )
        if unresolved:
            better.add_note(unresolved)
        raise better from None
    except BPFError as exc:
        if exc.errno != errno.EINVAL:
            raise
        if req.btf_fd:
            # Like libbpf: a kernel that rejects the ext infos still gets the program.
            req.btf_fd = 0
            try:
                return _prog_load.load(req)
            except VerifierError:
                raise
            except BPFError as again:
                if again.errno != errno.EINVAL:
                    raise
        from pybpf.core import features  # noqa: PLC0415 (probes only on this error path)

        features.have_program_type(ProgramType(spec.type))  # raises NotSupportedError
        raise


def _source_of(log: str, lines: list[LineInfo]) -> str:
    """The source line of the last instruction the log shows, from line info."""
    import re  # noqa: PLC0415 (only a rejected load reads its log)

    insn_line = re.compile(r"^(\d+): \(")
    slot = None
    for text in reversed(log.splitlines()):
        m = insn_line.match(text)
        if m:
            slot = int(m.group(1))
            break
    if slot is None:
        return ""
    best = None
    for rec in lines:
        if rec.offset <= slot and (best is None or rec.offset >= best.offset):
            best = rec
    if best is None:
        return ""
    return f"{best.line.strip()} @ {os.path.basename(best.file)}:{best.line_number}"
