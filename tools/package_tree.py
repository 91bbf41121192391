"""Lay out the ``cloudkata`` package as it is installed, as symbolic links, for static tools.

The source tree is not the import tree: ``[tool.setuptools.package-dir]`` maps
``cloudkata.checks`` to ``checks/``, ``cloudkata.labs`` to ``labs/`` and ``cloudkata.tui`` to
``tui/``. The editable install resolves those with an import hook (a meta-path finder), which
Python honours but static tools do not: grimp (behind ``lint-imports``) and mypy find a package
by walking the directory ``cloudkata/``, so they would never see checks, labs or the TUI.

This script makes ``build/package-tree/cloudkata/`` - a link to every entry of ``cloudkata/``
plus a link per mapped subpackage - so that walking it walks the installed package. It is
rebuilt on every run (a few dozen links), so new files are never missed. Usage::

    python tools/package_tree.py            # prints the tree's directory
    cd "$(python tools/package_tree.py)" && lint-imports --config ../../pyproject.toml
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "package-tree"


def package_dirs() -> dict[str, Path]:
    """``[tool.setuptools.package-dir]``: package name -> its source folder."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        mapping = tomllib.load(file)["tool"]["setuptools"]["package-dir"]
    return {name: (ROOT / folder).resolve() for name, folder in mapping.items()}


def build(tree: Path = TREE) -> Path:
    mapping = package_dirs()
    top = "cloudkata"
    if tree.exists():
        shutil.rmtree(tree)
    package = tree / top
    package.mkdir(parents=True)
    for entry in sorted(mapping[top].iterdir()):
        (package / entry.name).symlink_to(entry)
    for name, folder in sorted(mapping.items()):
        parts = name.split(".")
        parent = ".".join(parts[:-1])
        if name == top or parent not in mapping:
            continue
        if folder == mapping[parent] / parts[-1]:
            continue  # already inside its parent's folder (e.g. tui/screens)
        link = tree.joinpath(*parts)
        if not link.parent.is_dir():
            continue  # its parent is itself a link, which brings it along
        if not link.exists():
            link.symlink_to(folder)
    return tree


if __name__ == "__main__":
    print(build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else TREE))
