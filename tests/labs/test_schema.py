"""The lab schema: strict models and ``{variable}`` substitution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cloudkata.labs import (
    Catalogue,
    Lab,
    LabFileError,
    QuizQuestion,
    parse_lab,
    resolve,
    substitute,
)

JSON_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}'


def lab_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "demo",
        "title": "Demo",
        "summary": "A lab for tests.",
        "minutes": 5,
        "variables": {"role": "demoRole", "bucket": "demo-bucket"},
        "steps": [{
            "id": "first",
            "title": "First",
            "text": "demo/01.md",
            "commands": [
                "aws iam create-role --role-name {role} --assume-role-policy-document file://t.json",
                f"aws iam put-role-policy --role-name {{role}} --policy-document '{JSON_POLICY}'",
                "echo {unknown} {region}",
            ],
            "checks": [{"use": "iam.role_may_call",
                        "with": {"role": "{role}", "actions": ["s3:GetObject"],
                                 "resource": "arn:aws:s3:::{bucket}/*"},
                        "points": 2}],
            "hints": ["Create {role}.", "Then read from {bucket}."],
            "solution": ["aws iam create-role --role-name {role}"],
        }],
        "quiz": [{"id": "q", "question": "Which role is {role}?", "choices": ["a", "b"],
                  "answer": 1, "explanation": "{role} is b."}],
        "teardown": ["aws iam delete-role --role-name {role}"],
    }
    data.update(changes)
    return data


def test_substitute_strings_lists_and_dicts() -> None:
    variables = {"a": "1", "b": "2"}
    assert substitute("{a}-{b}", variables) == "1-2"
    assert substitute(["{a}", {"k": "{b}", "n": 3}], variables) == ["1", {"k": "2", "n": 3}]
    assert substitute(7, variables) == 7


def test_substitute_leaves_json_and_unknown_names_alone() -> None:
    assert substitute(JSON_POLICY, {"Version": "x", "Effect": "y"}) == JSON_POLICY
    assert substitute("{missing} {a}", {"a": "1"}) == "{missing} 1"
    assert substitute("${HOME} {a b} {HOME}", {"HOME": "x"}) == "${HOME} {a b} x"  # bash's own


def test_resolve_substitutes_commands_params_hints_quiz_and_teardown() -> None:
    lab = Lab.model_validate(lab_data())
    variables = {**lab.variables, "region": "eu-west-1"}
    resolved = resolve(lab, variables)
    step = resolved.steps[0]
    assert step.commands[0].startswith("aws iam create-role --role-name demoRole ")
    assert json.loads(step.commands[1].split("'")[1]) == json.loads(JSON_POLICY)
    assert step.commands[2] == "echo {unknown} eu-west-1"
    assert step.checks[0].with_ == {"role": "demoRole", "actions": ["s3:GetObject"],
                                    "resource": "arn:aws:s3:::demo-bucket/*"}
    assert step.checks[0].points == 2
    assert step.hints == ["Create demoRole.", "Then read from demo-bucket."]
    assert step.solution == ["aws iam create-role --role-name demoRole"]
    assert resolved.quiz[0].question == "Which role is demoRole?"
    assert resolved.quiz[0].explanation == "demoRole is b."
    assert resolved.teardown == ["aws iam delete-role --role-name demoRole"]
    assert resolved.variables == variables
    assert lab.steps[0].hints[0] == "Create {role}."  # the original is untouched


def test_overrides_win_over_lab_variables() -> None:
    lab = Lab.model_validate(lab_data())
    resolved = resolve(lab, {**lab.variables, "role": "myRole"})
    assert resolved.steps[0].checks[0].with_["role"] == "myRole"
    assert resolved.steps[0].hints[0] == "Create myRole."
    assert resolved.steps[0].checks[0].with_["resource"] == "arn:aws:s3:::demo-bucket/*"


def test_the_real_lab_resolves_everything() -> None:
    lab = Catalogue.default().load("ecs-iam-roles")
    resolved = resolve(lab, {**lab.variables, "region": "us-east-1",
                             "account_id": "123456789012"})
    for step in resolved.steps:
        texts = [*step.commands, *step.hints, *step.solution,
                 *(json.dumps(ref.with_) for ref in step.checks)]
        for text in texts:
            for name in lab.variables:
                assert "{" + name + "}" not in text, (step.id, text)
    # the JSON policy in the task-role solution keeps its braces
    assert any('{"Version": "2012-10-17"' in line for line in resolved.step("task-role").solution)


def test_quiz_answer_out_of_range() -> None:
    with pytest.raises(ValidationError, match="answer 2 is not one of the 2 choices"):
        QuizQuestion(id="q", question="?", choices=["a", "b"], answer=2, explanation="x")


def test_quiz_answer_out_of_range_in_a_file_names_the_question(tmp_path: Path) -> None:
    text = (
        "id: demo\ntitle: Demo\nsummary: s\nminutes: 5\n"
        "steps:\n"
        "  - {id: a, title: A, text: a.md, checks: [{use: iam.role_exists, with: {role: r}}],\n"
        "     hints: [h], solution: [s]}\n"
        "quiz:\n"
        "  - id: q\n"
        "    question: Which?\n"
        "    choices: [a, b]\n"
        "    answer: 2\n"
        "    explanation: b.\n"
    )
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabFileError) as caught:
        parse_lab(path)
    assert str(caught.value) == f"{path}:9: quiz[0]: answer 2 is not one of the 2 choices"


def test_negative_quiz_answer() -> None:
    with pytest.raises(ValidationError):
        QuizQuestion(id="q", question="?", choices=["a", "b"], answer=-1, explanation="x")


@pytest.mark.parametrize(
    ("field", "value"),
    [("minutes", 0), ("steps", []), ("id", "Bad_Id"), ("title", ""), ("extra", "x")],
)
def test_lab_rejects(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        Lab.model_validate(lab_data(**{field: value}))


def test_duplicate_quiz_ids() -> None:
    question = lab_data()["quiz"][0]
    with pytest.raises(ValidationError, match="quiz id 'q' is used twice"):
        Lab.model_validate(lab_data(quiz=[question, question]))


def test_step_lookup() -> None:
    lab = Lab.model_validate(lab_data())
    assert lab.step("first").title == "First"
    assert lab.step_index("first") == 0
    with pytest.raises(KeyError):
        lab.step("nope")
