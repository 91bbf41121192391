"""The home screen: the lab catalogue, what each lab is about, and how far the learner got."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cloudkata.labs import Lab, LabFileError

from ..widgets.home_labs import LabTable
from ..widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ..app import CloudkataApp


HOW_IT_WORKS = (
    "Read a step, then type its AWS CLI commands in the lab's console (or in your own "
    "terminal). After every command the step's checks read the live state of the target "
    "shown at the bottom: ✓ passed, ✗ not yet (with what was expected and what was found), "
    "! the target did not answer. Hints (h) come one at a time; your progress is saved."
)


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "open", "Open lab", show=True),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    @property
    def ck(self) -> CloudkataApp:
        return cast("CloudkataApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("cloudkata", "bold"),
                                   "  hands-on labs for AWS container orchestration"),
                     id="home-title")
        yield Static("↑↓ choose a lab · enter opens it · ? help · ctrl+q quits", id="home-guide")
        yield LabTable(id="labs")
        with VerticalScroll(id="about-box"):
            yield Static(id="about")
        yield StatusBar(self.ck.target.label(), id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#about-box").border_title = "About this lab"
        table = self.query_one(LabTable)
        table.border_title = "Labs"
        try:
            labs = self.ck.catalogue.load_all()
        except (LabFileError, OSError) as exc:
            self.query_one("#about", Static).update(
                Text(f"! The labs could not be read: {exc}", style="bold red"))
            return
        table.show(labs, self.ck.progress)
        self.query_one(StatusBar).show(f"{len(labs)} lab{'s' if len(labs) != 1 else ''}")
        table.focus()
        self._describe(table.current_lab)

    def on_screen_resume(self) -> None:
        """Back from a lab: its progress may have moved."""
        self.query_one(LabTable).refresh_progress(self.ck.progress)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(self.query_one(LabTable).labs.get(event.row_key.value or ""))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.ck.open_lab(event.row_key.value)

    def action_open(self) -> None:
        lab = self.query_one(LabTable).current_lab
        if lab is not None:
            self.ck.open_lab(lab.id)

    def _describe(self, lab: Lab | None) -> None:
        if lab is None:
            return
        text = Text()
        text.append(f"{lab.title}\n", style="bold")
        text.append(f"{lab.summary}\n")
        text.append(f"\n{len(lab.steps)} steps · about {lab.minutes} minutes")
        if lab.quiz:
            text.append(f" · quiz of {len(lab.quiz)}")
        if lab.requires:
            text.append(f"\nDo these first: {', '.join(lab.requires)}", style="yellow")
        if lab.cost:
            text.append(f"\n\nCost on real AWS: {lab.cost}", style="dim")
        text.append("\n\nHow a lab works", style="bold")
        text.append(f"\n{HOW_IT_WORKS}")
        self.query_one("#about", Static).update(text)

    def palette_commands(self) -> Iterable[SystemCommand]:
        for lab in self.query_one(LabTable).labs.values():
            yield SystemCommand(f"Open lab: {lab.title}", lab.summary,
                                lambda lab_id=lab.id: self.ck.open_lab(lab_id))
