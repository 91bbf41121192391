"""moto is pinned exactly: the control plane reaches into its backends.

The pin is the range ``tests/sandbox/test_patches.py`` (every patched moto attribute exists,
and patches apply the same in any import order) and the rest of ``tests/sandbox/`` pass on.
Today that range is one version, 5.2.5: the only one verified (it is also the newest on
PyPI as this is written). Widen the pin only after running tests/sandbox/ on each version
the new range admits.
"""

from __future__ import annotations

import re
from pathlib import Path

import moto

PINNED = "5.2.5"


def test_moto_is_the_version_the_sandbox_was_verified_against() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    pins = re.findall(r'"moto(?:\[server\])?\s*([=<>!~][^"]*)"', pyproject)
    assert pins == [f"=={PINNED}"], (
        f'pyproject.toml must pin "moto[server]=={PINNED}" exactly, once; it has {pins}')
    assert moto.__version__ == PINNED, (
        f"moto is {moto.__version__}, the sandbox was verified against {PINNED}. Before "
        "upgrading, run tests/sandbox/test_patches.py on the new version (it names every moto "
        "attribute the sandbox patches that no longer exists), re-measure every behaviour in "
        "shared/design/sandbox-fidelity.md (run tests/sandbox/), then update PINNED here and "
        "the pin in pyproject.toml.")
