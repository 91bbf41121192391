"""moto is pinned exactly: the control plane reaches into its backends."""

from __future__ import annotations

import re
from pathlib import Path

import moto

PINNED = "5.2.5"


def test_moto_is_the_version_the_sandbox_was_verified_against() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    pin = re.search(r'"moto\[server\]==([0-9.]+)"', pyproject)
    assert pin and pin.group(1) == PINNED, "pyproject.toml must pin moto[server] exactly"
    assert moto.__version__ == PINNED, (
        f"moto is {moto.__version__}, the sandbox was verified against {PINNED}. Before "
        "upgrading, re-measure every behaviour in shared/design/sandbox-fidelity.md against the "
        "new version (run tests/sandbox/ and re-check each patch in cloudkata/sandbox/), then "
        "update PINNED here and the pin in pyproject.toml.")
