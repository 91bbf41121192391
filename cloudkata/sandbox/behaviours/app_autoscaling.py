"""Scaling: Application Auto Scaling (ECS services) and EC2 Auto Scaling policies really scale.

moto stores scalable targets, scaling policies and scheduled actions, but nothing ever scales,
and it has no ``DescribeScalingActivities``. On AWS:

- An alarm whose action is a **step scaling** policy picks the step whose bounds (relative to
  the alarm threshold) contain the breach, and changes capacity by ``ChangeInCapacity``,
  ``PercentChangeInCapacity`` or ``ExactCapacity``, then waits ``Cooldown`` (300 s for ECS).
- A **target tracking** policy owns two alarms: ``AlarmHigh`` (metric > target for 3 of 3
  minutes) scales out to ``ceil(capacity * metric / target)``; ``AlarmLow`` (metric < 90% of
  the target for 15 of 15 minutes) scales in, conservatively, unless ``DisableScaleIn``.
  Cooldowns default to 300 s. While a scale-out cooldown runs, the capacity it added counts as
  already there: a further scale-out is computed from the capacity before it.
- **Scheduled actions** (``at(...)``, ``rate(...)``, ``cron(...)``, in their time zone) set the
  target's min/max capacity; the current capacity is then clamped into the new range.
- Capacity always stays within the scalable target's ``MinCapacity``/``MaxCapacity``, and each
  change is a scaling activity (``Setting desired count to 4.``) that
  ``describe-scaling-activities`` lists, newest first.

Here the alarm evaluator (``alarms.py``) calls :func:`execute_action` with the policy ARN of
each alarm action; the reconciler below fires scheduled actions on the simulated clock. For an
ECS service "capacity" is its ``desiredCount`` in moto's ECS backend; starting the tasks is the
ECS scheduler's job. EC2 Auto Scaling simple and step policies change the group's desired
capacity (moto then launches or terminates instances) within MinSize/MaxSize.
"""

from __future__ import annotations

import calendar
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import patches
from ..control import api
from ..control.backends import find, loaded
from ..control.plane import ControlPlane, Request, reconciler
from . import ec2_autoscaling

JSON_11 = "application/x-amz-json-1.1"
DEFAULT_COOLDOWN = 300.0
"""Application Auto Scaling's default Cooldown / ScaleOutCooldown / ScaleInCooldown for ECS."""
LOW_ALARM_FACTOR = 0.9
MAX_ACTIVITIES = 2000
CRON_LOOKBACK = 2 * 24 * 3600
"""After a long idle gap a cron schedule is checked over the last two simulated days only."""


@dataclass(frozen=True)
class AlarmTrigger:
    """What an alarm tells the policy it runs: which alarm, its state, the breaching value."""

    alarm_name: str
    state: str
    metric_value: float | None
    threshold: float
    comparison: str
    when: float

    @property
    def above(self) -> bool:
        return self.comparison.startswith("Greater")


# --------------------------------------------------------------------------- state


def _state(plane: ControlPlane) -> dict[str, Any]:
    state: dict[str, Any] = plane.module_state("app_autoscaling", dict)
    state.setdefault("activities", [])  # Application Auto Scaling activities, oldest first
    state.setdefault("cooldowns", {})  # scalable target key -> cooldown bookkeeping
    state.setdefault("scheduled", {})  # scheduled action key -> {"checked", "schedule", ...}
    state.setdefault("asg_cooldowns", {})  # group key -> {"until", "base"}
    return state


def _target_key(account: str, region: str, namespace: str, resource_id: str,
                dimension: str) -> str:
    return f"{account}|{region}|{namespace}|{resource_id}|{dimension}"


def record_activity(plane: ControlPlane, account: str, region: str, namespace: str,
                    resource_id: str, dimension: str, description: str, cause: str,
                    message: str, when: float) -> dict[str, Any]:
    """Append one successful scaling activity in DescribeScalingActivities' shape."""
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "ServiceNamespace": namespace,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "Description": description,
        "Cause": cause,
        "StartTime": when,
        "EndTime": when,
        "StatusCode": "Successful",
        "StatusMessage": message,
        "_account": account,
        "_region": region,
    }
    activities: list[dict[str, Any]] = _state(plane)["activities"]
    activities.append(activity)
    del activities[:-MAX_ACTIVITIES]
    return activity


