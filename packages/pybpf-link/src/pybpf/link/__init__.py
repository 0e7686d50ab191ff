"""pybpf.link: attaching BPF programs.

So far the part that needs no kernel: finding executables and libraries
(:class:`Executable`), resolving their functions to the file offsets uprobes
take, and reading their USDT probes into the records libbpf's ``usdt.bpf.h``
expects. The link types themselves come with core's syscall layer.

>>> from pybpf.link import Executable
>>> Executable("libc.so.6").symbol_offset("malloc") > 0
True
"""

from pybpf.link import errors, executable, paths, usdt
from pybpf.link.errors import *  # noqa: F403
from pybpf.link.executable import *  # noqa: F403
from pybpf.link.paths import *  # noqa: F403
from pybpf.link.usdt import *  # noqa: F403

__all__ = errors.__all__ + executable.__all__ + paths.__all__ + usdt.__all__
