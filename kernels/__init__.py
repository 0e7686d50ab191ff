"""The kernel matrix: fetch Debian kernels and run the project's tests inside them.

Run its modules from the checkout's root, e.g. ``python -m kernels.fetch 6.1`` or
``python -m kernels.vm 6.1 --shell``; docs/kernels.md says how.
"""
