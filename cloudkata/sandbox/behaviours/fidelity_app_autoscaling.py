"""Application Auto Scaling's cron rule for the two day fields, which AWS enforces.

In AWS's six-field cron (``cron(minutes hours day-of-month month day-of-week year)``) the
day-of-month and day-of-week fields cannot both be given: "If you specify a value or a * in
one of the fields, you must use a ? in the other" (EventBridge cron reference, which
Application Auto Scaling's scheduled actions use). ``PutScheduledAction`` with
``cron(0 8 * * MON-FRI *)`` is refused with a ValidationException whose message starts
"Invalid schedule expression. Details: Invalid CRON expression: " (AWS's details for that case
are misleading, "Invalid Month value: 'MON'", hashicorp/terraform-provider-aws#13995). The
sandbox accepted it (its schedule check looks at the expression's shape only) and then fired
the action every weekday; here it is refused with AWS's start and a detail that says what to
change.

A request hook only. Behaviour modules load in name order, so it runs after the Application
Auto Scaling modules' own PutScheduledAction hook: an unregistered target and a malformed
expression are refused there first.
"""

from __future__ import annotations

import re

from ..control import api
from ..control.plane import ControlPlane, Request

_CRON = re.compile(r"\s*cron\((.*)\)\s*$")


def day_fields_problem(schedule: str) -> str | None:
    """Why AWS refuses this six-field cron expression's day fields, or None (also for what is
    not a six-field cron expression: that is ``app_autoscaling``'s to judge)."""
    cron = _CRON.match(schedule)
    fields = cron[1].split() if cron else []
    if len(fields) != 6:
        return None
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") != (day_of_week == "?"):
        return None
    expression = f"cron({' '.join(fields)})"
    if day_of_month == "?":
        what = f"{expression} has ? in both day-of-month and day-of-week: ? goes in one only"
        fixed = [*fields[:2], "*", *fields[3:]]
    else:
        what = (f"{expression} gives both a day-of-month ({day_of_month}) and a day-of-week "
                f"({day_of_week}): use ? in one of them")
        # keep the field the learner meant: the weekdays, or else the days of the month
        fixed = ([*fields[:4], "?", fields[5]] if day_of_week == "*"
                 else [*fields[:2], "?", *fields[3:]])
    return ("Invalid schedule expression. Details: Invalid CRON expression: "
            f"{what}, e.g. cron({' '.join(fixed)}).")


@api.before("application-autoscaling", action="PutScheduledAction")
def refuse_both_day_fields(plane: ControlPlane, request: Request) -> api.Response | None:
    schedule = request.params.get("Schedule")
    if not isinstance(schedule, str):
        return None
    problem = day_fields_problem(schedule)
    if problem is None:
        return None
    return api.aws_error("ValidationException", problem)
