"""An executable or shared library to attach uprobes and USDT probes to.

:class:`Executable` resolves a function to the **file offset** the kernel's
uprobes want, with libbpf's rules (``elf_find_func_offset``): ``.dynsym`` is
searched before ``.symtab``; a name may carry a GNU version (``name@VER`` or
``name@@VER``: either picks that version); only ``STT_FUNC`` symbols count;
aliases at one offset are one function, and two non-weak definitions at
different offsets are an error; the offset is the symbol's value translated
through its section (``value - sh_addr + sh_offset``). Undefined symbols
(imports, whose value may be a PLT address) are never candidates.
"""

from __future__ import annotations

import os

from pybpf.link._glob import glob_regex
from pybpf.link.errors import (
    AmbiguousSymbolError,
    BinaryNotFoundError,
    SymbolNotFoundError,
    USDTProbeNotFoundError,
)
from pybpf.link.paths import resolve_binary_path

# Not typing.TYPE_CHECKING: importing typing costs more than this whole module.
# Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False

# The ELF reader, USDT notes and regexes are imported by the calls that use
# them: finding a file reads nothing, and a uprobe needs no USDT parsing.
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pybpf.core import Program
    from pybpf.elf.binary import Binary, BinarySymbol
    from pybpf.link.perf_event import LegacyPerfEventLink, PerfEventLink
    from pybpf.link.uprobe import UprobeMultiLink
    from pybpf.link.usdt import USDTProbe
    from pybpf.link.usdt_attach import USDTLink

__all__ = ["Executable"]

_STT_FUNC = 2
_STB_WEAK = 2


