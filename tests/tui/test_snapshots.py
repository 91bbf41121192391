"""SVG snapshots at 120x40 of the screens a learner sees first.

They use a frozen copy of the lab (tests/tui/fixtures) and a fixed target label, so neither
content edits nor each xdist worker's random sandbox port change the picture. Update with
``pytest tests/tui --snapshot-update`` and look at the SVGs before accepting them.
"""

from __future__ import annotations

from textual.pilot import Pilot

from cloudkata.targets import Target
from cloudkata.tui.screens.help import HelpScreen
from cloudkata.tui.widgets.lab_console_input import ConsoleInput

from .conftest import SIZE, frozen_catalogue, make_app, open_lab, wait_until

LAB = "ecs-iam-roles"


async def _lab_ready(pilot: Pilot) -> None:
    screen = await open_lab(pilot)
    screen.query_one(ConsoleInput).cursor_blink = False
    await pilot.pause()


def test_home_screen(snap_compare, sandbox, labs_home, fixed_label):
    app = make_app(sandbox, catalogue=frozen_catalogue())
    assert snap_compare(app, terminal_size=SIZE)


def test_lab_screen_on_a_fresh_sandbox_shows_failing_checks(snap_compare, sandbox, labs_home,
                                                             fixed_label):
    app = make_app(sandbox, start_lab=LAB, catalogue=frozen_catalogue())
    assert snap_compare(app, terminal_size=SIZE, run_before=_lab_ready)


def test_lab_screen_when_the_target_is_down(snap_compare, labs_home, fixed_label):
    down = Target("sandbox", "us-east-1", "http://127.0.0.1:9")
    app = make_app(down, start_lab=LAB, catalogue=frozen_catalogue())
    assert snap_compare(app, terminal_size=SIZE, run_before=_lab_ready)


def test_help_screen(snap_compare, sandbox, labs_home, fixed_label):
    app = make_app(sandbox, start_lab=LAB, catalogue=frozen_catalogue())

    async def run_before(pilot: Pilot) -> None:
        await _lab_ready(pilot)
        await pilot.press("escape", "question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
