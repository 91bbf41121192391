"""The home screen (catalogue, progress, warnings) and the quiz."""

from __future__ import annotations

from textual.app import App
from textual.widgets._toast import Toast

from cloudkata import locations
from cloudkata.progress import ProgressStore
from cloudkata.tui.screens.home import HomeScreen
from cloudkata.tui.screens.lab import LabScreen
from cloudkata.tui.screens.quiz import QuizScreen
from cloudkata.tui.widgets.home_labs import LabTable

from .conftest import SIZE, async_test, make_app, open_lab, wait_until

LAB = "ecs-iam-roles"


def toasts(app: App) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


@async_test
async def test_home_lists_labs_with_progress_and_enter_opens_one(sandbox, labs_home):
    app = make_app(sandbox)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)
        table = app.screen.query_one(LabTable)
        assert LAB in table.labs
        lab = table.labs[LAB]
        assert str(table.get_cell(LAB, "progress")) == f"0/{len(lab.steps)} steps"
        assert str(table.get_cell(LAB, "minutes")) == f"{lab.minutes} min"
        table.move_cursor(row=table.get_row_index(LAB))
        await pilot.press("enter")
        screen = await open_lab(pilot)
        assert screen.lab.id == LAB


@async_test
async def test_a_progress_warning_is_shown_once(sandbox, labs_home):
    locations.progress_file().write_text("{not json", encoding="utf-8")
    progress = ProgressStore.open()
    assert progress.warning
    app = make_app(sandbox)
    app.progress = progress
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: bool(toasts(app)), what="a notification")
        await pilot.pause(0.2)
        assert len(toasts(app)) == 1
        assert "moved to" in " ".join(toasts(app)[0].split())


@async_test
async def test_an_unknown_start_lab_stays_home_with_one_line(sandbox, labs_home):
    app = make_app(sandbox, start_lab="no-such-lab")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: bool(toasts(app)), what="a notification")
        assert isinstance(app.screen, HomeScreen)
        assert any("There is no lab 'no-such-lab'" in toast for toast in toasts(app))


@async_test
async def test_quiz_one_question_at_a_time_and_recorded(sandbox, labs_home):
    app = make_app(sandbox, start_lab=LAB)
    async with app.run_test(size=SIZE) as pilot:
        lab_screen = await open_lab(pilot)
        questions = lab_screen.lab.quiz
        await pilot.press("escape", "q")
        quiz = app.screen
        assert isinstance(quiz, QuizScreen)
        first, second = questions[0], questions[1]
        await pilot.press(str(first.answer + 1))
        feedback = str(quiz.query_one("#quiz-feedback").render())
        assert feedback.startswith("✓ Right.") and first.explanation[:30] in feedback
        await pilot.press("enter")
        assert quiz.index == 1
        wrong = (second.answer + 1) % len(second.choices)
        await pilot.press(str(wrong + 1))
        feedback = str(quiz.query_one("#quiz-feedback").render())
        assert feedback.startswith(f"✗ Not quite: the answer is {second.answer + 1}.")
        await app.workers.wait_for_complete()
        answers = ProgressStore.open().lab(LAB)["quiz"]
        assert answers[first.id]["correct"] is True
        assert answers[second.id] == {**answers[second.id], "answer": wrong, "correct": False}
        await pilot.press("enter")
        for _ in questions[2:]:
            await pilot.press("1", "enter")
        assert "of 5 right" in str(quiz.query_one("#quiz-question").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, LabScreen), what="back in lab")
