"""One cause, one message: pure logic of how a step's results are folded."""

from __future__ import annotations

from cloudkata.checks.result import Result, Status
from cloudkata.engine import missing_subject, one_message_per_cause


def failed(check_id: str, message: str) -> Result:
    return Result(Status.FAILED, message, expected="x", actual="y", check_id=check_id,
                  title=f"title of {check_id}")


def test_later_checks_on_a_missing_subject_are_blocked_by_the_first() -> None:
    results = one_message_per_cause([
        failed("iam.a", "Role r does not exist."),
        failed("iam.b", "Role r does not exist, so it may call nothing."),
        failed("iam.c", "Instance profile p does not exist."),
    ])
    assert [r.status for r in results] == [Status.FAILED, Status.BLOCKED, Status.FAILED]
    assert results[1].blocked_by == "iam.a"
    assert results[1].message == "Not checked: needs role r."
    assert results[1].expected is None and results[1].hint is None


def test_the_same_sentence_twice_is_blocked_even_without_a_missing_subject() -> None:
    results = one_message_per_cause([failed("x.a", "Port 80 is closed."),
                                     failed("x.b", "Port 80 is closed.")])
    assert [r.status for r in results] == [Status.FAILED, Status.BLOCKED]
    assert results[1].message == "Not checked: needs title of x.a."


def test_different_failures_and_passes_are_left_alone() -> None:
    ok = Result(Status.PASSED, "Role r exists.", check_id="iam.z")
    results = one_message_per_cause([ok, failed("iam.a", "Role r trusts ec2."),
                                     failed("iam.b", "Role r lacks a policy.")])
    assert [r.status for r in results] == [Status.PASSED, Status.FAILED, Status.FAILED]


def test_vague_subjects_are_not_treated_as_one_cause() -> None:
    assert missing_subject(failed("a", "The resource does not exist: x")) is None
    assert missing_subject(failed("a", "EKS cluster k does not exist.")) == "EKS cluster k"
    results = one_message_per_cause([failed("a", "The resource does not exist: x"),
                                     failed("b", "The resource does not exist: y")])
    assert [r.status for r in results] == [Status.FAILED, Status.FAILED]
