"""docs/reliability.md promises only what a test shows: every row of its table names tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_promise_in_the_reliability_doc_names_tests_that_exist() -> None:
    rows = [line for line in (ROOT / "docs/reliability.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| promise")]  # fmt: skip
    defined = {
        m
        for f in (ROOT / "tests").rglob("test_*.py")
        for m in re.findall(r"^def (test_\w+)", f.read_text(), re.M)
    }
    assert len(rows) >= 10
    for row in rows:
        names = re.findall(r"`(test_\w+)`", row)
        files = re.findall(r"`(tests/[\w/]+\.py)`", row)
        assert names or files, f"a promise without its test: {row}"
        assert set(names) <= defined, (set(names) - defined, row)
        assert all((ROOT / f).is_file() for f in files), row
