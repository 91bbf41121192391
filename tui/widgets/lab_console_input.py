"""The console's input line: Enter runs it, ↑/↓ walk the history, Escape hands keys back."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class ConsoleInput(Input):
    BINDINGS = [
        Binding("up", "history(-1)", "History", key_display="↑↓"),
        Binding("down", "history(1)", "History", show=False),
        Binding("escape", "leave", "Leave console", key_display="esc"),
        Binding("ctrl+c", "interrupt", "Stop command"),
        Binding("ctrl+c", "copy", "Copy", show=False),  # when nothing runs, ctrl+c copies
    ]

    class Leave(Message):
        """The learner wants the letter keys (c, h, n…) back."""

    class Interrupt(Message):
        """The learner wants the running command stopped."""

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(id=id, placeholder=placeholder)
        self.history: list[str] = []
        self._position: int | None = None
        self._draft = ""
        self.command_running = False

    def remember(self, line: str) -> None:
        if not self.history or self.history[-1] != line:
            self.history.append(line)
        self._position = None

    def action_history(self, delta: int) -> None:
        if not self.history:
            return
        if self._position is None:
            if delta > 0:
                return
            self._draft = self.value
            self._position = len(self.history)
        position = self._position + delta
        if position >= len(self.history):
            self._position = None
            self.value = self._draft
        else:
            self._position = max(0, position)
            self.value = self.history[self._position]
        self.cursor_position = len(self.value)

    def action_leave(self) -> None:
        self.post_message(self.Leave())

    def action_interrupt(self) -> None:
        self.post_message(self.Interrupt())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "interrupt":
            return self.command_running
        return super().check_action(action, parameters)
