"""The check panel: one row per check (✓ ✗ ! -), why it fails, and the hints taken so far."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cloudkata.checks.result import Result, Status
from cloudkata.engine import StepReport
from cloudkata.labs import Step

from ..text import one_line

STATUS_STYLES = {
    Status.PASSED: "bold green", Status.FAILED: "bold red",
    Status.ERROR: "bold yellow", Status.SKIPPED: "dim", Status.BLOCKED: "dim",
}


def result_view(result: Result) -> Table:
    """A check as a grid: the mark in its own column, so wrapped lines keep their indent."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column(ratio=1)
    grid.add_row(Text(result.status.symbol, style=STATUS_STYLES[result.status]),
                 Text(result.title or result.check_id, style="bold"))
    grid.add_row("", Text(result.message, overflow="fold"))
    if result.status is Status.FAILED:
        details = Table.grid(padding=(0, 1))
        details.add_column(style="dim", no_wrap=True)
        details.add_column(ratio=1)
        for label, value, style in (("expected:", result.expected, "green"),
                                    ("found:", result.actual, "red"),
                                    ("hint:", result.hint, "italic")):
            if value:
                details.add_row(label, Text(value, style=style, overflow="fold"))
        if details.row_count:
            grid.add_row("", details)
    return grid


class CheckPanel(VerticalScroll):
    """Runs checks in thread workers and shows the latest report for the step on display.

    Checks are coalesced per step: while one runs, further requests for that step collapse
    into a single re-check when it ends, so bursts of commands or keys never pile up calls.
    ``on_result(step, report, error)`` hands every outcome to the screen on the UI thread.
    """

    def __init__(self, check: Callable[[Step], StepReport], lock: AbstractContextManager,
                 on_result: Callable[[Step, StepReport | None, str | None], None],
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_check, self.engine_lock, self.on_result = check, lock, on_result
        self.step_id = ""
        self.report: StepReport | None = None
        self.error: str | None = None
        self.next_move = ""
        self.hints: list[str] = []
        self.hints_total = 0
        self._in_flight: set[str] = set()
        self._check_again: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Static(id="check-body", markup=False)

    def on_mount(self) -> None:
        self.redraw()

    @property
    def idle(self) -> bool:
        return not self._in_flight

    def request(self, step: Step) -> None:
        if step.id in self._in_flight:
            self._check_again.add(step.id)
            return
        self._in_flight.add(step.id)
        self._set_checking()
        self._check_worker(step)

    @work(thread=True, group="check", exit_on_error=False)
    def _check_worker(self, step: Step) -> None:
        try:
            with self.engine_lock:
                report = self.run_check(step)
        except Exception as exc:  # noqa: BLE001 - shown as one line in the panel
            self.app.call_from_thread(self._done, step, None, one_line(exc))
            return
        self.app.call_from_thread(self._done, step, report, None)

    def _done(self, step: Step, report: StepReport | None, error: str | None) -> None:
        self._in_flight.discard(step.id)
        self.on_result(step, report, error)  # may update next_move before the redraw
        if step.id == self.step_id:
            self.report, self.error = (report, None) if report else (self.report, error)
            self.redraw()
        if step.id in self._check_again:
            self._check_again.discard(step.id)
            self.request(step)
        self._set_checking()

    def _set_checking(self) -> None:
        """Shown in the border, so the rows do not jump while a check runs."""
        self.border_subtitle = "checking…" if self.step_id in self._in_flight else ""

    def show_step(self, step_id: str, report: StepReport | None, hints: list[str],
                  hints_total: int, next_move: str) -> None:
        self.step_id, self.report, self.error = step_id, report, None
        self.hints, self.hints_total, self.next_move = hints, hints_total, next_move
        self._set_checking()
        self.redraw()
        self.scroll_home(animate=False)

    def show_hints(self, hints: list[str]) -> None:
        self.hints = hints
        self.redraw()
        self.scroll_home(animate=False)

    def _header(self) -> Text:
        report = self.report
        if self.error:
            return Text(f"! The checks could not run: {self.error}", style="bold yellow")
        if report is None:
            return Text("Not checked yet (c checks now)", style="dim")
        results = report.results
        if report.passed:
            return Text.assemble(("✓ Step passed!", "bold green"), f" {self.next_move}")
        if all(r.status is Status.ERROR for r in results):
            return Text(f"! The checks could not run: {results[0].message}",
                        style="bold yellow")
        passed = sum(r.passed for r in results)
        return Text(f"{passed} of {len(results)} checks pass · "
                    f"{report.points}/{report.total} points", style="bold")

    def redraw(self) -> None:
        """Header, then the hints taken (the learner asked for them), then one row per check."""
        parts: list[RenderableType] = [self._header()]
        if self.hints:
            parts.append(Text(f"\nHints ({len(self.hints)} of {self.hints_total})",
                              style="bold"))
            hints = Table.grid(padding=(0, 1))
            hints.add_column(no_wrap=True, style="bold magenta")
            hints.add_column(ratio=1)
            for number, hint in enumerate(self.hints, 1):
                hints.add_row(f"{number}.", Text(hint, overflow="fold"))
            parts.append(hints)
            if len(self.hints) == self.hints_total:
                parts.append(Text("No more hints; s shows the solution.", style="dim"))
        report = self.report
        if report is not None and not (self.error or all_errors(report)):
            for result in report.results:
                parts += [Text(""), result_view(result)]
        self.query_one("#check-body", Static).update(Group(*parts))


def all_errors(report: StepReport) -> bool:
    return bool(report.results) and all(r.status is Status.ERROR for r in report.results)
