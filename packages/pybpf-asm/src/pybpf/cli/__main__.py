"""``python -m pybpf.cli``: the ``pybpf`` command without its console script."""

from pybpf.cli.main import run

run()
