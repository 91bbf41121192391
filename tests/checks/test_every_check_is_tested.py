"""A check that cannot fail is a defect: every registered check must appear in the tests.

This is a guard, not proof: the tests named here assert a passing and a failing case each
(see tests/checks/test_<area>.py); this one catches a new check that has none at all.
"""

from __future__ import annotations

import re
from pathlib import Path

from cloudkata.checks import all_checks

TESTS = Path(__file__).resolve().parents[1]


def test_every_registered_check_is_named_in_a_test() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in TESTS.rglob("test_*.py")
                     if path.name != Path(__file__).name)
    untested = [check_id for check_id, spec in sorted(all_checks().items())
                if check_id not in text
                and not re.search(rf"\b{spec.function.__name__}\b", text)]
    assert untested == [], "write a passing and a failing test for these"
