"""``pybpf btf diff A B``: the named types added, removed or changed between two BTF blobs.

Types are matched by kind and name and compared by what they say, not by
their ids (which differ between any two kernels): members with their types
and bit offsets, enumerators with their values, function signatures.
Anonymous types are compared where a named type uses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pybpf.btf.spec import Spec
from pybpf.btf.types import (
    Composite,
    Datasec,
    DeclTag,
    Enum,
    Func,
    FuncProto,
    Int,
    Type,
    Typedef,
    Var,
)
from pybpf.cli.btf_text import type_text
from pybpf.cli.output import Progress

__all__ = ["Change", "Diff", "diff_specs", "type_parts"]


def type_parts(t: Type) -> dict[str, str]:
    """What a type says, part by part (member, enumerator, parameter, ...)."""
    if isinstance(t, Composite):
        parts = {"size": str(t.size)}
        for i, m in enumerate(t.members):
            bits = f":{m.bitfield_size}" if m.bitfield_size else ""
            parts[f"member {m.name or f'#{i}'}"] = f"{type_text(m.type)}{bits} @ bit {m.offset}"
        return parts
    if isinstance(t, Enum):
        parts = {"size": str(t.size)}
        parts |= {f"value {v.name}": str(v.value) for v in t.values}
        return parts
    if isinstance(t, Func):
        proto = t.type
        parts = {"linkage": t.linkage.name.lower()}
        if isinstance(proto, FuncProto):
            parts["returns"] = type_text(proto.return_type)
            for i, p in enumerate(proto.params):
                parts[f"parameter {i} {p.name}".rstrip()] = type_text(p.type)
        return parts
    if isinstance(t, (Typedef, Var)):
        return {"type": type_text(t.type)}
    if isinstance(t, Int):
        return {"size": str(t.size), "bits": str(t.bits), "encoding": str(int(t.encoding))}
    if isinstance(t, Datasec):
        return {"size": str(t.size)}
    return {"text": type_text(t)}


@dataclass(frozen=True)
class Change:
    """One named type that differs: each part's old and new text (None: absent)."""

    kind: str
    name: str
    parts: dict[str, tuple[str | None, str | None]]


@dataclass
class Diff:
    """The named types only in A (removed), only in B (added) and in both but different."""

    removed: list[tuple[str, str]] = field(default_factory=list)
    added: list[tuple[str, str]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """The document ``--json`` prints."""
        return {
            "added": [{"kind": k, "name": n} for k, n in self.added],
            "removed": [{"kind": k, "name": n} for k, n in self.removed],
            "changed": [
                {
                    "kind": c.kind,
                    "name": c.name,
                    "changes": [
                        {"part": part, "old": old, "new": new}
                        for part, (old, new) in c.parts.items()
                    ],
                }
                for c in self.changed
            ],
        }

    def lines(self) -> Iterator[str]:
        """The text form: ``+``/``-``/``~`` lines, changed parts indented."""
        for kind, name in self.removed:
            yield f"- {kind} {name}"
        for kind, name in self.added:
            yield f"+ {kind} {name}"
        for c in self.changed:
            yield f"~ {c.kind} {c.name}"
            for part, (old, new) in c.parts.items():
                if old is None:
                    yield f"    + {part}: {new}"
                elif new is None:
                    yield f"    - {part}: {old}"
                else:
                    yield f"    ~ {part}: {old} -> {new}"


def _named(spec: Spec) -> dict[tuple[str, str], Type]:
    out: dict[tuple[str, str], Type] = {}
    for type_id in range(spec.start_id, spec.next_id):
        t = spec.type_by_id(type_id)
        if t.name and not isinstance(t, DeclTag):
            # A name used twice with one kind (rare: static functions) keeps the first.
            out.setdefault((t.kind.name.lower(), t.name), t)
    return out


def diff_specs(a: Spec, b: Spec, progress: Progress | None = None) -> Diff:
    """Compare the named types of ``a`` (old) and ``b`` (new)."""
    old, new = _named(a), _named(b)
    diff = Diff()
    diff.removed = sorted(k for k in old if k not in new)
    diff.added = sorted(k for k in new if k not in old)
    for n, key in enumerate(sorted(k for k in old if k in new)):
        if progress is not None and n % 1024 == 0:
            progress.update(n)
        before, after = type_parts(old[key]), type_parts(new[key])
        if before == after:
            continue
        parts = {
            part: (before.get(part), after.get(part))
            for part in [*before, *(p for p in after if p not in before)]
            if before.get(part) != after.get(part)
        }
        diff.changed.append(Change(key[0], key[1], parts))
    return diff
