"""What a check says: a status plus words a learner understands.

``failed`` is the learner's state (something is missing or wrong); ``error`` is the
environment (endpoint down, no credentials, throttled); ``skipped`` says why this target
cannot judge the check. Keeping the two apart is what makes feedback trustworthy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    """Not checked, because another check of the step already reports its cause missing."""

    @property
    def symbol(self) -> str:
        return {"passed": "✓", "failed": "✗", "error": "!", "skipped": "-",
                "blocked": "·"}[self.value]


@dataclass(frozen=True)
class Result:
    """One check's verdict.

    ``message`` is one sentence naming the resource; ``expected``/``actual`` are plain words
    ("a trust policy for ec2.amazonaws.com" vs "trusts ecs-tasks.amazonaws.com").
    """

    status: Status
    message: str
    expected: str | None = None
    actual: str | None = None
    hint: str | None = None
    check_id: str = ""
    title: str = ""
    points: int = 1
    blocked_by: str | None = None
    """For a blocked result: the id of the check that reports the missing subject."""

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def with_meta(self, **changes: object) -> Result:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check_id,
            "title": self.title,
            "status": self.status.value,
            "message": self.message,
            "expected": self.expected,
            "actual": self.actual,
            "hint": self.hint,
            "points": self.points,
            "blocked_by": self.blocked_by,
        }


def passed(message: str, **kw: str | None) -> Result:
    return Result(Status.PASSED, message, **kw)  # type: ignore[arg-type]


def failed(
    message: str, *, expected: str | None = None, actual: str | None = None,
    hint: str | None = None,
) -> Result:
    return Result(Status.FAILED, message, expected=expected, actual=actual, hint=hint)


def error(message: str) -> Result:
    return Result(Status.ERROR, message)


def skipped(message: str) -> Result:
    return Result(Status.SKIPPED, message)
