"""The catalogue table on the home screen: one row per lab, with the learner's progress."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from cloudkata.labs import Lab
from cloudkata.progress import ProgressStore


def progress_text(lab: Lab, progress: ProgressStore) -> Text:
    done = progress.done_steps(lab.id) & {step.id for step in lab.steps}
    total = len(lab.steps)
    style = "bold green" if len(done) == total else ("yellow" if done else "dim")
    mark = "✓ " if len(done) == total else ""
    return Text(f"{mark}{len(done)}/{total} steps", style=style)


class LabTable(DataTable):
    """Row keys are lab ids, so a selected row opens that lab."""

    BINDINGS = [Binding("enter", "select_cursor", "Open lab")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.labs: dict[str, Lab] = {}

    def on_mount(self) -> None:
        # most useful first, so a narrow terminal cuts off the least useful column
        self.add_column("Lab", key="title")
        self.add_column("Progress", key="progress")
        self.add_column("Time", key="minutes")
        self.add_column("Requires", key="requires")
        self.add_column("Id", key="id")

    def show(self, labs: list[Lab], progress: ProgressStore) -> None:
        self.clear()
        self.labs = {lab.id: lab for lab in labs}
        for lab in labs:
            self.add_row(
                Text(lab.title, style="bold"),
                progress_text(lab, progress),
                f"{lab.minutes} min",
                ", ".join(lab.requires) or Text("—", style="dim"),
                Text(lab.id, style="dim"),
                key=lab.id,
            )

    def refresh_progress(self, progress: ProgressStore) -> None:
        for lab in self.labs.values():
            self.update_cell(lab.id, "progress", progress_text(lab, progress))

    @property
    def current_lab(self) -> Lab | None:
        if not self.labs or self.cursor_row < 0:
            return None
        key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        return self.labs.get(key or "")
