"""The lab screen's core loop against the real sandbox: type, watch the checks follow."""

from __future__ import annotations

import asyncio

from cloudkata.checks.result import Status
from cloudkata.engine import LabSession
from cloudkata.labs import Catalogue
from cloudkata.progress import ProgressStore
from cloudkata.targets import Target
from cloudkata.tui.screens.help import HelpScreen
from cloudkata.tui.screens.home import HomeScreen
from cloudkata.tui.screens.solution import SolutionScreen
from cloudkata.tui.widgets.home_labs import LabTable
from cloudkata.tui.widgets.lab_checks import CheckPanel
from cloudkata.tui.widgets.lab_console_input import ConsoleInput
from cloudkata.tui.widgets.lab_instructions import Instructions
from cloudkata.tui.widgets.lab_steps import ERROR, FAILED, PASSED, StepList
from cloudkata.tui.widgets.status_bar import StatusBar

from .conftest import SIZE, async_test, make_app, open_lab, panel_text, settle, wait_until

LAB = "ecs-iam-roles"


@async_test
async def test_typing_step_one_solution_turns_the_step_green_without_a_key(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        step = screen.lab.steps[0]
        steps = screen.query_one(StepList)
        assert screen.step.id == step.id
        assert steps.marks[step.id] == FAILED
        console = screen.query_one(ConsoleInput)
        assert console.has_focus
        await pilot.press(*step.solution[0], "enter")  # typed key by key, like a learner
        await settle(pilot, screen)
        assert steps.marks[step.id] == FAILED  # one command is not the whole step
        for command in step.solution[1:]:
            console.value = command
            await pilot.press("enter")
            await settle(pilot, screen)
        await wait_until(pilot, lambda: steps.marks[step.id] == PASSED, what="step 1 ✓")
        report = screen.reports[step.id]
        assert report.passed
        assert all(r.status is Status.PASSED for r in report.results)
        assert "Step passed" in panel_text(screen.query_one(CheckPanel))
        assert step.id in ProgressStore.open().done_steps(LAB)
        await pilot.press("escape", "escape")  # leave the console, then the lab
        assert isinstance(app.screen, HomeScreen)
        progress = app.screen.query_one(LabTable).get_cell(LAB, "progress")
        assert str(progress).endswith(f"1/{len(screen.lab.steps)} steps")


@async_test
async def test_hints_are_revealed_one_at_a_time(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        hints = screen.step.hints
        panel = screen.query_one(CheckPanel)
        assert panel.hints == []
        await pilot.press("escape", "h")
        await wait_until(pilot, lambda: panel.hints == hints[:1], what="hint 1")
        assert "".join(hints[0].split()) in "".join(panel_text(panel).split())
        await pilot.press("h")
        await wait_until(pilot, lambda: panel.hints == hints[:2], what="hint 2")
        assert ProgressStore.open().hints_taken(LAB, screen.step.id) == 2


@async_test
async def test_n_and_p_move_between_steps(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        first, second = screen.lab.steps[:2]
        await pilot.press("escape", "n")
        assert screen.step.id == second.id
        assert screen.query_one(StepList).current == second.id
        assert "Step 2 of" in str(screen.query_one(Instructions).border_title)
        await settle(pilot, screen)
        assert screen.query_one(StepList).marks[second.id] == FAILED
        await pilot.press("p")
        assert screen.step.id == first.id
        await pilot.press("p")  # already the first step: stays
        assert screen.step.id == first.id
        await pilot.press("down", "enter")  # or pick it in the step list
        assert screen.step.id == second.id
        await settle(pilot, screen)


@async_test
async def test_watch_mode_notices_work_done_in_another_terminal(sandbox, labs_home,
                                                               monkeypatch):
    monkeypatch.setattr("cloudkata.tui.screens.lab.WATCH_SECONDS", 0.3)
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        step = screen.step
        await pilot.press("escape", "w")
        assert "watching" in screen.query_one(StatusBar).flags
        catalogue = Catalogue.default()
        other_terminal = LabSession(catalogue.load(LAB), sandbox, catalogue)
        results = await asyncio.to_thread(other_terminal.solve, other_terminal.step(step.id))
        assert all(result.ok for result in results)
        await wait_until(pilot, lambda: screen.query_one(StepList).marks[step.id] == PASSED,
                         what="watch mode to see the step pass")
        await pilot.press("w")
        assert "watching" not in screen.query_one(StatusBar).flags
        await settle(pilot, screen)


@async_test
async def test_letters_go_to_the_console_while_it_has_focus(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        first = screen.step.id
        await pilot.press("n", "h")
        assert screen.query_one(ConsoleInput).value == "nh"
        assert screen.step.id == first
        await pilot.press("escape", "i")
        assert screen.query_one(ConsoleInput).has_focus


@async_test
async def test_question_mark_opens_help(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        await open_lab(pilot)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@async_test
async def test_a_failing_check_shows_expected_and_found(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        step = screen.step
        screen.query_one(ConsoleInput).value = step.solution[0]  # the role, no policy yet
        await pilot.press("enter")
        await settle(pilot, screen)
        failing = [r for r in screen.reports[step.id].results if r.status is Status.FAILED]
        assert failing and failing[0].expected and failing[0].actual
        text = panel_text(screen.query_one(CheckPanel))
        assert "of 4 checks pass" in text
        compact = "".join(text.split())  # long words fold across lines in the narrow panel
        assert "expected:" + "".join(failing[0].expected.split()) in compact
        assert "found:" + "".join(failing[0].actual.split()) in compact
        assert "✓" in text and "✗" in text


@async_test
async def test_console_history_and_a_failing_command(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        console = screen.query_one(ConsoleInput)
        for command in ("echo first", "aws iam get-role --role-name no-such-role"):
            console.value = command
            await pilot.press("enter")
            await settle(pilot, screen)
        log = "\n".join(line.text for line in screen.query_one("#console-log").lines)
        assert "first" in log
        assert "NoSuchEntity" in log and "✗ exit" in log
        await pilot.press("up")
        assert console.value == "aws iam get-role --role-name no-such-role"
        await pilot.press("up", "down")
        assert console.value == "aws iam get-role --role-name no-such-role"
        await pilot.press("down")
        assert console.value == ""


@async_test
async def test_ctrl_c_stops_a_running_command(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        console = screen.query_one(ConsoleInput)
        console.value = "echo started; sleep 60"
        await pilot.press("enter")
        log = screen.query_one("#console-log")
        await wait_until(pilot, lambda: any("started" in line.text for line in log.lines),
                         what="the command to start")
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: screen.idle, timeout=10, what="the command to stop")
        assert any("✗ exit" in line.text for line in log.lines)


@async_test
async def test_leaving_the_lab_stops_its_running_command(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        console = screen.query_one(ConsoleInput)
        console.value = "echo started; sleep 60"
        await pilot.press("enter")
        log = screen.query_one("#console-log")
        await wait_until(pilot, lambda: any("started" in line.text for line in log.lines),
                         what="the command to start")
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, HomeScreen)
        await wait_until(pilot, lambda: not any(w.is_running for w in app.workers),
                         timeout=10, what="the console worker to end")
        assert app.is_running and isinstance(app.screen, HomeScreen)


@async_test
async def test_solution_asks_first_then_r_runs_it(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        step = screen.step
        await pilot.press("escape", "s")
        assert isinstance(app.screen, SolutionScreen)
        assert not app.screen.revealed
        await pilot.press("y")
        assert app.screen.revealed
        await pilot.press("r")
        assert app.screen is screen
        await wait_until(pilot, lambda: screen.query_one(StepList).marks[step.id] == PASSED,
                         what="the solution to pass the step")


@async_test
async def test_a_target_that_is_down_is_one_line_in_the_panel(labs_home):
    down = Target("sandbox", "us-east-1", "http://127.0.0.1:9")
    app = make_app(down, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        assert screen.query_one(StepList).marks[screen.step.id] == ERROR
        text = " ".join(panel_text(screen.query_one(CheckPanel)).split())
        assert text.startswith("! The checks could not run:")
        assert "http://127.0.0.1:9" in text and "Traceback" not in text


@async_test
async def test_lab_actions_are_in_the_command_palette(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(pilot)
        titles = {command.title for command in app.get_system_commands(screen)}
        assert {"Check this step", "Next hint", "Show the solution", "Next step",
                "Previous step", "Toggle watch mode", "Quiz", "Help"} <= titles
