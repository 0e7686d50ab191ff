"""Every error pybpf.btf exports names a public module, so users can import it from there."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pybpf.btf


def _public_modules() -> list[str]:
    names = [pybpf.btf.__name__]
    for info in pkgutil.walk_packages(pybpf.btf.__path__, f"{pybpf.btf.__name__}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def test_exported_errors_live_in_public_modules() -> None:
    private = []
    for name in _public_modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                home = obj.__module__
                if any(part.startswith("_") for part in home.split(".")):
                    private.append(f"{name}.{attr} ({home})")
                else:
                    # The module it names must export it too.
                    assert getattr(importlib.import_module(home), obj.__name__) is obj
    assert not private
