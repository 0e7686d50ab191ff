"""The kernel matrix as data: read kernels/matrix.toml into typed rows."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

MATRIX_FILE = Path(__file__).resolve().parent / "matrix.toml"

# What CI runs on a row: every test, only the @pytest.mark.kernel ones, or none.
CI_SCOPES = ("full", "kernel", "off")
# pytest arguments that select each scope's tests.
SCOPE_PYTEST_ARGS = {
    "full": [],
    # The slow ones (whole-vmlinux decodes and C dumps) take 20-25x longer under
    # emulation than on the host, more than a row's budget: the host and `full` run them.
    "kernel": ["-m", "(kernel or kernel_files) and not slow"],
    "off": [],
}

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security"


@dataclass(frozen=True)
class Row:
    """One row of the matrix: a kernel to run every distribution's tests on."""

    name: str
    source: str
    suites: tuple[str, ...]
    package: str
    series: str
    ci: str
    why: str

    @property
    def is_host(self) -> bool:
        """Whether this row is the running kernel rather than a Debian package."""
        return self.source == "host"

    def sources_lines(self, mirror: str = DEBIAN_MIRROR) -> list[str]:
        """The sources.list lines of this row's private apt configuration."""
        lines = []
        for suite in self.suites:
            base = DEBIAN_SECURITY_MIRROR if suite.endswith("-security") else mirror
            lines.append(
                "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                f"{base} {suite} main"
            )
        return lines


class ManifestError(ValueError):
    """matrix.toml is malformed, or names a row that it does not have."""


# The keys a [[kernel]] table may have; any other is a typo that would be ignored.
_KEYS = {"name", "source", "suites", "package", "series", "ci", "why"}


def _string(raw: dict[str, object], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise ManifestError(f"{where} lacks {key!r}")
    if not isinstance(value, str):
        raise ManifestError(f"{where}: {key} must be a string, not {value!r}")
    return value


def load(path: Path = MATRIX_FILE) -> list[Row]:
    """Every row of the matrix, in the file's order."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ManifestError(f"cannot read {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"{path}: not valid TOML: {e}") from None
    tables = data.get("kernel", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ManifestError(f"{path}: rows must be [[kernel]] tables")
    if not tables:
        raise ManifestError(f"{path}: no [[kernel]] rows")
    rows = []
    for index, raw in enumerate(tables, 1):
        where = f"{path}: [[kernel]] row {index}"
        name = _string(raw, "name", where)
        if not name:
            raise ManifestError(f"{where}: name is empty")
        where = f"{path}: row {name!r}"
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise ManifestError(f"{where}: unknown key(s) {unknown}; known: {sorted(_KEYS)}")
        source = _string(raw, "source", where, "debian")
        if source not in ("debian", "host"):
            raise ManifestError(f"{where}: unknown source {source!r}")
        suites = raw.get("suites", [])
        if not isinstance(suites, list) or not all(isinstance(s, str) and s for s in suites):
            raise ManifestError(f"{where}: suites must be a list of suite names")
        package = _string(raw, "package", where, "")
        if source == "debian" and not (suites and package):
            raise ManifestError(f"{where} needs suites and package")
        ci = _string(raw, "ci", where, "full")
        if ci not in CI_SCOPES:
            raise ManifestError(f"{where}: ci must be one of {CI_SCOPES}, not {ci!r}")
        rows.append(
            Row(
                name=name,
                source=source,
                suites=tuple(suites),
                package=package,
                series=_string(raw, "series", where, ""),
                ci=ci,
                why=_string(raw, "why", where, ""),
            )
        )
    names = [r.name for r in rows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ManifestError(f"{path}: duplicate row names {duplicates}")
    return rows


def row(name: str, path: Path = MATRIX_FILE) -> Row:
    """The row called `name`."""
    rows = load(path)
    for r in rows:
        if r.name == name:
            return r
    raise ManifestError(f"no kernel row {name!r} in {path.name}; rows: {[r.name for r in rows]}")
