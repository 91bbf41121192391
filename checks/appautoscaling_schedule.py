"""Application Auto Scaling check of scheduled actions: a schedule (``cron``, ``rate`` or
``at``) that sets the scalable target's limits at given times.

It lives apart from :mod:`.appautoscaling` (whose lookups it uses) because most of it is the
comparison of schedules: two cron expressions written differently (``MON-FRI`` and ``2-6``,
``*`` and ``?``) match when they fire at the same times, and a mismatch is reported field by
field, in words.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from .appautoscaling import (
    Found,
    ServiceParams,
    cap,
    discovery_note,
    find_target,
    no_target,
    scheduled_actions,
)
from .registry import check
from .result import Result, failed, passed
from .session import ReadOnlyAws


class ScheduledParams(ServiceParams):
    kind: Literal["cron", "rate", "at"] = "cron"
    action: str | None = Field(default=None, description="the action's name: with it, that "
                               "action is judged against the parameters below")
    schedule: str | None = Field(default=None, description="e.g. cron(0 8 ? * MON-FRI *); two "
                                 "cron expressions match when they fire at the same times")
    timezone: str = Field(default="UTC", description="the action's expected time zone")
    min_capacity: int | None = Field(default=None, ge=0)
    max_capacity: int | None = Field(default=None, ge=0)


_DAYS = {d: n for n, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_MONTHS = {m: n for n, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
                                        "SEP", "OCT", "NOV", "DEC"), 1)}
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int] | None], ...] = (
    ("minute", 0, 59, None), ("hour", 0, 23, None), ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS), ("day of week", 1, 7, _DAYS), ("year", 1970, 2199, None))
_UTC = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU", "UNIVERSAL", "ETC/UNIVERSAL"}


def _cron_value(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)


def _cron_set(text: str, low: int, high: int,
              names: dict[str, int] | None) -> frozenset[int] | None:
    """The values one cron field allows; None for any (``*``, ``?`` or the whole range).
    Raises ValueError on what is not compared by value (L, W, #)."""
    if text in ("*", "?"):
        return None
    allowed: set[int] = set()
    for part in text.split(","):
        part, _, every = part.partition("/")
        step = int(every) if every else 1
        if part in ("*", ""):
            first, last = low, high
        elif "-" in part:
            first_text, last_text = part.split("-", 1)
            first, last = _cron_value(first_text, names), _cron_value(last_text, names)
        else:
            first = _cron_value(part, names)
            last = high if every else first
        allowed.update(range(first, last + 1, step))
    return None if allowed >= set(range(low, high + 1)) else frozenset(allowed)


def _cron(schedule: str | None) -> list[frozenset[int] | None] | None:
    """A cron(...) expression as the values of its six fields, or None (not cron, or a form
    compared as text)."""
    found = re.fullmatch(r"\s*cron\((.*)\)\s*", schedule or "")
    fields = found[1].split() if found else []
    if len(fields) != len(_CRON_FIELDS):
        return None
    try:
        return [_cron_set(text, low, high, names)
                for text, (_, low, high, names) in zip(fields, _CRON_FIELDS, strict=True)]
    except ValueError:
        return None


def same_schedule(actual: str | None, expected: str) -> bool:
    mine, theirs = _cron(actual), _cron(expected)
    if mine is not None and theirs is not None:
        return mine == theirs
    return " ".join(str(actual or "").split()) == " ".join(expected.split())


def _render(values: frozenset[int] | None, names: dict[str, int] | None) -> str:
    if values is None:
        return "any"
    label = {n: t for t, n in (names or {}).items()}
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    words = [label.get(r[0], str(r[0])) if len(r) == 1 else
             f"{label.get(r[0], str(r[0]))}-{label.get(r[-1], str(r[-1]))}" for r in runs]
    return ",".join(words)


def _schedule_difference(actual: str, expected: str) -> str:
    """In words, where a cron schedule fires otherwise than the expected one."""
    mine, theirs = _cron(actual), _cron(expected)
    if mine is None or theirs is None:
        return f"schedule {actual}, not {expected}"
    texts = re.fullmatch(r"\s*cron\((.*)\)\s*", actual)[1].split()  # type: ignore[index]  # _cron(actual) matched it
    parts = []
    for (field, _, _, names), have, want, text in zip(_CRON_FIELDS, mine, theirs, texts,
                                                       strict=True):
        if have != want:
            shown = _render(have, names)
            note = (" (AWS cron numbers the days 1 = SUN to 7 = SAT)"
                    if field == "day of week" and any(c.isdigit() for c in text) else "")
            parts.append(f"{field} {text}" + (f" (= {shown})" if shown != text else "")
                         + f", not {_render(want, names)}{note}")
    return f"{actual} fires at other times: " + "; ".join(parts)


def _zone(name: str | None) -> str:
    return "UTC" if not name or name.upper() in _UTC else name


def _action_words(schedule: str | None, zone: str | None, low: Any, high: Any) -> str:
    limits = ", ".join(f"{word} {value}" for word, value in (("min", low), ("max", high))
                       if value is not None) or "no limits"
    return f"{schedule or 'any schedule'} ({_zone(zone)}): {limits}"


def _judge_action(found: Found, actions: list[dict[str, Any]], p: ScheduledParams) -> Result:
    """The named action (or, by discovery, one under another name that fires at the same
    times in the same zone), judged against every expected setting."""
    chosen = next((a for a in actions if a["ScheduledActionName"] == p.action), None)
    how = ""
    if chosen is None and p.schedule:
        same = [a for a in actions if same_schedule(a.get("Schedule"), p.schedule)
                and _zone(a.get("Timezone")) == _zone(p.timezone)]
        if same:
            chosen = same[0]
            how = (f" (found by discovery: no action {p.action}; this one fires at "
                   f"{p.schedule} {_zone(p.timezone)} too)")
    expected = _action_words(p.schedule, p.timezone, p.min_capacity, p.max_capacity)
    if chosen is None:
        return failed(
            f"{cap(found.label)} has no scheduled action {p.action}{discovery_note(found)}.",
            expected=f"{p.action}: {expected}",
            actual="; ".join(f"{a['ScheduledActionName']}: {a.get('Schedule')}"
                             for a in actions) or "no scheduled action")
    name = chosen["ScheduledActionName"]
    schedule = str(chosen.get("Schedule") or "")
    zone = chosen.get("Timezone")
    wanted = chosen.get("ScalableTargetAction") or {}
    low, high = wanted.get("MinCapacity"), wanted.get("MaxCapacity")
    problems = []
    if p.schedule and not same_schedule(schedule, p.schedule):
        problems.append(_schedule_difference(schedule, p.schedule))
    if _zone(zone) != _zone(p.timezone):
        problems.append(f"it runs in time zone {_zone(zone)}, not {_zone(p.timezone)}")
    for word, value, expect in (("minimum", low, p.min_capacity),
                                ("maximum", high, p.max_capacity)):
        if expect is not None and value != expect:
            problems.append(f"it sets the {word} to {value}, not {expect}" if value is not None
                            else f"it sets no {word} (the {word} would stay as it is, not "
                                 f"{expect})")
    if low is not None and high is not None and low > high:
        problems.append(f"it sets min {low} above max {high}")
    actual = _action_words(schedule, zone, low, high)
    if problems:
        return failed(f"Scheduled action {name}{how} of {found.label} is wrong: "
                      + "; ".join(problems) + ".", expected=expected, actual=actual)
    limits = ", ".join(f"{word} {value}" for word, value in (("min", low), ("max", high))
                       if value is not None)
    return passed(f"Scheduled action {name}{how} sets {limits} for {found.label} at {schedule} "
                  f"({_zone(zone)}){discovery_note(found)}.")


@check("appautoscaling.scheduled_action", title="A scheduled action changes the limits on a "
       "schedule", params=ScheduledParams,
       hint="put-scheduled-action --schedule 'cron(...)' --scalable-target-action "
            "MinCapacity=N,MaxCapacity=M")
def scheduled_action(aws: ReadOnlyAws, p: ScheduledParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return no_target(aws, p.cluster, p.service, p.target_group)
    actions = scheduled_actions(aws, found)
    if p.action is not None:
        return _judge_action(found, actions, p)
    if not actions:
        return failed(f"{cap(found.label)} has no scheduled action{discovery_note(found)}.",
                      expected=f"a scheduled action with a {p.kind}(...) schedule",
                      actual="no scheduled action")
    of_kind = [a for a in actions if str(a.get("Schedule", "")).startswith(f"{p.kind}(")]
    if not of_kind:
        return failed(
            f"No scheduled action of {found.label} uses a {p.kind}(...) schedule.",
            expected=f"a schedule such as {p.kind}(...)",
            actual="; ".join(f"{a['ScheduledActionName']}: {a.get('Schedule')}"
                             for a in actions))
    problems = []
    for action in of_kind:
        wanted = action.get("ScalableTargetAction") or {}
        low, high = wanted.get("MinCapacity"), wanted.get("MaxCapacity")
        name = action["ScheduledActionName"]
        if low is None and high is None:
            problems.append(f"{name} sets neither a minimum nor a maximum")
        elif low is not None and high is not None and low > high:
            problems.append(f"{name} sets min {low} above max {high}")
        else:
            limits = ", ".join(f"{word} {value}" for word, value in (("min", low), ("max", high))
                               if value is not None)
            zone = action.get("Timezone") or "UTC"
            return passed(f"Scheduled action {name} sets {limits} for {found.label} at "
                          f"{action['Schedule']} ({zone}){discovery_note(found)}.")
    return failed(f"The scheduled actions of {found.label} would change nothing useful.",
                  expected="a ScalableTargetAction with MinCapacity and/or MaxCapacity, "
                           "min not above max",
                  actual="; ".join(problems))
