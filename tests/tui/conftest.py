"""Helpers for the TUI tests: build the app on the test's sandbox, and wait on real work."""

from __future__ import annotations

import asyncio
import functools
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from cloudkata.labs import Catalogue
from cloudkata.progress import ProgressStore
from cloudkata.targets import Target
from cloudkata.tui.app import CloudkataApp
from cloudkata.tui.screens.lab import LabScreen
from cloudkata.tui.widgets.lab_checks import CheckPanel

FIXTURES = Path(__file__).parent / "fixtures"
SIZE = (120, 40)


def async_test(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body with asyncio.run (no async pytest plugin is installed)."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return run


def frozen_catalogue() -> Catalogue:
    """The lab as the snapshots were taken, independent of edits to the real content."""
    return Catalogue(FIXTURES / "labs", FIXTURES / "content")


def make_app(target: Target, *, start_lab: str | None = None,
             catalogue: Catalogue | None = None) -> CloudkataApp:
    return CloudkataApp(catalogue or Catalogue.default(), target, ProgressStore.open(),
                        start_lab=start_lab)


async def wait_until(pilot: Pilot, predicate: Callable[[], bool], timeout: float = 30.0,
                     what: str = "condition") -> None:
    """Poll the running app (workers do real network and subprocess work) until true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.05)


async def open_lab(pilot: Pilot) -> LabScreen:
    """Wait for the lab screen and its first check of the current step."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LabScreen), what="lab screen")
    screen = pilot.app.screen
    assert isinstance(screen, LabScreen)
    await wait_until(pilot, lambda: screen.step.id in screen.reports and screen.idle,
                     what="the first check")
    return screen


def panel_text(panel: CheckPanel) -> str:
    """The check panel's text as the learner reads it."""
    console = Console(width=panel.content_size.width or 44, record=True, file=io.StringIO())
    console.print(panel.query_one("#check-body", Static).content)
    return console.export_text()


async def settle(pilot: Pilot, screen: LabScreen) -> None:
    """Wait until no command is running or queued and no check is in flight."""
    await wait_until(pilot, lambda: screen.idle, what="commands and checks to finish")
    await pilot.pause()


@pytest.fixture
def fixed_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots must not show each worker's random sandbox port or temp workspace path."""
    monkeypatch.setattr(Target, "label",
                        lambda self: "sandbox · http://127.0.0.1:4599 · us-east-1")
    monkeypatch.setattr("cloudkata.tui.screens.lab.short_path",
                        lambda path: "~/.local/share/cloudkata/workspaces/ecs-iam-roles")
