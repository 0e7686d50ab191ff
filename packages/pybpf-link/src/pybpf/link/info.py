"""What the kernel says about a link (``struct bpf_link_info``).

:meth:`LinkInfo.from_fd` returns the subclass of the link's type, with the
fields that type reports; a link type this library does not know gives a
plain :class:`LinkInfo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pybpf.core import sys as bpf

__all__ = ["LinkInfo"]

#: The raw ``struct pybpf_link_info`` and how many bytes of it the kernel filled.
RawInfo = Any


@dataclass(frozen=True)
class LinkInfo:
    """The kernel's view of a link: ``BPF_OBJ_GET_INFO_BY_FD``.

    Subclasses add the fields of one link type; a field a kernel does not
    report (its struct is shorter) is ``None``.
    """

    #: The link type; a plain int for types newer than this library.
    type: bpf.LinkType | int
    #: The kernel-wide id (see ``Link.from_id``).
    id: int
    #: The id of the attached program (0 once the link was detached).
    program_id: int

    #: How each link type's subclass is read from the raw struct:
    #: ``decode(fd, raw, filled, common)``, ``common`` the three fields above.
    _DECODERS: ClassVar[dict[int, Callable[[bpf.FD, RawInfo, int, dict[str, Any]], LinkInfo]]] = {}

    @classmethod
    def from_fd(cls, fd: bpf.FD) -> LinkInfo:
        """The info of the link behind ``fd``."""
        raw = bpf.new_info("link")
        filled = bpf.obj_info(fd, raw, f"link fd {fd.number}")
        value = int(raw.type)
        try:
            link_type: bpf.LinkType | int = bpf.LinkType(value)
        except ValueError:
            link_type = value
        common: dict[str, Any] = {
            "type": link_type,
            "id": int(raw.id),
            "program_id": int(raw.prog_id),
        }
        decode = cls._DECODERS.get(value)
        if decode is None:
            return LinkInfo(**common)
        return decode(fd, raw, filled, common)
