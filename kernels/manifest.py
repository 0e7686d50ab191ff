"""The kernel matrix as data: read kernels/matrix.toml into typed rows."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

MATRIX_FILE = Path(__file__).resolve().parent / "matrix.toml"

# What CI runs on a row: every test, only the @pytest.mark.kernel ones, or none.
CI_SCOPES = ("full", "kernel", "off")
# pytest arguments that select each scope's tests.
SCOPE_PYTEST_ARGS = {"full": [], "kernel": ["-m", "kernel"], "off": []}

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


def load(path: Path = MATRIX_FILE) -> list[Row]:
    """Every row of the matrix, in the file's order."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    rows = []
    for raw in data.get("kernel", []):
        try:
            name = str(raw["name"])
            source = str(raw.get("source", "debian"))
            if source not in ("debian", "host"):
                raise ManifestError(f"{path}: row {name!r}: unknown source {source!r}")
            suites = tuple(str(s) for s in raw.get("suites", []))
            package = str(raw.get("package", ""))
            if source == "debian" and not (suites and package):
                raise ManifestError(f"{path}: row {name!r} needs suites and package")
            ci = str(raw.get("ci", "full"))
            if ci not in CI_SCOPES:
                raise ManifestError(f"{path}: row {name!r}: ci must be one of {CI_SCOPES}")
            rows.append(
                Row(
                    name=name,
                    source=source,
                    suites=suites,
                    package=package,
                    series=str(raw.get("series", "")),
                    ci=ci,
                    why=str(raw.get("why", "")),
                )
            )
        except KeyError as e:
            raise ManifestError(f"{path}: a [[kernel]] row lacks {e}") from None
    names = [r.name for r in rows]
    if len(set(names)) != len(names):
        raise ManifestError(f"{path}: duplicate row names in {names}")
    return rows


def row(name: str, path: Path = MATRIX_FILE) -> Row:
    """The row called `name`."""
    rows = load(path)
    for r in rows:
        if r.name == name:
            return r
    raise ManifestError(f"no kernel row {name!r} in {path.name}; rows: {[r.name for r in rows]}")
