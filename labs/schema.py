"""The lab file format, validated strictly: unknown keys are errors, not silently ignored."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

ID_PATTERN = r"^[a-z][a-z0-9-]*$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CheckRef(Model):
    """A use of a registered check with its parameters and the points it is worth."""

    use: str = Field(description="a registered check id, e.g. iam.role_trusts_service")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    points: int = Field(default=1, ge=0)


class Mistake(Model):
    """A mistake learners really make, proven to be caught: content tested like code.

    ``dev check`` solves the step, applies ``commands`` on top (aws CLI lines, or shell lines
    that edit a workspace file), checks the step and requires the check ``caught_by`` to fail
    with a message matching ``says``; then it puts the solved state back.
    """

    name: str = Field(min_length=1, description="what the learner got wrong, in a few words")
    commands: list[str] = Field(min_length=1, description="lines run on the solved state")
    caught_by: str = Field(description="id of a check of this step that must fail")
    says: str = Field(min_length=1, description="regex the check's failure must match")
    settle: int = Field(default=0, ge=0, description="simulated seconds before checking")

    @field_validator("says")
    @classmethod
    def _says_is_a_regex(cls, says: str) -> str:
        try:
            re.compile(says)
        except re.error as exc:
            raise ValueError(f"says is not a valid regular expression: {exc}") from None
        return says


class Step(Model):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    text: str = Field(description="Markdown file under content/, e.g. ecs-iam-roles/01-x.md")
    commands: list[str] = Field(default_factory=list)
    checks: list[CheckRef] = Field(min_length=1)
    hints: list[str] = Field(min_length=1, description="from a nudge to the answer")
    solution: list[str] = Field(min_length=1, description="AWS CLI lines that solve the step")
    settle: int = Field(
        default=0, ge=0,
        description="simulated seconds AWS needs to converge after the solution (instances "
                    "boot, targets turn healthy); the sandbox fast-forwards its clock by this "
                    "much after `solve` and in `dev check`",
    )

    mistakes: list[Mistake] = Field(
        default_factory=list,
        description="mistakes learners make here; dev check proves each is caught",
    )

    @model_validator(mode="after")
    def _mistakes_caught_here(self) -> Step:
        uses = {ref.use for ref in self.checks}
        names: set[str] = set()
        for mistake in self.mistakes:
            if mistake.caught_by not in uses:
                raise ValueError(f"mistake {mistake.name!r} is caught_by {mistake.caught_by}, "
                                 f"which is not a check of this step ({', '.join(sorted(uses))})")
            if mistake.name in names:
                raise ValueError(f"mistake {mistake.name!r} is listed twice")
            names.add(mistake.name)
        return self

    @field_validator("hints")
    @classmethod
    def _hints_not_blank(cls, hints: list[str]) -> list[str]:
        if any(not hint.strip() for hint in hints):
            raise ValueError("a hint is empty")
        return hints


class QuizQuestion(Model):
    id: str = Field(pattern=ID_PATTERN)
    question: str = Field(min_length=1)
    choices: list[str] = Field(min_length=2)
    answer: int = Field(ge=0, description="index of the right choice, from 0")
    explanation: str = Field(min_length=1)

    @model_validator(mode="after")
    def _answer_in_range(self) -> QuizQuestion:
        if self.answer >= len(self.choices):
            raise ValueError(f"answer {self.answer} is not one of the {len(self.choices)} choices")
        return self


class Lab(Model):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    minutes: int = Field(gt=0)
    requires: list[str] = Field(
        default_factory=list,
        description="ids of labs to do first; the loader refuses unknown labs and cycles",
    )
    variables: dict[str, str] = Field(default_factory=dict)
    cost: str | None = Field(default=None, description="what the lab costs on real AWS")
    concepts: str | None = Field(default=None, description="concept page under content/")
    workspace: str | None = Field(
        default=None, description="folder under content/ whose files are copied to the workspace"
    )
    steps: list[Step] = Field(min_length=1)
    quiz: list[QuizQuestion] = Field(default_factory=list)
    teardown: list[str] = Field(default_factory=list)

    @field_validator("requires")
    @classmethod
    def _requires_others_once(cls, requires: list[str], info: ValidationInfo) -> list[str]:
        """A lab cannot come before itself; the loader finds longer cycles (it sees all labs).

        Caught here, where the file's line is known, because following such a lab's
        prerequisites would otherwise recurse until Python gives up.
        """
        lab_id = info.data.get("id")
        if lab_id in requires:
            raise ValueError(f"Lab {lab_id} requires itself ({lab_id} → {lab_id} is a cycle)")
        repeated = sorted({item for item in requires if requires.count(item) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} is listed twice")
        return requires

    @model_validator(mode="after")
    def _unique_ids(self) -> Lab:
        kinds = (("step", [s.id for s in self.steps]), ("quiz", [q.id for q in self.quiz]))
        for kind, ids in kinds:
            seen: set[str] = set()
            for item in ids:
                if item in seen:
                    raise ValueError(f"{kind} id {item!r} is used twice")
                seen.add(item)
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def step_index(self, step_id: str) -> int:
        return [s.id for s in self.steps].index(step_id)


VARIABLE = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace ``{name}`` with known variables in strings, lists and dicts.

    Unknown names are left alone, so JSON such as ``{"Version": ...}`` in a command survives;
    so is the shell's own ``${name}``, which a command means for bash, not for us.
    """
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def resolve(lab: Lab, variables: dict[str, str]) -> Lab:
    """The lab with its variables (plus overrides and built-ins) substituted everywhere."""
    data = lab.model_dump(by_alias=True)
    data["variables"] = variables
    for key in ("steps", "quiz", "teardown"):
        data[key] = substitute(data[key], variables)
    return Lab.model_validate(data)
