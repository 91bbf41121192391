"""The engine knows nothing of Textual: the headless faces import without it.

Each module is imported in a fresh interpreter and ``sys.modules`` is inspected, as harlequin
does, so an indirect import anywhere in the chain is caught.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = [
    "cloudkata.labs", "cloudkata.checks", "cloudkata.engine", "cloudkata.cli",
    "cloudkata.devcheck", "cloudkata.targets", "cloudkata.progress", "cloudkata.runner",
    "cloudkata.sandbox.manager",
]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_module_never_imports_textual(module: str) -> None:
    code = (f"import sys, {module}; "
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')"
            " or m.startswith('cloudkata.tui')); print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"


def test_checks_and_labs_do_not_import_the_engine() -> None:
    code = ("import sys, cloudkata.checks, cloudkata.labs, cloudkata.checks.iam; "
            "print(','.join(sorted(m for m in sys.modules if m in ('cloudkata.engine', "
            "'cloudkata.cli', 'cloudkata.targets'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