# --------------------------------------------------------------------------- capacity


def _ecs_service(account: str, region: str, resource_id: str) -> Any | None:
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service":
        return None
    ecs = find("ecs", account, region)
    if ecs is None:
        return None
    service = ecs.services.get(f"{parts[1]}:{parts[2]}")
    return service if service is not None and service.status == "ACTIVE" else None


def _current_capacity(account: str, region: str, target: Any) -> int | None:
    if target.service_namespace == "ecs":
        service = _ecs_service(account, region, target.resource_id)
        return None if service is None else int(service.desired_count or 0)
    return None  # other namespaces are stored but not simulated


def _set_capacity(account: str, region: str, target: Any, capacity: int) -> None:
    """ECS: UpdateService(desiredCount), as Application Auto Scaling calls it."""
    service = _ecs_service(account, region, target.resource_id)
    if service is None:
        return
    service.desired_count = capacity
    for deployment in getattr(service, "deployments", None) or []:
        if isinstance(deployment, dict) and deployment.get("status") == "PRIMARY":
            deployment["desiredCount"] = capacity


def _clamp(capacity: int, target: Any) -> int:
    if target.min_capacity is not None:
        capacity = max(capacity, int(target.min_capacity))
    if target.max_capacity is not None:
        capacity = min(capacity, int(target.max_capacity))
    return capacity


def truthy(value: Any) -> bool:
    """A boolean from the API (True) or from a CloudFormation template ("true")."""
    return value is True or str(value).lower() == "true"


def _suspended(target: Any, what: str) -> bool:
    state = target.suspended_state or {}
    return isinstance(state, dict) and truthy(state.get(what))


def _change_capacity(plane: ControlPlane, account: str, region: str, target: Any,
                     capacity: int, cause: str, when: float) -> bool:
    """Set a scalable target's capacity, record the activity; False if nothing changed."""
    current = _current_capacity(account, region, target)
    if current is None or capacity == current:
        return False
    _set_capacity(account, region, target, capacity)
    noun = "desired count" if target.service_namespace == "ecs" else "capacity"
    fulfilled = f" Change successfully fulfilled by {target.service_namespace}."
    record_activity(plane, account, region, target.service_namespace, target.resource_id,
                    target.scalable_dimension, f"Setting {noun} to {capacity}.", cause,
                    f"Successfully set {noun} to {capacity}.{fulfilled}", when)
    return True


def adjusted(current: int, adjustment_type: str, adjustment: float,
             min_magnitude: float | None = None) -> int:
    """Capacity after one adjustment, rounded as Auto Scaling documents it."""
    if adjustment_type == "ExactCapacity":
        return int(adjustment)
    if adjustment_type == "PercentChangeInCapacity":
        change = current * adjustment / 100.0
        if 0 < change < 1:
            step = 1
        elif -1 < change < 0:
            step = -1
        else:
            step = int(change)  # above 1 rounds down, below -1 rounds up (toward zero)
        if min_magnitude and step and abs(step) < min_magnitude:
            step = int(math.copysign(int(min_magnitude), step))
        return current + step
    return current + int(adjustment)  # ChangeInCapacity


def _bound(value: Any, default: float) -> float:
    return default if value in (None, "") else float(value)


def select_step(steps: list[dict[str, Any]], trigger: AlarmTrigger) -> float | None:
    """The ScalingAdjustment of the step containing (metric - threshold), or None.

    Above the threshold the lower bound is inclusive and the upper exclusive; below it the
    lower bound is exclusive and the upper inclusive (AWS's rule).
    """
    value = trigger.metric_value if trigger.metric_value is not None else trigger.threshold
    delta = value - trigger.threshold
    for step in steps:
        lower = _bound(step.get("MetricIntervalLowerBound"), -math.inf)
        upper = _bound(step.get("MetricIntervalUpperBound"), math.inf)
        inside = (lower <= delta < upper) if trigger.above else (lower < delta <= upper)
        if inside:
            return float(step.get("ScalingAdjustment", 0))
    return None


# --------------------------------------------------------------------------- policies


_APP_POLICY = re.compile(
    r"arn:[\w-]+:autoscaling:(?P<region>[\w-]+):(?P<account>\d{12}):scalingPolicy:[^:]+:"
    r"resource/(?P<namespace>[^/]+)/(?P<resource>.+?):policyName/(?P<name>[^:]+)"
    r"(?::createdBy/.*)?$")
