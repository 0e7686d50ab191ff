"""A private apt configuration per row: its own sources, lists, status and cache.

apt reads everything from the file APT_CONFIG points at, and that file points
every directory apt would touch into the row's cache folder, so neither the
system's sources nor its package lists, archives or dpkg status are read or
written. Only the system's Debian keyring is used, to check signatures.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# An exact, same-source dependency: `name (= version)` with no alternative.
_PINNED_DEP = re.compile(r"^\s*([a-z0-9][a-z0-9+.-]*)\s*\(\s*=\s*([^)\s]+)\s*\)\s*$")


class AptError(RuntimeError):
    """An apt command failed or answered something unexpected."""


@dataclass(frozen=True)
class Record:
    """The fields of one package version that the fetcher needs."""

    name: str
    version: str
    filename: str
    size: int
    installed_kib: int
    sha256: str
    pinned_depends: tuple[tuple[str, str], ...]


class PrivateApt:
    """apt-get and apt-cache run against one folder's own configuration."""

    def __init__(self, state: Path, sources: list[str], archives: Path) -> None:
        self.state = state
        self.archives = archives
        self._config = state / "apt.conf"
        state.mkdir(parents=True, exist_ok=True)
        for sub in ("lists/partial", "cache"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        (archives / "partial").mkdir(parents=True, exist_ok=True)
        (state / "status").touch()
        (state / "sources.list").write_text("\n".join(sources) + "\n")
        # Every suite at the same priority, so the newest version wins even when
        # it comes from a NotAutomatic suite such as backports or experimental.
        (state / "preferences").write_text("Package: *\nPin: release *\nPin-Priority: 500\n")
        (state / "empty.d").mkdir(exist_ok=True)
        settings: dict[str, object] = {
            "Dir::State": state,
            "Dir::State::Lists": state / "lists",
            "Dir::State::status": state / "status",
            "Dir::Cache": state / "cache",
            "Dir::Cache::Archives": archives,
            "Dir::Etc::SourceList": state / "sources.list",
            "Dir::Etc::SourceParts": state / "empty.d",
            "Dir::Etc::Preferences": state / "preferences",
            "Dir::Etc::PreferencesParts": state / "empty.d",
            "Dir::Etc::Parts": state / "empty.d",
            "Acquire::Languages": "none",
            "Acquire::PDiffs": "false",
            "Acquire::Retries": "3",
            # Signatures are still checked; the mirror may serve a snapshot whose
            # Valid-Until has passed, which says nothing about the packages' integrity.
            "Acquire::Check-Valid-Until": "false",
            "APT::Architecture": "amd64",
            "APT::Architectures": "amd64",
            "Debug::NoLocking": "true",
        }
        if os.geteuid() == 0:
            # The cache belongs to whoever runs this; apt's own user may not reach it.
            settings["APT::Sandbox::User"] = "root"
        self._config.write_text("".join(f'{k} "{v}";\n' for k, v in settings.items()))

    def _run(self, *args: str, capture: bool, cwd: Path | None = None) -> str:
        env = {**os.environ, "APT_CONFIG": str(self._config), "LC_ALL": "C"}
        proc = subprocess.run(
            args,
            env=env,
            cwd=cwd,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            check=False,
        )
        if proc.returncode != 0:
            detail = (proc.stderr or "").strip() if capture else ""
            raise AptError(f"{' '.join(args)} exited {proc.returncode}: {detail}")
        return proc.stdout or ""

    def update(self) -> None:
        """Download the suites' package lists (progress goes to the terminal)."""
        self._run("apt-get", "update", "-q", capture=False)

    def record(self, name: str, version: str | None = None) -> Record:
        """One version of a package: the given one, else the newest in the suites."""
        spec = f"{name}={version}" if version else name
        text = self._run("apt-cache", "show", "--no-all-versions", spec, capture=True)
        fields = _first_stanza(text)
        if "Package" not in fields:
            raise AptError(f"apt-cache show {spec}: no such package in the row's suites")
        pinned = []
        for dep in fields.get("Depends", "").split(","):
            m = _PINNED_DEP.match(dep)
            if m:
                pinned.append((m.group(1), m.group(2)))
        return Record(
            name=fields["Package"],
            version=fields["Version"],
            filename=fields["Filename"].rsplit("/", 1)[-1],
            size=int(fields["Size"]),
            installed_kib=int(fields.get("Installed-Size", "0")),
            sha256=fields["SHA256"],
            pinned_depends=tuple(pinned),
        )

    def download(self, record: Record, into: Path) -> Path:
        """Download one package version into the empty folder `into`.

        apt checks the file against the hash in the signed package lists.
        """
        into.mkdir(parents=True, exist_ok=True)
        self._run(
            "apt-get", "download", "-q", f"{record.name}={record.version}", capture=False, cwd=into
        )
        found = list(into.glob("*.deb"))
        if len(found) != 1:
            raise AptError(f"apt-get download {record.name} left {len(found)} .debs in {into}")
        return found[0]


def _first_stanza(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        if line[0].isspace() and key:
            fields[key] += "\n" + line.strip()
            continue
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields
