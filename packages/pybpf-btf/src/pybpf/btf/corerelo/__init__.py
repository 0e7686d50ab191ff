"""CO-RE: relocating an object's field and type accesses to a target's BTF, as libbpf does."""

from pybpf.btf.corerelo.compat import fields_are_compat, types_are_compat, types_match
from pybpf.btf.corerelo.errors import COREError
from pybpf.btf.corerelo.fixup import POISON_HELPER_ID, COREFixup
from pybpf.btf.corerelo.patch import patch, poison
from pybpf.btf.corerelo.relocate import CORERelocator, COREResult, compute_fixup, relocate
from pybpf.btf.corerelo.typeutil import essential_name

__all__ = [
    "POISON_HELPER_ID",
    "COREError",
    "COREFixup",
    "CORERelocator",
    "COREResult",
    "compute_fixup",
    "essential_name",
    "fields_are_compat",
    "patch",
    "poison",
    "relocate",
    "types_are_compat",
    "types_match",
]
