"""The lab's step list: one line per step with its mark (✓ passed, ✗ failing, … not checked)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from cloudkata.labs import Step

PASSED, FAILED, ERROR, UNCHECKED = "✓", "✗", "!", "…"
MARK_STYLES = {PASSED: "bold green", FAILED: "bold red", ERROR: "bold yellow", UNCHECKED: "dim"}


class StepList(OptionList):
    """Option ids are step ids; ``current`` is the step shown, drawn with a ▸."""

    def __init__(self, steps: list[Step], marks: dict[str, str], current: str,
                 *, id: str | None = None) -> None:
        self.steps = steps
        self.marks = {step.id: marks.get(step.id, UNCHECKED) for step in steps}
        self.current = current
        super().__init__(*[Option(self._prompt(n, step), id=step.id)
                           for n, step in enumerate(steps, 1)], id=id)

    def _prompt(self, number: int, step: Step) -> Text:
        mark = self.marks[step.id]
        text = Text(no_wrap=False)
        text.append("▸ " if step.id == self.current else "  ", style="bold")
        text.append(f"{mark} ", style=MARK_STYLES[mark])
        text.append(f"{number}. {step.title}",
                    style="bold" if step.id == self.current else "")
        return text

    def _redraw(self) -> None:
        for number, step in enumerate(self.steps, 1):
            self.replace_option_prompt(step.id, self._prompt(number, step))

    def set_mark(self, step_id: str, mark: str) -> None:
        if self.marks.get(step_id) != mark:
            self.marks[step_id] = mark
            self._redraw()

    def show_current(self, step_id: str) -> None:
        self.current = step_id
        self.highlighted = self.get_option_index(step_id)
        self._redraw()
