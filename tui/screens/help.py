"""The help screen: keys, what the check marks mean, and how to use your own shell."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("i", "type in the console: Enter runs the line, ↑/↓ walk the history, "
          "esc gives the letter keys back"),
    ("c", "check the step now (it is also checked after every command)"),
    ("h", "the next hint: they go from a nudge to the answer"),
    ("s", "the solution: asks first, then r runs it in the console"),
    ("n / p", "next / previous step (or pick one in the step list and press Enter)"),
    ("w", "watch mode: re-check every 5 s while you work in another terminal"),
    ("q", "the lab's quiz"),
    ("esc", "back to the list of labs"),
    ("ctrl+p", "every action, searchable"),
    ("ctrl+q", "quit"),
]
MARKS = [
    ("✓", "bold green", "passed: the live state is what the step asks for"),
    ("✗", "bold red", "failing: something is missing or wrong (see expected and found)"),
    ("!", "bold yellow", "error: the target did not answer (is the sandbox running?); "
                         "not your mistake"),
    ("-", "dim", "skipped: this target cannot judge the check"),
    ("·", "dim", "not checked: it needs what a failing check above found missing"),
    ("…", "dim", "not checked yet"),
]
SHELL = ("Commands typed in the console run in the lab's workspace folder, against the target "
         "shown in the status bar. To work in your own terminal instead, point it at the same "
         "target, then turn on watch mode (w) here:")


def _grid(rows: list[tuple[Text, Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for key, text in rows:
        grid.add_row(key, text)
    return grid


def help_renderable() -> Group:
    return Group(
        Text("Keys in a lab", style="bold underline"),
        _grid([(Text(key, style="bold yellow"), Text(what)) for key, what in KEYS]),
        Text(""),
        Text("What the marks mean", style="bold underline"),
        _grid([(Text(mark, style=style), Text(what)) for mark, style, what in MARKS]),
        Text(""),
        Text("Your own shell", style="bold underline"),
        Text(SHELL),
        Text(""),
        Text('    eval "$(cloudkata env)"\n    aws iam list-roles', style="bold cyan"),
    )


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", key_display="esc"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_renderable(), id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "cloudkata help"
        box.border_subtitle = "esc closes"
        box.focus()
