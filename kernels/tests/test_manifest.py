"""kernels/matrix.toml as data: the real file, and every way a row can be wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kernels import manifest

DEBIAN_ROW = """
[[kernel]]
name = "6.1"
suites = ["bookworm", "bookworm-security"]
package = "linux-image-cloud-amd64"
series = "6.1"
ci = "kernel"
why = "a reason"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.toml"
    path.write_text(text)
    return path


def test_the_real_matrix_loads() -> None:
    rows = manifest.load()
    names = [r.name for r in rows]
    assert names[:4] == ["5.10", "6.1", "6.12", "latest"]
    assert rows[-1].is_host
    with manifest.MATRIX_FILE.open("rb") as f:
        # noxfile.py parametrizes its vm session from the raw file: same rows, same order.
        assert [t["name"] for t in tomllib.load(f)["kernel"]] == names
    for r in rows:
        assert r.ci in manifest.CI_SCOPES
        assert r.why
        if not r.is_host:
            assert r.suites
            assert r.package
    assert manifest.row("6.1").series == "6.1"


def test_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[[kernel]]\nname = "x"\nsuites = ["sid"]\npackage = "p"\n')
    (r,) = manifest.load(path)
    assert (r.source, r.series, r.ci, r.why, r.is_host) == ("debian", "", "full", "", False)


def test_host_row_needs_no_suites(tmp_path: Path) -> None:
    (r,) = manifest.load(write(tmp_path, '[[kernel]]\nname = "host"\nsource = "host"\n'))
    assert r.is_host
    assert r.suites == ()


def test_sources_lines_send_security_suites_to_the_security_mirror(tmp_path: Path) -> None:
    (r,) = manifest.load(write(tmp_path, DEBIAN_ROW))
    main, security = r.sources_lines()
    assert main.endswith(f"{manifest.DEBIAN_MIRROR} bookworm main")
    assert security.endswith(f"{manifest.DEBIAN_SECURITY_MIRROR} bookworm-security main")
    assert "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg" in main


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[kernel]\nname = 1", "not valid TOML"),
        ("", "no [[kernel]] rows"),
        ('kernel = "5.10"', "must be [[kernel]] tables"),
        ("kernel = [1, 2]", "must be [[kernel]] tables"),
        ('[[kernel]]\nsuites = ["sid"]\npackage = "p"', "row 1 lacks 'name'"),
        ('[[kernel]]\nname = ""\nsource = "host"', "name is empty"),
        ('[[kernel]]\nname = 5.10\nsource = "host"', "name must be a string"),
        ('[[kernel]]\nname = "x"\nsource = "fedora"', "unknown source 'fedora'"),
        ('[[kernel]]\nname = "x"\npackage = "p"', "needs suites and package"),
        ('[[kernel]]\nname = "x"\nsuites = ["sid"]', "needs suites and package"),
        # A string is not a list: it would have been read as one suite per letter.
        ('[[kernel]]\nname = "x"\nsuites = "sid"\npackage = "p"', "suites must be a list"),
        ('[[kernel]]\nname = "x"\nsuites = ["sid", 3]\npackage = "p"', "suites must be a list"),
        ('[[kernel]]\nname = "x"\nsource = "host"\nci = false', "ci must be a string"),
        ('[[kernel]]\nname = "x"\nsource = "host"\nci = "yes"', "ci must be one of"),
        ('[[kernel]]\nname = "x"\nsource = "host"\nsuite = "sid"', "unknown key(s) ['suite']"),
        ('[[kernel]]\nname = "x"\nsource = "host"\nseries = 6.1', "series must be a string"),
        (DEBIAN_ROW + DEBIAN_ROW, "duplicate row names ['6.1']"),
    ],
)
def test_malformed_matrix_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(manifest.ManifestError) as e:
        manifest.load(path)
    assert message in str(e.value)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(manifest.ManifestError, match="cannot read"):
        manifest.load(tmp_path / "nope.toml")


def test_unknown_row_lists_the_rows(tmp_path: Path) -> None:
    path = write(tmp_path, DEBIAN_ROW)
    with pytest.raises(manifest.ManifestError, match=r"no kernel row '4\.19'.*\['6\.1'\]"):
        manifest.row("4.19", path)
