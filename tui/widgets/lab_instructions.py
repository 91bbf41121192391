"""The step's instructions (Markdown from the lab's content) and the commands it suggests."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static


def commands_text(commands: list[str]) -> Text:
    text = Text()
    if not commands:
        return text
    text.append("Commands to try in the console below:\n", style="bold")
    for command in commands:
        text.append("$ ", style="dim")
        text.append(f"{command}\n", style="cyan")
    return text


class Instructions(VerticalScroll):
    """Scrolls as one page: the Markdown first, then the suggested commands."""

    def compose(self) -> ComposeResult:
        yield Markdown(id="instructions-md", open_links=False)
        yield Static(id="commands", markup=False)

    def show(self, title: str, markdown: str, commands: list[str]) -> None:
        """Show a step; its commands are listed only if the page does not show them already."""
        self.border_title = title
        missing = [command for command in commands if command not in markdown]
        self.query_one("#commands", Static).update(commands_text(commands) if missing else "")
        self.query_one("#commands", Static).display = bool(missing)
        self.query_one(Markdown).update(markdown)
        self.scroll_home(animate=False)
