"""The lab screen: steps, instructions, a console, and checks that follow the learner's work.

The widgets own their thread workers (the console runs commands, the check panel runs checks);
this screen wires them together: after every command the step is re-checked, and each check's
outcome marks the step list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from cloudkata.engine import LabSession, StepReport
from cloudkata.labs import Step

from ..text import one_line, short_path
from ..widgets.lab_checks import CheckPanel, all_errors
from ..widgets.lab_console import Console
from ..widgets.lab_console_input import ConsoleInput
from ..widgets.lab_instructions import Instructions
from ..widgets.lab_steps import ERROR, FAILED, PASSED, StepList
from ..widgets.status_bar import StatusBar
from .help import HelpScreen
from .lab_keys import BINDINGS, LETTER_ACTIONS, PALETTE, WATCH_SECONDS
from .quiz import QuizScreen
from .solution import SolutionScreen

if TYPE_CHECKING:
    from ..app import CloudkataApp


class LabScreen(Screen[None]):
    BINDINGS = BINDINGS

    def __init__(self, session: LabSession) -> None:
        super().__init__()
        self.session = session
        self.lab = session.lab
        self.step = session.first_unfinished()
        self.reports: dict[str, StepReport] = {}
        self.watching = False

    @property
    def ck(self) -> CloudkataApp:
        return cast("CloudkataApp", self.app)

    @property
    def idle(self) -> bool:
        """No command running or queued and no check in flight (tests wait on this)."""
        return self.query_one(Console).idle and self.query_one(CheckPanel).idle

    def compose(self) -> ComposeResult:
        done = self.session.progress.done_steps(self.lab.id) if self.session.progress else set()
        with Horizontal(id="lab-body"):
            with Vertical(id="lab-side"):
                yield StepList(self.lab.steps, {s: PASSED for s in done}, self.step.id,
                               id="steps")
                yield CheckPanel(self.session.check, self.ck.engine_lock, self._check_result,
                                 id="checks")
            with Vertical(id="lab-work"):
                yield Instructions(id="instructions")
                self.lab_console = Console(self.session.run, self.session.cancel,
                                        self._console_state, id="console")
                yield self.lab_console
        yield StatusBar(self.session.target.label(), id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StepList).border_title = self.lab.title
        self.query_one(CheckPanel).border_title = "Checks"
        console = self.query_one(Console)
        console.border_title = "Console"
        console.note(f"Commands run in {short_path(self.session.workspace)} against "
                     f"{self.session.target.kind}; edit its files in any editor.")
        self._watch_timer = self.set_interval(WATCH_SECONDS, self._watch_tick, pause=True)
        self.show_step(self.step)
        self.query_one(ConsoleInput).focus()

    # -- showing a step -------------------------------------------------------------------

    def show_step(self, step: Step) -> None:
        self.step = step
        number = self.lab.step_index(step.id) + 1
        self.query_one(StepList).show_current(step.id)
        try:
            markdown = self.session.instructions(step)
        except OSError as exc:
            markdown = f"*The instructions could not be read: {one_line(exc)}*"
        self.query_one(Instructions).show(f"Step {number} of {len(self.lab.steps)}: "
                                          f"{step.title}", markdown, step.commands)
        self.query_one(CheckPanel).show_step(step.id, self.reports.get(step.id),
                                             self.session.hints_shown(step), len(step.hints),
                                             self._next_move(step))
        self._update_status()
        self.check_now(step)

    def _update_status(self) -> None:
        number = self.lab.step_index(self.step.id) + 1
        busy = ["running…"] if not self.query_one(Console).idle else []
        flags = busy + (["watching"] if self.watching else [])
        self.query_one(StatusBar).show(
            f"{self.lab.title} › step {number}/{len(self.lab.steps)}: {self.step.title}", flags)

    # -- checks ---------------------------------------------------------------------------

    def check_now(self, step: Step | None = None) -> None:
        self.query_one(CheckPanel).request(step or self.step)

    def _check_result(self, step: Step, report: StepReport | None, error: str | None) -> None:
        """Every check's outcome: mark the step in the list, and cheer when it turns ✓."""
        steps = self.query_one(StepList)
        reachable = report is not None and not all_errors(report)
        self.query_one(StatusBar).set_reachable(reachable)
        if report is None:
            steps.set_mark(step.id, ERROR)
            return
        before = steps.marks.get(step.id)
        self.reports[step.id] = report
        mark = ERROR if all_errors(report) else (PASSED if report.passed else FAILED)
        steps.set_mark(step.id, mark)
        if step.id == self.step.id:
            self.query_one(CheckPanel).next_move = self._next_move(step)
        if report.passed and before != PASSED:
            self._announce_pass(step)

    def _next_move(self, step: Step) -> str:
        """What to do once ``step`` passes: the next step, the steps left, or the quiz."""
        marks = self.query_one(StepList).marks
        left = [str(n) for n, s in enumerate(self.lab.steps, 1)
                if s.id != step.id and marks.get(s.id) != PASSED]
        if not left:
            return "Every step is done: q takes the quiz." if self.lab.quiz else "Lab done!"
        if step.id == self.lab.steps[-1].id:
            return f"Still to do: step {', '.join(left)}."
        return "Next step: n."

    def _announce_pass(self, step: Step) -> None:
        move = self._next_move(step)
        if isinstance(self.focused, ConsoleInput):  # the letter keys are the console's
            move = move.replace(": n.", ": esc, then n.").replace(": q ", ": esc, then q ")
        self.notify(f"{step.title}: every check passes. {move}", title="✓ Step passed",
                    timeout=8)

    def _watch_tick(self) -> None:
        if self.idle:
            self.check_now()

    # -- the console ----------------------------------------------------------------------

    def _console_state(self, busy: bool) -> None:
        """The console started or finished a command: after each one, re-check the step."""
        self._update_status()
        if not busy:
            self.check_now()

    def on_console_input_leave(self, _: ConsoleInput.Leave) -> None:
        self.query_one(StepList).focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(one_line(event.worker.error), title="Something failed",
                        severity="error")

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Letter keys belong to the console while it has focus: hide them from the footer."""
        return not (action in LETTER_ACTIONS and isinstance(self.focused, ConsoleInput))

    def action_check(self) -> None:
        self.check_now()

    def action_hint(self) -> None:
        shown = len(self.session.hints_shown(self.step))
        if shown >= len(self.step.hints):
            self.notify("That was the last hint; s shows the solution.")
            self.query_one(CheckPanel).show_hints(self.session.hints_shown(self.step))
            return
        self._hint_worker(self.step)

    @work(thread=True, group="hint", exit_on_error=False)
    def _hint_worker(self, step: Step) -> None:
        with self.ck.engine_lock:
            self.session.next_hint(step)
            hints = self.session.hints_shown(step)
        self.app.call_from_thread(self._hints_taken, step, hints)

    def _hints_taken(self, step: Step, hints: list[str]) -> None:
        if step.id == self.step.id:
            self.query_one(CheckPanel).show_hints(hints)

    def action_solution(self) -> None:
        step = self.step

        def chosen(run: bool | None) -> None:
            if run:
                self.query_one(Console).submit(list(step.solution), stop_on_failure=True,
                                               after=lambda: self.session.settle(step))

        self.app.push_screen(SolutionScreen(step), chosen)

    def _move(self, delta: int) -> None:
        index = self.lab.step_index(self.step.id) + delta
        if 0 <= index < len(self.lab.steps):
            self.show_step(self.lab.steps[index])

    def action_next_step(self) -> None:
        self._move(1)

    def action_previous_step(self) -> None:
        self._move(-1)

    def on_option_list_option_selected(self, event: StepList.OptionSelected) -> None:
        if event.option.id and event.option.id != self.step.id:
            self.show_step(self.lab.step(event.option.id))

    def action_watch(self) -> None:
        self.watching = not self.watching
        if self.watching:
            self._watch_timer.resume()
            self.notify(f"Watching: the step is re-checked every {WATCH_SECONDS:.0f} s while "
                        "you work in another terminal. w stops.")
        else:
            self._watch_timer.pause()
        self._update_status()

    def action_quiz(self) -> None:
        if not self.lab.quiz:
            self.notify("This lab has no quiz.")
            return
        self.app.push_screen(QuizScreen(self.session))

    def action_console(self) -> None:
        self.query_one(ConsoleInput).focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_back(self) -> None:
        self._watch_timer.pause()
        self.dismiss()

    def on_unmount(self) -> None:
        """Leaving the lab or quitting: do not leave its command running (or the app waiting)."""
        if self.commands_running:
            self.session.cancel()

    @property
    def commands_running(self) -> bool:
        return not self.lab_console.idle

    def palette_commands(self) -> Iterable[SystemCommand]:
        for title, help_text, callback in PALETTE:
            yield SystemCommand(title, help_text, getattr(self, callback))
