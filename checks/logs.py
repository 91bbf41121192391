"""CloudWatch Logs checks: the log group a task's awslogs driver writes to."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws


def find_log_group(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    """The log group named exactly ``name`` (the API only filters by prefix)."""
    groups = aws.logs.paginate("describe_log_groups", "logGroups", logGroupNamePrefix=name)
    return next((g for g in groups if g["logGroupName"] == name), None)


class LogGroupParams(Params):
    log_group: str
    retention_days: int | None = Field(
        default=None, description="required retention; None accepts any, even never-expire")


@check("logs.log_group", title="The log group exists and expires its logs",
       params=LogGroupParams,
       hint="aws logs create-log-group, then aws logs put-retention-policy --retention-in-days.")
def log_group(aws: ReadOnlyAws, p: LogGroupParams) -> Result:
    group = find_log_group(aws, p.log_group)
    if group is None:
        variant = p.log_group[1:] if p.log_group.startswith("/") else "/" + p.log_group
        if find_log_group(aws, variant) is not None:
            return failed(f"Log group {p.log_group} does not exist, but {variant} does: the "
                          f"leading / is part of a log group's name, so the awslogs driver "
                          f"looking for {p.log_group} does not find it.",
                          expected=f"a log group named {p.log_group}",
                          actual=f"only {variant}")
        prefix = p.log_group.rsplit("/", 1)[0] + "/" if "/" in p.log_group.strip("/") else ""
        nearby = [g["logGroupName"] for g in
                  aws.logs.paginate("describe_log_groups", "logGroups",
                                    **({"logGroupNamePrefix": prefix} if prefix else {}))][:5]
        seen = f" (found: {', '.join(nearby)})" if nearby else ""
        return failed(f"Log group {p.log_group} does not exist{seen}.",
                      expected=f"a log group named {p.log_group}",
                      actual="no such log group" + seen)
    retention = group.get("retentionInDays")
    if p.retention_days is not None and retention != p.retention_days:
        if retention:
            return failed(f"Log group {p.log_group} keeps its logs for {retention} days.",
                          expected=f"a retention of {p.retention_days} days",
                          actual=f"logs kept {retention} days")
        return failed(f"Log group {p.log_group} never expires its logs (no retention policy).",
                      expected=f"a retention of {p.retention_days} days",
                      actual="logs never expire (no retention policy)")
    kept = f"{retention} days" if retention else "for ever"
    return passed(f"Log group {p.log_group} exists; logs are kept {kept}.")
