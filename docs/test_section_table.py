"""The section-name table the site renders from pybpf.elf's SECTION_DEFS."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from pybpf.elf import ProgramType
from pybpf.elf.sections import SECTION_DEFS

HOOK = Path(__file__).resolve().parent / "_hooks" / "section_table.py"


def load_hook() -> ModuleType:
    """The mkdocs hook module, loaded from its file as mkdocs loads it."""
    spec = importlib.util.spec_from_file_location("section_table", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_row_per_pattern_in_order() -> None:
    """Every pattern of the table, once, in libbpf's (matching) order."""
    rows = load_hook().section_table().splitlines()[2:]
    assert len(rows) == len(SECTION_DEFS)
    for row, sec_def in zip(rows, SECTION_DEFS, strict=True):
        shown = sec_def.pattern.rstrip("+")
        assert f">{shown}" in row and sec_def.type.name in row


def test_every_program_type_is_described() -> None:
    """A program type the hook cannot describe would fail the site build."""
    hook = load_hook()
    assert {d.type for d in SECTION_DEFS} <= set(hook.ATTACHES_TO)
    assert ProgramType.UNSPEC not in hook.ATTACHES_TO


def test_page_gets_the_table() -> None:
    """The marker in sections.md is replaced by the table."""
    hook = load_hook()
    page = (HOOK.parents[1] / "sections.md").read_text()
    assert hook.MARKER in page
    rendered = hook.on_page_markdown(page, page=None)
    assert hook.MARKER not in rendered and "| <code" in rendered
