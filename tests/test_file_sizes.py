"""Code a newcomer can live in: no source file over 800 lines (split by responsibility)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 800
FOLDERS = ("cloudkata", "checks", "labs", "tui", "tests", "bench", "tools")


def test_no_source_file_is_over_800_lines() -> None:
    long = {}
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > LIMIT:
                long[str(path.relative_to(ROOT))] = lines
    assert not long, f"split these by responsibility: {long}"
