"""The lab's quiz: one question at a time, answer with a number key, then see why."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cloudkata.engine import LabSession

if TYPE_CHECKING:
    from ..app import CloudkataApp


class QuizScreen(ModalScreen[None]):
    BINDINGS = [
        *[Binding(str(n), f"answer({n - 1})", show=False) for n in range(1, 10)],
        Binding("n", "next", "Next question", show=False),
        Binding("escape", "dismiss", "Back to the lab", key_display="esc"),
    ]

    def __init__(self, session: LabSession) -> None:
        super().__init__()
        self.session = session
        self.questions = session.lab.quiz
        self.index = 0
        self.chosen: int | None = None
        self.right = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="quiz-box"):
            yield Static(id="quiz-question", markup=False)
            yield OptionList(id="quiz-choices")
            yield Static(id="quiz-feedback", markup=False)

    def on_mount(self) -> None:
        self.query_one("#quiz-box").border_subtitle = "1-9 or Enter answers · esc back to the lab"
        self._show_question()

    def _show_question(self) -> None:
        question = self.questions[self.index]
        self.chosen = None
        box = self.query_one("#quiz-box")
        box.border_title = f"Quiz · question {self.index + 1} of {len(self.questions)}"
        self.query_one("#quiz-question", Static).update(Text(question.question, style="bold"))
        choices = self.query_one(OptionList)
        choices.set_options(Option(Text(f"  {n}. {choice}"), id=str(n - 1))
                            for n, choice in enumerate(question.choices, 1))
        choices.highlighted = 0
        choices.focus()
        self.query_one("#quiz-feedback", Static).update("")

    def action_answer(self, choice: int) -> None:
        question = self.questions[self.index]
        if self.chosen is not None or choice >= len(question.choices):
            return
        self.chosen = choice
        correct = choice == question.answer
        self.right += correct
        self._record(question.id, choice, correct)
        choices = self.query_one(OptionList)
        for n, text in enumerate(question.choices):
            if n == question.answer:
                prompt = Text(f"✓ {n + 1}. {text}", style="bold green")
            elif n == choice:
                prompt = Text(f"✗ {n + 1}. {text}", style="bold red")
            else:
                prompt = Text(f"  {n + 1}. {text}", style="dim")
            choices.replace_option_prompt(str(n), prompt)
        verdict = (Text("✓ Right. ", style="bold green") if correct
                   else Text(f"✗ Not quite: the answer is {question.answer + 1}. ",
                             style="bold red"))
        verdict.append(question.explanation)
        last = self.index + 1 == len(self.questions)
        verdict.append("\n\nEnter: " + ("see your score" if last else "next question"),
                       style="dim")
        self.query_one("#quiz-feedback", Static).update(verdict)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.chosen is None:
            self.action_answer(event.option_index)
        else:
            self.action_next()

    def action_next(self) -> None:
        if self.chosen is None:
            return
        if self.index + 1 < len(self.questions):
            self.index += 1
            self._show_question()
            return
        self.chosen = -1  # finished: further keys do nothing
        box = self.query_one("#quiz-box")
        box.border_title, box.border_subtitle = "Quiz · done", "esc back to the lab"
        self.query_one(OptionList).display = False
        score = Text(f"You got {self.right} of {len(self.questions)} right.", style="bold")
        self.query_one("#quiz-question", Static).update(score)
        self.query_one("#quiz-feedback", Static).update(
            Text("Your answers are saved with your progress.", style="dim"))

    @work(thread=True, group="quiz", exit_on_error=False)
    def _record(self, question_id: str, answer: int, correct: bool) -> None:
        progress = self.session.progress
        if progress is None:
            return
        with cast("CloudkataApp", self.app).engine_lock:
            progress.answer_quiz(self.session.lab.id, question_id, answer, correct)