_ASG_POLICY = re.compile(
    r"arn:[\w-]+:autoscaling:(?P<region>[\w-]+):(?P<account>\d{12}):scalingPolicy:[^:]+:"
    r"autoScalingGroupName/(?P<group>[^:]+):policyName/(?P<name>[^:]+)$")


def is_scaling_action(arn: str) -> bool:
    return bool(_APP_POLICY.match(arn) or _ASG_POLICY.match(arn))


def execute_action(plane: ControlPlane, arn: str, trigger: AlarmTrigger) -> str | None:
    """Run an alarm action naming a scaling policy. Returns what happened (for the alarm's
    history), or None when ``arn`` is not a scaling policy we know."""
    match = _APP_POLICY.match(arn)
    if match:
        return _run_app_policy(plane, match["account"], match["region"], match["namespace"],
                               match["resource"], match["name"], trigger)
    match = _ASG_POLICY.match(arn)
    if match:
        return _run_asg_policy(plane, match["account"], match["region"], match["group"],
                               match["name"], trigger)
    return None


def _run_app_policy(plane: ControlPlane, account: str, region: str, namespace: str,
                    resource_id: str, name: str, trigger: AlarmTrigger) -> str | None:
    backend = find("applicationautoscaling", account, region)
    if backend is None:
        return None
    # found by name, not ARN: an updated policy keeps working for the alarms that name it
    policy = next((p for p in list(backend.policies.values())
                   if p.service_namespace == namespace and p.resource_id == resource_id
                   and p.policy_name == name), None)
    if policy is None:
        return None
    target = backend.targets.get(policy.scalable_dimension, {}).get(resource_id)
    if target is None:
        return "no scalable target is registered for the policy"
    current = _current_capacity(account, region, target)
    if current is None:
        return f"the resource {resource_id} does not exist"
    cause = (f"monitor alarm {trigger.alarm_name} in state {trigger.state} triggered policy "
             f"{policy.policy_name}")
    key = _target_key(account, region, namespace, resource_id, policy.scalable_dimension)
    cooldown = _state(plane)["cooldowns"].setdefault(
        key, {"out_until": 0.0, "out_base": 0, "in_until": 0.0})
    when = trigger.when
    if policy.policy_type == "TargetTrackingScaling":
        wanted = _target_tracking(policy, current, cooldown, target, trigger)
        config = policy.target_tracking_scaling_policy_configuration or {}
        out_cooldown = float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN))
        in_cooldown = float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN))
    else:
        wanted = _step_scaling(policy, current, cooldown, target, trigger)
        config = policy.step_scaling_policy_configuration or {}
        out_cooldown = in_cooldown = float(config.get("Cooldown", DEFAULT_COOLDOWN))
    if wanted is None:
        return "no scaling needed"
    capacity = _clamp(wanted, target)
    if capacity == current:
        return "capacity already at its limit"
    if capacity > current:
        if when >= cooldown["out_until"]:
            cooldown["out_until"], cooldown["out_base"] = when + out_cooldown, current
        cooldown["in_until"] = 0.0  # a scale-out ends a scale-in cooldown
    else:
        cooldown["in_until"] = when + in_cooldown
    _change_capacity(plane, account, region, target, capacity, cause, when)
    return f"set capacity to {capacity}"


