"""``python -m pybpf.btf``: see :mod:`pybpf.btf.cli`."""

import sys

from pybpf.btf.cli import main

sys.exit(main())
