"""The error of CO-RE relocation."""

from __future__ import annotations

from pybpf.btf.errors import BTFError

# Not typing.TYPE_CHECKING: a load imports this module, and typing costs more.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pybpf.btf.ext.records import CORERelocation

__all__ = ["COREError"]


class COREError(BTFError):
    """A CO-RE relocation that libbpf would refuse (not one it would poison).

    ``relocation`` is the record that failed, when known.
    """

    def __init__(self, message: str, relocation: CORERelocation | None = None) -> None:
        if relocation is not None:
            message = (
                f"CO-RE relocation <{relocation.kind.libbpf_name}> of {relocation.type!r} "
                f"+ {relocation.access_string} at instruction {relocation.offset}: {message}"
            )
        super().__init__(message)
        self.relocation = relocation
