"""The one-line bar at the bottom: where commands go (the target) and where you are."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    """Shows ``target.label()``, then flags (running…, watching), then the current place.

    Flags come before the place so that a narrow terminal cuts the step title, not them.
    """

    def __init__(self, target_label: str, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.target_label = target_label
        self.place = ""
        self.flags: list[str] = []
        self.reachable: bool | None = None

    def on_mount(self) -> None:
        self._render_bar()

    def show(self, place: str, flags: list[str] | None = None) -> None:
        self.place = place
        self.flags = list(flags or [])
        self._render_bar()

    def set_reachable(self, reachable: bool | None) -> None:
        """The dot: green when the target answered the last check, red when it did not."""
        if reachable != self.reachable:
            self.reachable = reachable
            self._render_bar()

    def _render_bar(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        dot = {True: "bold green", False: "bold red", None: "dim"}[self.reachable]
        text.append(" ● ", style=dot)
        text.append(self.target_label, style="bold")
        for flag in self.flags:
            text.append("  │  ", style="dim")
            text.append(flag, style="bold yellow")
        if self.place:
            text.append("  │  ", style="dim")
            text.append(self.place)
        self.update(text)
