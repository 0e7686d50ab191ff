"""``python -m pybpf.elf``: see :mod:`pybpf.elf.cli`."""

import sys

from pybpf.elf.cli import main

sys.exit(main())
