"""Application Auto Scaling scheduled actions fire on the simulated clock.

A scheduled action (``at(...)``, ``rate(...)`` or ``cron(...)``, in its time zone) sets the
scalable target's min/max capacity; the current capacity is then clamped into the new range,
each change a scaling activity. moto stores the actions and never runs them. The schedule
expressions are parsed here (and validated, as AWS does, by the PutScheduledAction hook in
``app_autoscaling``); the capacity and the activity log are ``scaling_common``'s.
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..control.backends import loaded
from ..control.plane import ControlPlane, reconciler
from .scaling_common import (
    change_capacity,
    current_capacity,
    record_activity,
    scaling_state,
    suspended,
)

CRON_LOOKBACK = 2 * 24 * 3600
"""After a long idle gap a cron schedule is checked over the last two simulated days only."""


_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"cron\((.+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i + 1 for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def schedule_problem(schedule: str | None, timezone: str | None) -> str | None:
    """Why AWS would refuse this Schedule/Timezone, or None."""
    try:
        _zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"Invalid Timezone: {timezone}"
    text = (schedule or "").strip()
    at = _AT.match(text)
    if at:
        try:
            datetime.fromisoformat(at[1])
        except ValueError:
            return f"Invalid at expression: {text}"
        return None
    rate = _RATE.match(text)
    if rate:
        return None if int(rate[1]) > 0 else f"Invalid rate expression: {text}"
    cron = _CRON.match(text)
    if cron and len(cron[1].split()) == 6:
        return None
    return (f"Invalid schedule expression: {text!r}. Use at(yyyy-mm-ddThh:mm:ss), "
            "rate(value unit) or cron(minutes hours day-of-month month day-of-week year).")


def _cron_field(text: str, low: int, high: int,
                names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows (None: any). Raises ValueError for what we do not
    simulate (L, W, #)."""
    if text in ("*", "?"):
        return None
    allowed: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            first, last = low, high
        elif "-" in part:
            first_text, last_text = part.split("-", 1)
            first, last = _cron_value(first_text, names), _cron_value(last_text, names)
        else:
            first = _cron_value(part, names)
            last = high if step > 1 else first
        allowed.update(range(first, last + 1, step))
    return allowed


def _cron_value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


def _cron_matcher(fields: str) -> Any:
    minute, hour, dom, month, dow, year = fields.split()
    sets = (_cron_field(minute, 0, 59), _cron_field(hour, 0, 23),
            None if dom == "L" else _cron_field(dom, 1, 31),
            _cron_field(month, 1, 12, _MONTHS), _cron_field(dow, 1, 7, _DAYS),
            _cron_field(year, 1970, 2199))
    last_day = dom == "L"

    def matches(moment: datetime) -> bool:
        aws_dow = (moment.weekday() + 1) % 7 + 1  # AWS: 1 = SUN ... 7 = SAT
        values = (moment.minute, moment.hour, moment.day, moment.month, aws_dow, moment.year)
        if last_day and moment.day != calendar.monthrange(moment.year, moment.month)[1]:
            return False
        pairs = zip(sets, values, strict=True)
        return all(allowed is None or value in allowed for allowed, value in pairs)

    return matches


def _epoch(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).timestamp()


def fire_times(schedule: str, timezone: str | None, anchor: float, after: float,
               until: float) -> list[float]:
    """Times in (after, until] at which this schedule fires (``anchor``: when rate() began)."""
    zone = _zone(timezone)
    text = schedule.strip()
    at = _AT.match(text)
    if at:
        moment = datetime.fromisoformat(at[1]).replace(tzinfo=zone).timestamp()
        return [moment] if after < moment <= until else []
    rate = _RATE.match(text)
    if rate:
        interval = int(rate[1]) * _UNITS[rate[2].rstrip("s")]
        first = math.floor((after - anchor) / interval) + 1
        last = math.floor((until - anchor) / interval)
        return [anchor + k * interval for k in range(max(first, 1), last + 1)][-10:]
    cron = _CRON.match(text)
    if not cron:
        return []
    try:
        matches = _cron_matcher(cron[1])
    except ValueError:
        return []  # L/W/# forms are accepted but not simulated
    start = max(after, until - CRON_LOOKBACK)
    minute = math.floor(start / 60) * 60 + 60
    times = []
    while minute <= until:
        if matches(datetime.fromtimestamp(minute, zone)):
            times.append(float(minute))
        minute += 60
    return times[-10:]


def _fire(plane: ControlPlane, account: str, region: str, backend: Any, action: Any,
          when: float) -> None:
    target = backend.targets.get(action.scalable_dimension, {}).get(action.resource_id)
    if target is None or suspended(target, "ScheduledScalingSuspended"):
        return
    wanted = action.scalable_target_action or {}
    new_min, new_max = wanted.get("MinCapacity"), wanted.get("MaxCapacity")
    low = int(new_min) if new_min is not None else target.min_capacity
    high = int(new_max) if new_max is not None else target.max_capacity
    if low is not None and high is not None and low > high:
        return
    target.min_capacity, target.max_capacity = low, high
    parts = []
    if new_min is not None:
        parts.append(f"min capacity to {low}")
    if new_max is not None:
        parts.append(f"max capacity to {high}")
    if parts:
        record_activity(plane, account, region, target.service_namespace, target.resource_id,
                        target.scalable_dimension, "Setting " + " and ".join(parts),
                        f"scheduled action name {action.scheduled_action_name} was triggered",
                        "Successfully set " + " and ".join(parts), when)
    current = current_capacity(account, region, target)
    if current is None:
        return
    if low is not None and current < low:
        change_capacity(plane, account, region, target, low,
                         f"minimum capacity was set to {low}", when)
    elif high is not None and current > high:
        change_capacity(plane, account, region, target, high,
                         f"maximum capacity was set to {high}", when)


@reconciler(70)
def run_scheduled_actions(plane: ControlPlane) -> None:
    """Scheduled actions fire on the simulated clock, in time order."""
    now = plane.now()
    state = scaling_state(plane)
    seen: dict[str, dict[str, Any]] = state["scheduled"]
    live: set[str] = set()
    due: list[tuple[float, int, str, str, Any, Any]] = []
    for account, region, backend in loaded("applicationautoscaling"):
        for action in list(backend.scheduled_actions):
            key = f"{account}|{region}|{action.arn}"
            live.add(key)
            mark = seen.get(key)
            signature = [action.schedule, action.timezone,
                         _epoch(action.start_time), _epoch(action.end_time)]
            if mark is None or mark["signature"] != signature:
                # new or changed: it fires from now on (a time already past never fires)
                seen[key] = {"checked": now, "anchor": _epoch(action.start_time) or now,
                             "signature": signature}
                continue
            if now <= mark["checked"] or not action.schedule:
                continue
            start, end = signature[2], signature[3]
            try:
                moments = fire_times(action.schedule, action.timezone, mark["anchor"],
                                     mark["checked"], now)
            except (ValueError, KeyError):  # a schedule AWS would have refused never fires
                moments = []
            for moment in moments:
                if (start is None or moment >= start) and (end is None or moment <= end):
                    due.append((moment, len(due), account, region, backend, action))
            mark["checked"] = now
    for key in [key for key in seen if key not in live]:
        del seen[key]
    for moment, _, account, region, backend, action in sorted(due, key=lambda d: d[:2]):
        _fire(plane, account, region, backend, action, moment)
