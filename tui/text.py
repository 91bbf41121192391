"""Small wording helpers shared by the screens: every failure becomes one readable line."""

from __future__ import annotations

from pathlib import Path


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, never a traceback."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first or type(exc).__name__


def short_path(path: Path) -> str:
    """A path as a learner would type it: ``~/...`` when it is under the home folder."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