def _target_tracking(policy: Any, current: int, cooldown: dict[str, Any], target: Any,
                     trigger: AlarmTrigger) -> int | None:
    config = policy.target_tracking_scaling_policy_configuration or {}
    goal = float(config.get("TargetValue") or 0)
    metric = trigger.metric_value
    if goal <= 0 or metric is None:
        return None
    if trigger.above:  # AlarmHigh
        if _suspended(target, "DynamicScalingOutSuspended"):
            return None
        base = int(cooldown["out_base"]) if trigger.when < cooldown["out_until"] else current
        wanted = math.ceil(base * metric / goal - 1e-9)
        return wanted if wanted > current else None
    # AlarmLow: scale in gradually (about a tenth of the capacity, at least one, per activity)
    if truthy(config.get("DisableScaleIn")) or _suspended(target, "DynamicScalingInSuspended"):
        return None
    if trigger.when < cooldown["in_until"]:
        return None
    ideal = math.ceil(current * metric / goal - 1e-9)
    wanted = max(ideal, current - max(1, current // 10))
    return wanted if wanted < current else None


def _step_scaling(policy: Any, current: int, cooldown: dict[str, Any], target: Any,
                  trigger: AlarmTrigger) -> int | None:
    config = policy.step_scaling_policy_configuration or {}
    adjustment = select_step(config.get("StepAdjustments") or [], trigger)
    if adjustment is None:
        return None
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    magnitude = _bound(config.get("MinAdjustmentMagnitude"), 0.0) or None
    wanted = adjusted(current, kind, adjustment, magnitude)
    if wanted > current:
        if _suspended(target, "DynamicScalingOutSuspended"):
            return None
        if trigger.when < cooldown["out_until"]:
            # the capacity added by the scale-out that started the cooldown counts as there
            wanted = adjusted(int(cooldown["out_base"]), kind, adjustment, magnitude)
            return wanted if wanted > current else None
        return wanted
    if wanted < current:
        if _suspended(target, "DynamicScalingInSuspended") or trigger.when < cooldown["in_until"]:
            return None
        return wanted
    return None


def _asg_target_tracking(policy: Any, current: int, cooldown: dict[str, Any],
                         trigger: AlarmTrigger) -> int | None:
    """An EC2 Auto Scaling target-tracking policy's desired capacity: out in proportion to
    metric / target (instances still warming up count as there), in gradually and only when
    no scale-out is warming up and scale-in is not disabled (see ``asg_target_tracking``)."""
    configuration = getattr(policy, "target_tracking_configuration", None)
    config = dict(vars(configuration)) if configuration is not None else {}
    goal = float(config.get("TargetValue") or 0)
    metric = trigger.metric_value
    if goal <= 0 or metric is None:
        return None
    warming = trigger.when < cooldown["until"]
    if trigger.above:
        base = int(cooldown["base"]) if warming else current
        wanted = math.ceil(base * metric / goal - 1e-9)
        return wanted if wanted > current else None
    if truthy(config.get("DisableScaleIn")) or warming:
        return None
    ideal = math.ceil(current * metric / goal - 1e-9)
    wanted = max(ideal, current - max(1, current // 10))
    return wanted if wanted < current else None


def _run_asg_policy(plane: ControlPlane, account: str, region: str, group_name: str,
                    name: str, trigger: AlarmTrigger) -> str | None:
    """EC2 Auto Scaling simple, step and target-tracking policies."""
    backend = find("autoscaling", account, region)
    if backend is None:
        return None
    policy = backend.policies.get(name)
    group = backend.autoscaling_groups.get(group_name)
    if policy is None or group is None or policy.auto_scaling_group_name != group_name:
        return None
    current = int(group.desired_capacity or 0)
    kind = policy.adjustment_type or "ChangeInCapacity"
    magnitude = float(policy.min_adjustment_magnitude or 0) or None
    key = f"{account}|{region}|{group_name}"
    cooldown = _state(plane)["asg_cooldowns"].setdefault(key, {"until": 0.0, "base": 0})
    when = trigger.when
    if (policy.policy_type or "SimpleScaling") == "SimpleScaling":
        if when < cooldown["until"]:
            return "the group is in its cooldown"  # simple policies wait out the cooldown
        wanted = adjusted(current, kind, float(policy.scaling_adjustment or 0), magnitude)
        wait = float(policy.cooldown or group.default_cooldown or DEFAULT_COOLDOWN)
    elif policy.policy_type == "StepScaling":
        adjustment = select_step(list(policy.step_adjustments or []), trigger)
        if adjustment is None:
            return "no step adjustment matches the metric value"
        wanted = adjusted(current, kind, adjustment, magnitude)
        if wanted > current and when < cooldown["until"]:
            # instances still warming up count as capacity already added
            wanted = adjusted(int(cooldown["base"]), kind, adjustment, magnitude)
            if wanted <= current:
                return "instances are still warming up"
        wait = float(policy.estimated_instance_warmup or group.default_cooldown
                     or DEFAULT_COOLDOWN)
    elif policy.policy_type == "TargetTrackingScaling":
        tracked = _asg_target_tracking(policy, current, cooldown, trigger)
        if tracked is None:
            return "no scaling needed"
        wanted = tracked
        wait = float(policy.estimated_instance_warmup or group.default_cooldown
                     or DEFAULT_COOLDOWN)
    else:
        return None
    capacity = max(int(group.min_size or 0), min(int(group.max_size or 0), wanted))
    if capacity == current:
        return "desired capacity already at its limit"
    if when >= cooldown["until"]:
        cooldown["base"] = current
    cooldown["until"] = when + wait
    # the group's scaling activities (one per instance) carry this cause
    ec2_autoscaling.note_cause(
        plane, account, region, group_name,
        f"At {ec2_autoscaling.iso(when)} a monitor alarm {trigger.alarm_name} in state "
        f"{trigger.state} triggered policy {name} changing the desired capacity from "
        f"{current} to {capacity}.")
    backend.set_desired_capacity(group_name, capacity)
    return f"set desired capacity to {capacity}"


# --------------------------------------------------------------------------- schedules


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
    if target is None or _suspended(target, "ScheduledScalingSuspended"):
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
    current = _current_capacity(account, region, target)
    if current is None:
        return
    if low is not None and current < low:
        _change_capacity(plane, account, region, target, low,
                         f"minimum capacity was set to {low}", when)
    elif high is not None and current > high:
        _change_capacity(plane, account, region, target, high,
                         f"maximum capacity was set to {high}", when)


@reconciler(70)
def run_scheduled_actions(plane: ControlPlane) -> None:
    """Scheduled actions fire on the simulated clock, in time order."""
    now = plane.now()
    state = _state(plane)
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


# --------------------------------------------------------------------------- moto fixes


def _patch_target_tracking_alarms() -> None:
    """AWS's ECS target-tracking alarms: AlarmHigh is metric > TargetValue for 3 of 3 one-minute
    periods, AlarmLow is metric < 90% of TargetValue for 15 of 15 (none when DisableScaleIn).
    moto makes both with threshold 6, always on CPU; here they follow the policy's
    predefined (CPU, memory, ALB requests) or customised metric."""
    from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.moto_api._internal import mock_random

    @patches.replace(FakeApplicationAutoscalingPolicy, "_generate_ecs_alarms",
                     why="AWS's target-tracking alarms, on the policy's own metric")
    def _generate_ecs_alarms(self: Any) -> list[Any]:
        cloudwatch = cloudwatch_backends[self.account_id][self.region_name]
        config = self.target_tracking_scaling_policy_configuration or {}
        goal = float(config.get("TargetValue") or 0)
        metric = _tracked_metric(self.resource_id, config)
        action = f"{self.policy_arn}:createdBy/{mock_random.uuid4()}"
        alarms = []
        plans = [("AlarmHigh", "GreaterThanThreshold", 3, goal)]
        if not truthy(config.get("DisableScaleIn")):
            plans.append(("AlarmLow", "LessThanThreshold", 15, goal * LOW_ALARM_FACTOR))
        for suffix, operator, periods, threshold in plans:
            alarms.append(cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{self.resource_id}-{suffix}-{mock_random.uuid4()}",
                namespace=metric["namespace"], metric_name=metric["name"],
                metric_data_queries=[], comparison_operator=operator,
                evaluation_periods=periods, datapoints_to_alarm=periods, period=60,
                threshold=threshold, unit=metric["unit"], statistic=metric["statistic"],
                description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}.",
                dimensions=metric["dimensions"], alarm_actions=[action]))
        return alarms


def _tracked_metric(resource_id: str, config: dict[str, Any]) -> dict[str, Any]:
    custom = config.get("CustomizedMetricSpecification")
    if custom and custom.get("MetricName"):
        return {"namespace": custom.get("Namespace"), "name": custom["MetricName"],
                "dimensions": list(custom.get("Dimensions") or []),
                "statistic": custom.get("Statistic") or "Average", "unit": custom.get("Unit")}
    spec = config.get("PredefinedMetricSpecification") or {}
    kind = spec.get("PredefinedMetricType", "")
    if kind == "ALBRequestCountPerTarget":
        label = spec.get("ResourceLabel") or ""
        group = label[label.find("targetgroup/"):] if "targetgroup/" in label else label
        return {"namespace": "AWS/ApplicationELB", "name": "RequestCountPerTarget",
                "dimensions": [{"Name": "TargetGroup", "Value": group}], "statistic": "Sum",
                "unit": None}
    _, cluster, service = (resource_id.split("/") + ["", "", ""])[:3]
    return {"namespace": "AWS/ECS",
            "name": "MemoryUtilization" if "Memory" in kind else "CPUUtilization",
            "dimensions": [{"Name": "ClusterName", "Value": cluster},
                           {"Name": "ServiceName", "Value": service}],
            "statistic": "Average", "unit": "Percent"}


def _patch_policy_update_keeps_arn() -> None:
    """Putting a policy again updates it: AWS keeps its ARN and replaces its target-tracking
    alarms. moto mints a new ARN and leaves the old alarms behind, still firing."""
    from moto.applicationautoscaling.models import (
        ApplicationAutoscalingBackend,
        FakeApplicationAutoscalingPolicy,
    )

    @patches.wrap(ApplicationAutoscalingBackend, "put_scaling_policy",
                  why="putting a policy again keeps its ARN and replaces its alarms")
    def put_scaling_policy(original: Any, self: Any, policy_name: str,
                           service_namespace: str, resource_id: str, scalable_dimension: str,
                           policy_body: dict[str, Any], policy_type: str | None) -> Any:
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name)
        old = self.policies.get(key)
        policy = original(self, policy_name, service_namespace, resource_id,
                          scalable_dimension, policy_body, policy_type)
        if old is not None and old is not policy:
            old.delete_alarms(self.account_id, self.region_name)
            policy.policy_arn = old.policy_arn
        return policy


def _patch_asg_policy_arn() -> None:
    """EC2 Auto Scaling's PutScalingPolicy answers ``PolicyARN`` (and ``Alarms``); moto writes
    ``PolicyArn``, which boto3 and the CLI drop, so a learner cannot wire the policy to an
    alarm."""
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    @patches.wrap(AutoScalingResponse, "put_scaling_policy",
                  why="PutScalingPolicy answers PolicyARN (moto: PolicyArn, which clients drop) "
                      "and the policy's alarms")
    def put_scaling_policy(original: Any, self: Any) -> Any:
        result = original(self)
        body = getattr(result, "result", None)
        if isinstance(body, dict) and "PolicyArn" in body and "PolicyARN" not in body:
            policy = self.autoscaling_backend.policies.get(self._get_param("PolicyName"))
            alarms = list(getattr(policy, "alarms", None) or [])
            return ActionResult({"PolicyARN": body["PolicyArn"], "Alarms": alarms})
        return result


_patch_target_tracking_alarms()
_patch_policy_update_keeps_arn()
_patch_asg_policy_arn()


# --------------------------------------------------------------------------- API hooks


def _not_registered(request: Request) -> api.Response | None:
    """AWS refuses policies and scheduled actions for a target that is not registered."""
    params = request.params
    namespace = params.get("ServiceNamespace")
    resource_id = params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    if not (namespace and resource_id and dimension):
        return None  # moto/botocore report the missing parameter
    backend = find("applicationautoscaling", request.account_id, request.region)
    if backend is not None and resource_id in backend.targets.get(dimension, {}):
        return None
    return api.aws_error(
        "ObjectNotFoundException",
        f"No scalable target registered for service namespace: {namespace}, resource ID: "
        f"{resource_id}, scalable dimension: {dimension}", content_type=JSON_11)


@api.before("application-autoscaling", action="PutScalingPolicy")
def refuse_policy_without_target(plane: ControlPlane, request: Request) -> api.Response | None:
    """PutScalingPolicy before RegisterScalableTarget fails on AWS; moto accepts it."""
    return _not_registered(request)


@api.before("application-autoscaling", action="PutScheduledAction")
def check_scheduled_action(plane: ControlPlane, request: Request) -> api.Response | None:
    """AWS validates the target and the schedule expression; moto stores anything."""
    refused = _not_registered(request)
    if refused is not None:
        return refused
    schedule = request.params.get("Schedule")
    if schedule is None:
        return None  # an update may leave the schedule as it was
    problem = schedule_problem(schedule, request.params.get("Timezone"))
    if problem:
        return api.aws_error("ValidationException", problem, content_type=JSON_11)
    return None


@api.before("application-autoscaling", action="DescribeScalingActivities")
def describe_scaling_activities(plane: ControlPlane, request: Request) -> api.Response:
    """moto has no DescribeScalingActivities: answer from the activities we recorded."""
    params = request.params
    namespace = params.get("ServiceNamespace")
    resource_id = params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    if dimension and not resource_id:
        return api.aws_error("ValidationException",
                             "ResourceId must be specified when ScalableDimension is specified",
                             content_type=JSON_11)
    try:
        limit = max(1, min(50, int(params.get("MaxResults") or 50)))
        start = int(params.get("NextToken") or 0)
    except (TypeError, ValueError):
        return api.aws_error("InvalidNextTokenException", "Invalid token",
                             content_type=JSON_11)
    activities = [
        a for a in _state(plane)["activities"]
        if a["_account"] == request.account_id and a["_region"] == request.region
        and a["ServiceNamespace"] == namespace
        and (not resource_id or a["ResourceId"] == resource_id)
        and (not dimension or a["ScalableDimension"] == dimension)]
    newest_first = [a for _, a in sorted(enumerate(activities),
                                         key=lambda pair: (pair[1]["StartTime"], pair[0]),
                                         reverse=True)]
    page = newest_first[start:start + limit]
    body: dict[str, Any] = {"ScalingActivities": [
        {k: v for k, v in a.items() if not k.startswith("_")} for a in page]}
    if start + limit < len(newest_first):
        body["NextToken"] = str(start + limit)
    return api.Response(200, body, JSON_11)


@api.before("application-autoscaling", action="RegisterScalableTarget")
def refuse_bad_scalable_target(plane: ControlPlane, request: Request) -> api.Response | None:
    """AWS refuses a MaxCapacity below the MinCapacity (either given, or the registered
    target's own when updating) and a target naming an ECS service that is not ACTIVE (moto
    accepted both, the second for a deleted service that DescribeServices still lists)."""
    params = request.params
    namespace, resource_id = params.get("ServiceNamespace"), params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    backend = find("applicationautoscaling", request.account_id, request.region)
    existing = None
    if backend is not None and dimension and resource_id:
        existing = backend.targets.get(dimension, {}).get(resource_id)
    low = params.get("MinCapacity", existing.min_capacity if existing is not None else None)
    high = params.get("MaxCapacity", existing.max_capacity if existing is not None else None)
    try:
        if low is not None and high is not None and int(low) > int(high):
            return api.aws_error(
                "ValidationException",
                f"Minimum capacity ({int(low)}) cannot be greater than maximum capacity "
                f"({int(high)}).", content_type=JSON_11)
    except (TypeError, ValueError):
        return None  # botocore/moto report a malformed number
    if namespace == "ecs" and isinstance(resource_id, str) and resource_id.count("/") == 2:
        ecs = find("ecs", request.account_id, request.region)
        _, cluster, name = resource_id.split("/")
        service = ecs.services.get(f"{cluster}:{name}") if ecs is not None else None
        if service is not None and service.status != "ACTIVE":
            return api.aws_error("ValidationException",
                                 f"ECS service doesn't exist: {resource_id}",
                                 content_type=JSON_11)
    return None


@api.before("application-autoscaling", action="DescribeScalingPolicies")
def describe_scaling_policies(plane: ControlPlane, request: Request) -> api.Response:
    """AWS filters by ``PolicyNames`` and matches ResourceId and ScalableDimension exactly;
    moto ignored the names and matched substrings (``service/c/web`` found ``service/c/w``'s
    policies)."""
    from moto.applicationautoscaling.responses import _build_policy

    params = request.params
    backend = find("applicationautoscaling", request.account_id, request.region)
    names = params.get("PolicyNames") or []
    resource_id = params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    if dimension and not resource_id:
        return api.aws_error("ValidationException",
                             "ResourceId must be specified when ScalableDimension is specified",
                             content_type=JSON_11)
    try:
        limit = max(1, min(10, int(params.get("MaxResults") or 10)))  # AWS: 1-10
        start = int(params.get("NextToken") or 0)
    except (TypeError, ValueError):
        return api.aws_error("InvalidNextTokenException", "Invalid token",
                             content_type=JSON_11)
    policies = [
        p for p in (list(backend.policies.values()) if backend is not None else [])
        if p.service_namespace == params.get("ServiceNamespace")
        and (not names or p.policy_name in names)
        and (not resource_id or p.resource_id == resource_id)
        and (not dimension or p.scalable_dimension == dimension)]
    body: dict[str, Any] = {"ScalingPolicies": [_build_policy(p)
                                                for p in policies[start:start + limit]]}
    if start + limit < len(policies):
        body["NextToken"] = str(start + limit)
    return api.Response(200, body, JSON_11)
