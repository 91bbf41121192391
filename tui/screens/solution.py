"""Asks before revealing a step's solution, then offers to run it in the console."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cloudkata.labs import Step

QUESTION = ("Show the solution for “{title}”?\n\nWorking it out yourself is what makes it "
            "stick: the hints (h) go from a nudge to the answer.")


class SolutionScreen(ModalScreen[bool]):
    """Dismisses with True when the learner chose to run the solution."""

    BINDINGS = [
        Binding("y", "reveal", "Show", show=False),
        Binding("r", "run", "Run", show=False),
        Binding("escape,n", "cancel", "Close", show=False),
    ]

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="solution-box"):
            yield Static(QUESTION.format(title=self.step.title), id="solution-text",
                         markup=False)
            with Horizontal(id="solution-buttons"):
                yield Button("Show it (y)", id="reveal", variant="warning")
                yield Button("Run it (r)", id="run", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#solution-box").border_title = "Solution"
        self.query_one("#run", Button).display = False
        self.query_one("#reveal", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"reveal": self.action_reveal, "run": self.action_run,
         "cancel": self.action_cancel}[event.button.id or "cancel"]()

    def action_reveal(self) -> None:
        if self.revealed:
            return
        self.revealed = True
        commands = Table.grid(padding=(0, 1))
        commands.add_column(style="dim", no_wrap=True)
        commands.add_column(ratio=1, style="cyan")
        for line in self.step.solution:
            commands.add_row("$", Text(line, overflow="fold"))
        self.query_one("#solution-text", Static).update(Group(
            Text("The reference commands for this step:\n", style="bold"), commands,
            Text("\nr runs them in the console (it stops at the first that fails); "
                 "esc closes.", style="dim")))
        self.query_one("#cancel", Button).label = "Close (esc)"
        self.query_one("#reveal", Button).display = False
        self.query_one("#run", Button).display = True
        self.query_one("#run", Button).focus()

    def action_run(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
