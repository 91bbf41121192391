"""The cloudkata TUI: a catalogue of labs, and a lab screen that checks live state as you work.

The app never starts the sandbox itself: the CLI resolves the Target first and hands it over.
Everything that can block (AWS calls, subprocesses, opening a lab) runs in thread workers.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from cloudkata.engine import LabSession
from cloudkata.labs import Catalogue
from cloudkata.progress import ProgressStore
from cloudkata.targets import Target

from .screens.help import HelpScreen
from .screens.home import HomeScreen
from .screens.lab import LabScreen
from .text import one_line


def _terminal_hung_up() -> bool:
    try:
        os.tcgetpgrp(sys.__stdin__.fileno())  # type: ignore[union-attr]  # None: AttributeError, below
    except OSError as exc:
        return exc.errno == errno.EIO  # ENOTTY (tests, pipes) is not a hang-up
    except (AttributeError, ValueError):
        return False
    return False


class CloudkataApp(App[None]):
    """Home (the catalogue) is the default screen; a lab screen is pushed on top of it."""

    CSS_PATH = "app.tcss"
    TITLE = "cloudkata"

    def __init__(self, catalogue: Catalogue, target: Target, progress: ProgressStore,
                 overrides: dict[str, str] | None = None, start_lab: str | None = None) -> None:
        super().__init__()
        self.catalogue = catalogue
        self.target = target
        self.progress = progress
        self.overrides = dict(overrides or {})
        self.start_lab = start_lab
        self.engine_lock = threading.RLock()
        """Held around engine calls that write progress, so two workers never write at once."""

    def get_default_screen(self) -> Screen:
        return HomeScreen()

    def on_mount(self) -> None:
        self._parent_pid = os.getppid()
        self.set_interval(2.0, self._exit_if_orphaned)
        if self.progress.warning:
            self.notify(self.progress.warning, title="Progress", severity="warning", timeout=15)
        if self.start_lab:
            self.open_lab(self.start_lab)

    def _exit_if_orphaned(self) -> None:
        """Quit when our terminal hung up or whoever started us is gone.

        A closed terminal under `make run` sends no SIGHUP to the app, and Textual's input
        thread then spins on end-of-file: without this the app would run on unseen, using a
        core.
        """
        if os.getppid() != self._parent_pid or _terminal_hung_up():
            for screen in self.screen_stack:
                if getattr(screen, "commands_running", False):
                    screen.session.cancel()  # type: ignore[attr-defined]  # the lab screen runs commands
            self.exit()

    def open_lab(self, lab_id: str) -> None:
        """Load the lab and prepare its session off the UI thread, then show it."""
        self._open_lab(lab_id)

    @work(thread=True, exclusive=True, group="open-lab", exit_on_error=False)
    def _open_lab(self, lab_id: str) -> None:
        try:
            lab = self.catalogue.load(lab_id)
            session = LabSession(lab, self.target, self.catalogue, self.overrides, self.progress)
        except Exception as exc:  # noqa: BLE001 - any failure becomes one line for the learner
            self.call_from_thread(self.notify, one_line(exc), title=f"Cannot open {lab_id}",
                                  severity="error", timeout=10)
            return
        self.call_from_thread(self.push_screen, LabScreen(session))

    async def action_quit(self) -> None:
        """Stop a console command that is still running, or quitting would wait for it."""
        for screen in self.screen_stack:
            if getattr(screen, "commands_running", False):
                screen.session.cancel()  # type: ignore[attr-defined]  # the lab screen runs commands
        self.exit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Keys, symbols, and how to use your own shell",
                            self.action_help)
        palette = getattr(screen, "palette_commands", None)
        if palette is not None:
            yield from palette()