class Executable:
    """An ELF executable or shared library, found by path or library name.

    ``path`` is a path (anything with a ``/``) or a bare name resolved like
    libbpf does (:func:`~pybpf.link.resolve_binary_path`); with ``pid``, the
    libraries that process has mapped are searched first. The ELF file itself
    is read on first use and kept.

    >>> from pybpf.link import Executable
    >>> python = Executable("/usr/bin/python3")
    >>> python.symbol_offset("Py_Initialize") > 0
    True
    """

    def __init__(self, path: str | os.PathLike[str], *, pid: int | None = None) -> None:
        self.path = resolve_binary_path(path, pid=pid)
        """The file that was found."""
        self._binary: Binary | None = None

    def __repr__(self) -> str:
        return f"Executable({self.path!r})"

    @property
    def binary(self) -> Binary:
        """The parsed ELF file (read once, on first use)."""
        # A plain property: functools (for cached_property) costs more to
        # import than finding the file.
        if self._binary is None:
            self._binary = self._open()
        return self._binary

    def _open(self) -> Binary:
        from pybpf.elf import ELFError  # noqa: PLC0415
        from pybpf.elf.binary import Binary  # noqa: PLC0415

        try:
            return Binary.open(self.path)
        except FileNotFoundError:
            raise BinaryNotFoundError(self.path) from None
        except ELFError as e:
            raise ELFError(
                f"{self.path}: {e.message}", section=e.section, symbol=e.symbol, offset=e.offset
            ) from None

    def symbols(self) -> list[BinarySymbol]:
        """Every symbol of ``.dynsym`` then ``.symtab`` (imports and data included)."""
        return [*self.binary.dynamic_symbols, *self.binary.static_symbols]

    def _tables(self, *, static_first: bool = False) -> list[list[BinarySymbol]]:
        tables = [self.binary.dynamic_symbols, self.binary.static_symbols]
        return tables[::-1] if static_first else tables

    def symbol_offset(self, symbol: str) -> int:
        """The file offset of function ``symbol`` (``name``, ``name@VER`` or ``name@@VER``).

        Raises :class:`~pybpf.link.SymbolNotFoundError` (a ``LookupError``) when
        no function has that name, and :class:`~pybpf.link.AmbiguousSymbolError`
        when two non-weak ones at different offsets do.
        """
        base, at, rest = symbol.partition("@")
        version = rest[1:] if rest.startswith("@") else rest
        found: tuple[int, int] | None = None
        named = self.binary.symbols_named(base)
        for dynamic in (True, False):
            found = None
            for sym in named:
                offset = sym.file_offset
                if sym.dynamic != dynamic or sym.type != _STT_FUNC or offset is None:
                    continue
                if _name_matches(sym, symbol, version if at else None):
                    found = self._prefer(found, offset, sym.bind, symbol)
            if found and found[0]:
                return found[0]
        if found is not None:
            raise SymbolNotFoundError(symbol, self.path, "its address is 0")
        raise SymbolNotFoundError(symbol, self.path, self._why_missing(base))

    def _why_missing(self, name: str) -> str:
        from pybpf.elf.binary import STT_GNU_IFUNC  # noqa: PLC0415

        for sym in self.binary.symbols_named(name):
            if sym.name == name and sym.type == STT_GNU_IFUNC and sym.defined:
                return (
                    "it is a GNU indirect function (STT_GNU_IFUNC) whose implementation "
                    "is chosen at load time: probe the implementation's symbol instead"
                )
        return ""

    def symbol_offsets(self, symbols: Sequence[str]) -> list[int]:
        """The file offsets of functions ``symbols``, in the order given.

        As libbpf's ``elf_resolve_syms_offsets`` for ``uprobe_multi``: names
        match exactly (no version suffix), in ``.dynsym`` and ``.symtab``.
        """
        wanted = {name: i for i, name in enumerate(symbols)}
        found: list[tuple[int, int] | None] = [None] * len(symbols)
        for table in self._tables():
            for sym in table:
                i = wanted.get(sym.name)
                if i is not None and sym.type == _STT_FUNC and sym.file_offset is not None:
                    found[i] = self._prefer(found[i], sym.file_offset, sym.bind, sym.name)
        out = []
        for name, choice in zip(symbols, found, strict=True):
            if choice is None:
                raise SymbolNotFoundError(name, self.path, self._why_missing(name))
            out.append(choice[0])
        return out

    def _prefer(
        self, current: tuple[int, int] | None, offset: int, bind: int, symbol: str
    ) -> tuple[int, int]:
        """The rule libbpf applies to one more definition (offset, binding) of a name.

        Aliases (the same offset) and weak definitions change nothing once a
        definition is known; a global one replaces a weak one; two non-weak
        ones at different offsets are ambiguous.
        """
        if current is None or not current[0]:
            return offset, bind
        known, known_bind = current
        if offset == known or bind == _STB_WEAK:
            return current
        if known_bind != _STB_WEAK:
            raise AmbiguousSymbolError(symbol, self.path, (known, offset))
        return offset, bind

    def pattern_offsets(self, pattern: str) -> list[tuple[str, int]]:
        """Every function matching the glob ``pattern`` (``*``, ``?``), with its offset.

        As libbpf's ``elf_resolve_pattern_offsets``: ``.symtab`` is searched
        first and ``.dynsym`` only when ``.symtab`` matched nothing; aliases
        are all listed. No match raises :class:`~pybpf.link.SymbolNotFoundError`.
        """
        match = glob_regex(pattern).fullmatch
        for table in self._tables(static_first=True):
            found = [
                (sym.name, sym.file_offset)
                for sym in table
                if sym.type == _STT_FUNC and sym.file_offset is not None and match(sym.name)
            ]
            if found:
                return found
        raise SymbolNotFoundError(pattern, self.path, "no function matches the pattern")

    def usdt_probes(self) -> list[USDTProbe]:
        """Every USDT probe site of the file (``.note.stapsdt``), in note order."""
        from pybpf.link.usdt import read_usdt_probes  # noqa: PLC0415

        return read_usdt_probes(self.binary)

    def usdt_probe_sites(self, provider: str, name: str) -> list[USDTProbe]:
        """The call sites of probe ``provider:name`` (one uprobe each).

        Raises :class:`~pybpf.link.USDTProbeNotFoundError` (a ``LookupError``)
        when the file has no such probe.
        """
        from pybpf.link.usdt import read_usdt_probes  # noqa: PLC0415

        sites = read_usdt_probes(self.binary, provider, name)
        if not sites:
            raise USDTProbeNotFoundError(provider, name, self.path)
        return sites

    # -- attaching (imported on use: reading files needs no kernel layer) -----------

    def uprobe(
        self,
        prog: Program,
        symbol: str | None = None,
        *,
        offset: int = 0,
        address: int | None = None,
        pid: int | None = None,
        retprobe: bool = False,
        ref_ctr_offset: int = 0,
        cookie: int = 0,
    ) -> PerfEventLink | LegacyPerfEventLink:
        """Attach ``prog`` (a ``uprobe``/``uretprobe`` program) to a function of this file.

        The probe goes at ``symbol``'s file offset plus ``offset``; or at the
        virtual ``address`` (as ``readelf``/``nm`` show it) plus ``offset``,
        translated through the program headers; or, with neither, at file
        offset ``offset``. ``retprobe`` fires on the function's return
        instead. ``pid`` limits it to one process (None: every process that
        runs the file). ``ref_ctr_offset`` is the file offset of a USDT
        semaphore the kernel raises while the probe exists (4.20+).
        ``cookie`` is what ``bpf_get_attach_cookie()`` returns (5.15+).

        Returns a :class:`~pybpf.link.PerfEventLink` (5.15+) or a
        :class:`~pybpf.link.LegacyPerfEventLink`.
        """
        from pybpf.link.uprobe import attach_uprobe  # noqa: PLC0415

        return attach_uprobe(
            self,
            prog,
            symbol,
            offset=offset,
            address=address,
            pid=pid,
            retprobe=retprobe,
            ref_ctr_offset=ref_ctr_offset,
            cookie=cookie,
        )

    def uprobe_multi(
        self,
        prog: Program,
        symbols: Sequence[str] | None = None,
        *,
        pattern: str | None = None,
        offsets: Sequence[int] | None = None,
        pid: int | None = None,
        retprobe: bool = False,
        cookies: Sequence[int] | None = None,
        ref_ctr_offsets: Sequence[int] | None = None,
    ) -> UprobeMultiLink:
        """Attach ``prog`` to many functions of this file as one link (Linux 6.6+).

        Exactly one of ``symbols`` (exact names, :meth:`symbol_offsets`),
        ``pattern`` (a glob over function names, :meth:`pattern_offsets`)
        and ``offsets`` (file offsets) says where. ``cookies`` and
        ``ref_ctr_offsets`` give one value per probe, in that order. The
        program must be loaded for it (an ``uprobe.multi/...`` or
        ``uretprobe.multi/...`` section). Kernels without uprobe_multi links
        raise :class:`~pybpf.core.NotSupportedError` naming 6.6.
        """
        from pybpf.link.uprobe import attach_uprobe_multi  # noqa: PLC0415

        return attach_uprobe_multi(
            self,
            prog,
            symbols,
            pattern=pattern,
            offsets=offsets,
            pid=pid,
            retprobe=retprobe,
            cookies=cookies,
            ref_ctr_offsets=ref_ctr_offsets,
        )

    def usdt(
        self, prog: Program, provider: str, name: str, *, pid: int | None = None, cookie: int = 0
    ) -> USDTLink:
        """Attach ``prog`` (a ``BPF_USDT`` program of libbpf's ``usdt.bpf.h``) to a USDT probe.

        Every call site of ``provider:name`` gets a uprobe: one
        ``UPROBE_MULTI`` link for them all when the program was loaded with
        the ``TRACE_UPROBE_MULTI`` attach type (which pybpf.core, as libbpf,
        gives ``usdt`` programs on kernels with uprobe_multi links), else
        one uprobe each; the object's
        ``__bpf_usdt_specs`` map (and, before 5.15, ``__bpf_usdt_ip_to_spec_id``),
        found among the maps the program uses, says where each site's
        arguments are. ``cookie`` is what ``bpf_usdt_cookie()`` returns.
        The probe's semaphore is raised while the link exists. Returns one
        :class:`~pybpf.link.USDTLink` for all sites.
        """
        from pybpf.link.usdt_attach import attach_usdt  # noqa: PLC0415

        return attach_usdt(self, prog, provider, name, pid=pid, cookie=cookie)


def _name_matches(sym: BinarySymbol, symbol: str, version: str | None) -> bool:
    """Libbpf's ``symbol_match``, for a symbol already known to have the name asked for."""
    if version is None:
        return True
    if sym.dynamic:
        return sym.version == version
    # .symtab spells the version into the name: it must match exactly.
    return sym.name == symbol
