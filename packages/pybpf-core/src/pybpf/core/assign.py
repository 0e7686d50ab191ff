"""Selective loading into a class: ebpf-go's ``LoadAndAssign``, the Python way.

The class's annotated fields name what is wanted: a field typed ``Map`` gets
the map of that name, ``Program`` the program, ``Variable`` the variable.
``names`` maps a field to another object name (C names that are not Python
identifiers, or a different spelling). Only those objects and what they need
(the maps a program uses, the programs a program array holds) are loaded.
"""

from __future__ import annotations

import os
import typing
from typing import Any, TypeVar

from pybpf.core.collection import Collection, CollectionOptions
from pybpf.core.map import Map
from pybpf.core.program import Program
from pybpf.core.variable import Variable
from pybpf.elf import load_collection_spec
from pybpf.elf.spec import CollectionSpec

__all__ = ["load_into"]

T = TypeVar("T")


def _fields(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    out = {}
    for field, hint in hints.items():
        if field.startswith("_"):
            continue
        if hint not in (Map, Program, Variable):
            raise TypeError(f"{cls.__name__}.{field}: annotate with Map, Program or Variable")
        out[field] = hint
    return out


def load_into(
    cls: type[T],
    spec: CollectionSpec | str | os.PathLike[str] | bytes,
    options: CollectionOptions | None = None,
    *,
    names: dict[str, str] | None = None,
) -> tuple[T, Collection]:
    """Load what ``cls``'s fields name; return an instance with them set, and the collection.

    The collection owns every object: close it (or use it in ``with``) when
    done. A name the spec lacks raises KeyError naming the field.
    """
    if not isinstance(spec, CollectionSpec):
        spec = load_collection_spec(spec)
    names = names or {}
    fields = _fields(cls)
    programs: list[str] = []
    maps: list[str] = []
    variables: list[str] = []
    pools: dict[type, tuple[dict[str, Any], list[str]]] = {
        Program: (spec.programs, programs),
        Map: (spec.maps, maps),
        Variable: (spec.variables, variables),
    }
    for field, kind in fields.items():
        name = names.get(field, field)
        pool, bucket = pools[kind]
        if name not in pool:
            raise KeyError(
                f"{cls.__name__}.{field}: no {kind.__name__.lower()} {name!r} in the spec"
            )
        bucket.append(name)
    maps += [spec.variables[v].section for v in variables]
    coll = Collection(spec, options, programs=programs, maps=maps)
    try:
        obj = cls.__new__(cls)
        loaded: dict[type, dict[str, Any]] = {
            Program: coll.programs,
            Map: coll.maps,
            Variable: coll.variables,
        }
        for field, kind in fields.items():
            setattr(obj, field, loaded[kind][names.get(field, field)])
    except BaseException:
        coll.close()
        raise
    return obj, coll
