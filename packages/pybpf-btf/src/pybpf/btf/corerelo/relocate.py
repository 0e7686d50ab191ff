"""CO-RE relocation of whole programs: candidates, fixups, patching.

:class:`CORERelocator` follows libbpf's ``bpf_core_calc_relo_insn``: every
candidate target type (same essential name and kind) is tried; all matching
candidates must agree on the field offset and on the value, and they become
the only candidates of later relocations of the same local type. No candidate
gives 0 for the existence kinds and the type kinds, and poisoning otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSequence

from pybpf.asm.instruction import Instruction
from pybpf.asm.records import record
from pybpf.btf.corerelo.accessor import match_spec, parse_spec
from pybpf.btf.corerelo.candidates import Candidate, name_index
from pybpf.btf.corerelo.errors import COREError
from pybpf.btf.corerelo.fixup import COREFixup, calc_fixup
from pybpf.btf.corerelo.patch import patch
from pybpf.btf.errors import TypeNotFoundError
from pybpf.btf.ext.attach import core_relocation
from pybpf.btf.ext.records import CORERelocation, CORERelocKind
from pybpf.btf.spec import Spec
from pybpf.btf.types import Type

__all__ = ["CORERelocator", "COREResult", "compute_fixup", "relocate"]


@record(frozen=True, slots=True)
class COREResult:
    """One applied relocation: the instruction's index (after patching) and its fixup."""

    index: int
    relocation: CORERelocation
    fixup: COREFixup


