"""The log group check against the real sandbox."""

from __future__ import annotations

from cloudkata.checks import Status
from cloudkata.targets import Target
from tests.checks.test_ecs import LOG_GROUP, logs, run


def test_log_group_passes_with_its_retention(sandbox: Target) -> None:
    client = logs(sandbox)
    client.create_log_group(logGroupName=LOG_GROUP)
    client.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=7)
    result = run(sandbox, "logs.log_group", log_group=LOG_GROUP, retention_days=7)
    assert result.status is Status.PASSED
    assert result.message == "Log group /ecs/kata-web exists; logs are kept 7 days."


def test_log_group_fails_without_retention(sandbox: Target) -> None:
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    result = run(sandbox, "logs.log_group", log_group=LOG_GROUP, retention_days=7)
    assert result.status is Status.FAILED
    assert "never expire" in result.message


def test_log_group_fails_when_missing_and_names_neighbours(sandbox: Target) -> None:
    logs(sandbox).create_log_group(logGroupName="/ecs/kata-wbe")
    result = run(sandbox, "logs.log_group", log_group=LOG_GROUP)
    assert result.status is Status.FAILED
    assert result.message == "Log group /ecs/kata-web does not exist (found: /ecs/kata-wbe)."


def test_log_group_prefix_is_not_a_match(sandbox: Target) -> None:
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP + "-old")
    result = run(sandbox, "logs.log_group", log_group=LOG_GROUP)
    assert result.status is Status.FAILED


def test_log_group_without_its_leading_slash_is_named(sandbox: Target) -> None:
    logs(sandbox).create_log_group(logGroupName="ecs/kata-web")
    result = run(sandbox, "logs.log_group", log_group=LOG_GROUP, retention_days=7)
    assert result.status is Status.FAILED
    assert result.message.startswith("Log group /ecs/kata-web does not exist, but ecs/kata-web "
                                      "does: the leading / is part of a log group's name")
    assert result.actual == "only ecs/kata-web"
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    assert run(sandbox, "logs.log_group", log_group=LOG_GROUP).status is Status.PASSED
