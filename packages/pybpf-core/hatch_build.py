"""Hatch build hook: compile the bpf(2) layer (cffi, API mode) into the wheel.

It also compiles ``_pybpf_btf_scan``, pybpf.btf's record scan in C,
``_pybpf_btf_cdump``, pybpf.btf's C header dump in C, and
``_pybpf_asm_codec``, pybpf.asm's instruction codec in C (see
``PLAIN_MODULES`` in ``_sys_build.py``); each is optional.

The extension is a top-level module, ``_pybpf_sys``, so that the same file
works from a regular wheel and from an editable install (where ``pybpf.core``
is imported from the source tree). Without a compiler the wheel stays pure
Python and ``pybpf.core._sys`` falls back to cffi's ABI mode.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import (  # type: ignore[import-not-found]
    BuildHookInterface,
)

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "src" / "pybpf" / "core" / "_sys_build.py"


def _load_build_script() -> Any:
    spec = importlib.util.spec_from_file_location("_pybpf_sys_build", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    """Builds ``_pybpf_sys`` and marks the wheel platform-specific."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile the extension and add it to the wheel (editable or not)."""
        if self.target_name != "wheel":
            return
        self._tmp = tempfile.mkdtemp(prefix="pybpf-core-build-")
        try:
            built = self._compile(Path(self._tmp))
        except Exception as exc:  # any compiler failure: ship the ABI fallback
            self.app.display_warning(
                f"pybpf-core: compiling _pybpf_sys failed ({exc}); "
                "the wheel falls back to cffi ABI mode"
            )
            return
        self._include(built, version, build_data)
        script = _load_build_script()
        for name in script.PLAIN_MODULES:
            try:
                module = script.build_plain_module(name, Path(self._tmp) / name)
            except Exception as exc:  # the layer using it runs in Python without it
                self.app.display_warning(f"pybpf-core: compiling {name} failed ({exc})")
                continue
            self._include(module, version, build_data)

    @staticmethod
    def _include(built: Path, version: str, build_data: dict[str, Any]) -> None:
        """Put a compiled extension at the top level of the wheel, which is no longer pure."""
        target = built.name
        if version == "editable":
            build_data["force_include_editable"][str(built)] = target
            # An editable wheel carries no sources but the .pth; the rest is
            # forced in by hatchling from force_include_editable alone.
        else:
            build_data["force_include"][str(built)] = target
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the temporary build directory."""
        tmp = getattr(self, "_tmp", None)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _compile(tmp: Path) -> Path:
        builder = _load_build_script().make_ffibuilder()
        out = builder.compile(tmpdir=str(tmp), verbose=False)
        built = Path(out)
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        if not built.name.endswith(suffix):
            raise RuntimeError(f"unexpected extension name {built.name} for {sys.version}")
        return built