class CORERelocator:
    """Computes fixups of one object's relocations against target specs.

    ``targets`` is the kernel's spec, optionally followed by module specs:
    as in libbpf, modules are searched only for a type the first spec lacks,
    each for its own types (not its base's). The specs after the first are
    taken from ``targets`` only then: an iterator (say, a generator reading
    the modules' BTF) is not advanced while the first spec has every type.
    One relocator per object and target keeps libbpf's candidate pruning
    across that object's relocations.
    """

    def __init__(self, local_spec: Spec, targets: Spec | Iterable[Spec]) -> None:
        self.local_spec = local_spec
        pending = iter((targets,) if isinstance(targets, Spec) else targets)
        first = next(pending, None)
        if first is None:
            raise ValueError("CO-RE needs at least one target spec")
        self._first: Spec = first
        self._pending: Iterator[Spec] | None = pending
        self._modules: tuple[Spec, ...] = ()
        self._candidates: dict[int, list[Candidate]] = {}
        #: Fixups by local type id, access path and kind: an object repeats
        #: relocations (every program reading ``task->pid``), and one decided
        #: is decided for the object (the candidates it kept all agreed).
        self._fixups: dict[tuple[int, tuple[int, ...], int], COREFixup] = {}

    @property
    def targets(self) -> tuple[Spec, ...]:
        """The target specs taken so far: the first, then the modules once needed."""
        return (self._first, *self._modules)

    def _module_targets(self) -> tuple[Spec, ...]:
        if self._pending is not None:
            self._modules = tuple(self._pending)
            self._pending = None
        return self._modules

    def _find_candidates(self, local_id: int) -> list[Candidate]:
        cached = self._candidates.get(local_id)
        if cached is not None:
            return cached
        local = self.local_spec.type_by_id(local_id)
        found = name_index(self._first).candidates(local)
        if not found:
            for module in self._module_targets():
                found += name_index(module, own_only=True).candidates(local)
        self._candidates[local_id] = found
        return found

    def _local_id(self, t: Type) -> int:
        try:
            return self.local_spec.type_id(t)
        except TypeNotFoundError:
            pass
        # A deep copy of a program (ProgramSpec.copy()) copies the types its
        # records point at, together with their spec: same ids, other objects.
        owner = getattr(t, "_spec", None)
        if isinstance(owner, Spec) and len(owner) == len(self.local_spec):
            try:
                return owner.type_id(t)
            except TypeNotFoundError:
                pass
        raise COREError("the relocated type is not part of the local spec")

    def fixup(self, relocation: CORERelocation) -> COREFixup:
        """The fixup of one relocation; :class:`COREError` where libbpf fails."""
        try:
            local_id = self._local_id(relocation.type)
            key = (local_id, relocation.accessor, relocation.kind)
            found = self._fixups.get(key)
            if found is None:
                found = self._fixups[key] = self._fixup(relocation, local_id)
            return found
        except COREError as e:
            if e.relocation is not None:
                raise
            raise COREError(str(e), relocation) from None

    def _fixup(self, relocation: CORERelocation, local_id: int) -> COREFixup:
        local_type = self.local_spec.type_by_id(local_id)
        kind = CORERelocKind(relocation.kind)
        local = parse_spec(local_type, relocation.accessor, kind, self.local_spec.pointer_size)
        if kind == CORERelocKind.TYPE_ID_LOCAL:
            # Type ids of an object change when it is linked: never checked.
            return COREFixup(kind, local_id, local_id, validate=False)
        if not local_type.name:
            raise COREError("relocations of anonymous types are not supported")

        candidates = self._find_candidates(local_id)
        byteorder = self._first.byte_order
        pointer_sizes = (self.local_spec.pointer_size, self._first.pointer_size)
        matched: list[Candidate] = []
        result: COREFixup | None = None
        first_offset = 0
        for candidate in candidates:
            target = match_spec(local, candidate.type, candidate.spec.pointer_size)
            if target is None:
                continue
            fixup = calc_fixup(
                local,
                target,
                local_root_id=local_id,
                target_root_id=candidate.type_id,
                pointer_sizes=(pointer_sizes[0], candidate.spec.pointer_size),
                byteorder=byteorder,
            )
            if result is None:
                result, first_offset = fixup, target.bit_offset
            elif target.bit_offset != first_offset:
                raise COREError(
                    f"field offset ambiguity: bit {target.bit_offset} in candidate "
                    f"[{candidate.type_id}] != bit {first_offset} in [{matched[0].type_id}]"
                )
            elif fixup.poison != result.poison or fixup.target != result.target:
                raise COREError(
                    f"relocation decision ambiguity: {_decision(fixup)} in candidate "
                    f"[{candidate.type_id}] != {_decision(result)} in [{matched[0].type_id}]"
                )
            matched.append(candidate)

        if result is None:
            return calc_fixup(
                local,
                None,
                local_root_id=local_id,
                target_root_id=0,
                pointer_sizes=pointer_sizes,
                byteorder=byteorder,
            )
        # Candidates that did not match this access are dropped for the rest of the object.
        candidates[:] = matched
        return result

    def relocate(self, instructions: MutableSequence[Instruction]) -> list[COREResult]:
        """Patch every instruction carrying a CO-RE relocation (see :func:`attach_ext_infos`).

        Instructions are replaced in place; a poisoned LD_IMM64 becomes two
        instructions, so indices after it shift by one (slot offsets do not).
        Raises :class:`COREError` at the first relocation libbpf would refuse.
        """
        results: list[COREResult] = []
        i = 0
        while i < len(instructions):
            insn = instructions[i]
            relocation = core_relocation(insn)
            if relocation is None:
                i += 1
                continue
            fixup = self.fixup(relocation)
            try:
                replacement = patch(insn, fixup)
            except COREError as e:
                raise COREError(str(e), relocation) from None
            instructions[i : i + 1] = replacement
            results.append(COREResult(i, relocation, fixup))
            i += len(replacement)
        return results


def _decision(fixup: COREFixup) -> str:
    return "failure" if fixup.poison else f"success {fixup.target}"


def compute_fixup(
    relocation: CORERelocation, local_spec: Spec, target: Spec | Iterable[Spec]
) -> COREFixup:
    """The fixup of a single relocation (no candidate pruning across relocations)."""
    return CORERelocator(local_spec, target).fixup(relocation)


def relocate(
    instructions: MutableSequence[Instruction],
    local_spec: Spec,
    target: Spec | Iterable[Spec],
) -> list[COREResult]:
    """Apply every CO-RE relocation attached to ``instructions`` against ``target``."""
    return CORERelocator(local_spec, target).relocate(instructions)
