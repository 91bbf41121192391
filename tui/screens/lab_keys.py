"""The lab screen's keys and its command-palette entries, in one place to keep them in step.

Letter keys belong to the console while it has focus, so the screen hides those bindings then
(``LETTER_ACTIONS``); every action is also in the command palette (ctrl+p).
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

WATCH_SECONDS = 5.0
PALETTE = [  # (title, help, method): every lab action, searchable with ctrl+p
    ("Check this step", "Run the step's checks now (c)", "action_check"),
    ("Next hint", "Reveal one more hint for this step (h)", "action_hint"),
    ("Show the solution", "See, then maybe run, the reference commands (s)", "action_solution"),
    ("Next step", "Go to the next step (n)", "action_next_step"),
    ("Previous step", "Go to the previous step (p)", "action_previous_step"),
    ("Toggle watch mode", "Re-check every 5 s while you work elsewhere (w)", "action_watch"),
    ("Quiz", "Answer the lab's quiz (q)", "action_quiz"),
    ("Type a command", "Put the cursor in the console (i)", "action_console"),
    ("Back to the labs", "Leave this lab (escape)", "action_back"),
]
LETTER_ACTIONS = {"check", "hint", "solution", "next_step", "previous_step", "watch", "quiz",
                  "console", "help", "back"}

BINDINGS: list[BindingType] = [
    Binding("c", "check", "Check"),
    Binding("h", "hint", "Hint"),
    Binding("s", "solution", "Solution"),
    Binding("p", "previous_step", "Prev"),
    Binding("n", "next_step", "Next"),
    Binding("w", "watch", "Watch"),
    Binding("q", "quiz", "Quiz"),
    Binding("i", "console", "Type"),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("escape", "back", "Labs", key_display="esc"),
]
