"""Application Auto Scaling checks for ECS services: the scalable target and its limits, the
target-tracking, step and scheduled policies, and the scaling activities that prove they ran.

An ECS service is a scalable target named ``service/<cluster>/<service>`` with the dimension
``ecs:service:DesiredCount``. A service made by CloudFormation has a generated name, so when
no service of the lab's name exists, discovery judges the target of the one service of the
cluster behind the lab's target group (``target_group``), and says so. A target registered
for any other service is never taken for the lab's: while the lab's service exists, or when
no target group links another one to the lab, the check fails and names what it found.
Activities are read with DescribeScalingActivities and the service's counts with
DescribeServices, which AWS and the sandbox both answer, so the scaling steps are graded the
same way on either.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
_DESIRED = re.compile(r"Setting desired count to (\d+)")
_ALARM_CAUSE = re.compile(r"monitor alarm (?P<alarm>.+?) in state (?P<state>\w+) triggered "
                          r"policy (?P<policy>.+)$")


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def service_of(resource: str) -> str:
    return resource.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- lookups


def find_service(aws: ReadOnlyAws, cluster: str, service: str) -> dict[str, Any] | None:
    """The ACTIVE ECS service, or None (a missing cluster counts as a missing service)."""
    try:
        found = aws.ecs.describe_services(cluster=cluster, services=[service])
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    for item in found.get("services", []):
        if item.get("status") == "ACTIVE":
            return item
    return None


def ecs_targets(aws: ReadOnlyAws) -> list[dict[str, Any]]:
    return [t for t in aws.client("application-autoscaling").paginate(
        "describe_scalable_targets", "ScalableTargets", ServiceNamespace=NAMESPACE)
        if t.get("ScalableDimension") == DIMENSION]


@dataclass(frozen=True)
class Found:
    """The scalable target judged for a service, and the target group that led discovery to
    it (None: found by the lab's own name)."""

    target: dict[str, Any]
    cluster: str
    service: str
    via: str | None = None

    @property
    def discovered(self) -> bool:
        return self.via is not None

    @property
    def resource(self) -> str:
        return self.target["ResourceId"]

    @property
    def label(self) -> str:
        return f"service {self.service} in {self.cluster}"


def _group_arn(aws: ReadOnlyAws, name: str) -> str | None:
    try:
        groups = aws.elbv2.describe_target_groups(Names=[name])["TargetGroups"]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return groups[0]["TargetGroupArn"] if groups else None


def services_behind(aws: ReadOnlyAws, cluster: str, target_group: str) -> list[str]:
    """Names of the cluster's ACTIVE services whose load balancer entries name the group."""
    arn = _group_arn(aws, target_group)
    if arn is None:
        return []
    try:
        arns = aws.ecs.paginate("list_services", "serviceArns", cluster=cluster)
    except ClientError as exc:
        if is_not_found(exc) or "ClusterNotFound" in str(exc):
            return []
        raise
    names = []
    for start in range(0, len(arns), 10):
        for item in aws.ecs.describe_services(cluster=cluster,
                                              services=arns[start:start + 10])["services"]:
            if item.get("status") == "ACTIVE" and any(
                    lb.get("targetGroupArn") == arn for lb in item.get("loadBalancers") or []):
                names.append(item["serviceName"])
    return names


def find_target(aws: ReadOnlyAws, cluster: str, service: str,
                target_group: str | None = None) -> Found | None:
    """The target for ``service/<cluster>/<service>``. Else, only when no service of that
    name exists (a generated name), the target of the one service of the cluster behind
    ``target_group``. Never the target of another service: None, and :func:`_no_target`
    names what there is."""
    targets = {t["ResourceId"]: t for t in ecs_targets(aws)}
    wanted = targets.get(resource_id(cluster, service))
    if wanted is not None:
        return Found(wanted, cluster, service)
    if not target_group or find_service(aws, cluster, service) is not None:
        return None
    behind = services_behind(aws, cluster, target_group)
    if len(behind) != 1 or resource_id(cluster, behind[0]) not in targets:
        return None
    return Found(targets[resource_id(cluster, behind[0])], cluster, behind[0], target_group)


def _no_target(aws: ReadOnlyAws, cluster: str, service: str,
               target_group: str | None = None) -> Result:
    """The lab's service is not scalable: name the targets that exist, and whose they are."""
    others = [t["ResourceId"] for t in ecs_targets(aws)]
    in_cluster = [r for r in others if r.startswith(f"service/{cluster}/")]
    message = (f"Service {service} in {cluster} is not registered with Application Auto "
               "Scaling, so no policy can change its desired count.")
    if in_cluster:
        whose = ", ".join(f"{r} (service {service_of(r)})" for r in in_cluster)
        message += (f" The scalable target{'s' if len(in_cluster) > 1 else ''} found in "
                    f"{cluster} belong{'' if len(in_cluster) > 1 else 's'} to another "
                    f"service: {whose}; that does not make {service} scalable.")
        if target_group and find_service(aws, cluster, service) is None:
            message += (f" No service named {service} exists, and none of the cluster's "
                        f"services behind target group {target_group} is registered.")
    return failed(
        message,
        expected=f"a scalable target {resource_id(cluster, service)} ({DIMENSION})",
        actual=("scalable targets only for " + ", ".join(others)) if others
        else "no ECS scalable target",
        hint="aws application-autoscaling register-scalable-target --service-namespace ecs "
             f"--scalable-dimension {DIMENSION} --resource-id {resource_id(cluster, service)} "
             "--min-capacity N --max-capacity M",
    )


def policies(aws: ReadOnlyAws, found: Found, kind: str | None = None) -> list[dict[str, Any]]:
    items = aws.client("application-autoscaling").paginate(
        "describe_scaling_policies", "ScalingPolicies", ServiceNamespace=NAMESPACE,
        ResourceId=found.resource, ScalableDimension=DIMENSION)
    return [p for p in items if kind is None or p.get("PolicyType") == kind]


def _names(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{p['PolicyName']} ({p.get('PolicyType', '?')})" for p in items)


def _limits(target: dict[str, Any]) -> str:
    return f"min {target.get('MinCapacity')}, max {target.get('MaxCapacity')}"


def _tasks(count: int) -> str:
    return f"{count} task" if count == 1 else f"{count} tasks"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _where(found: Found) -> str:
    """'' for the lab's own name, or what discovery found and why it is the lab's service."""
    return (f" (found by discovery: {found.resource}, the service behind target group "
            f"{found.via})" if found.discovered else "")


class ServiceParams(Params):
    cluster: str
    service: str
    target_group: str | None = Field(
        default=None, description="discovery: when no service of the lab's name exists, the "
                                  "one service of the cluster behind this target group")


# --------------------------------------------------------------------------- scalable target


class ScalableTargetParams(ServiceParams):
    min_capacity: int = Field(ge=0)
    max_capacity: int = Field(ge=0)


_SUSPENDED = (("DynamicScalingOutSuspended", "scale-out by policies"),
              ("DynamicScalingInSuspended", "scale-in by policies"),
              ("ScheduledScalingSuspended", "scheduled actions"))


@check("appautoscaling.scalable_target", title="The service is a scalable target with the "
       "right limits", params=ScalableTargetParams,
       hint="register-scalable-target sets the range (min and max tasks) scaling may use.")
def scalable_target(aws: ReadOnlyAws, p: ScalableTargetParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return _no_target(aws, p.cluster, p.service, p.target_group)
    low, high = found.target.get("MinCapacity"), found.target.get("MaxCapacity")
    service = find_service(aws, found.cluster, found.service)
    if service is None:
        return failed(
            f"Scalable target {found.resource} names a service that does not exist.",
            expected=f"an ACTIVE service {found.service} in cluster {found.cluster}",
            actual="no such service (deleted, or a typo in the resource id)")
    desired = int(service.get("desiredCount", 0))
    if high is not None and desired > high:
        return failed(
            f"Scalable target {found.resource} allows at most {high} tasks, but the service "
            f"wants {desired} now: the maximum is below the current desired count, so the "
            f"next scaling activity cuts the service to {high}.",
            expected=f"a maximum of at least {desired} (the current desired count), or a "
                     "desired count inside the range",
            actual=f"max {high}, desired count {desired}")
    if low is not None and desired < low:
        return failed(
            f"Scalable target {found.resource} keeps at least {low} tasks, but the service "
            f"wants only {desired}: the minimum is above the current desired count.",
            expected=f"a minimum of at most {desired}, or a desired count inside the range",
            actual=f"min {low}, desired count {desired}")
    scheduled = None
    if (low, high) != (p.min_capacity, p.max_capacity):
        scheduled = _scheduled_limits(aws, found, p.min_capacity, p.max_capacity)
    if (low, high) != (p.min_capacity, p.max_capacity) and scheduled is None:
        frozen = (" Min equals max, so no policy can ever change the desired count."
                  if low == high and p.min_capacity != p.max_capacity else "")
        return failed(
            f"Scalable target {found.resource} has the wrong limits{_where(found)}.{frozen}",
            expected=f"min {p.min_capacity}, max {p.max_capacity}",
            actual=_limits(found.target))
    state = found.target.get("SuspendedState") or {}
    paused = [words for key, words in _SUSPENDED if state.get(key)]
    if paused:
        return failed(
            f"Scaling of {found.resource} is suspended: {', '.join(paused)}.",
            expected="nothing suspended", actual="suspended: " + ", ".join(paused),
            hint="register-scalable-target --suspended-state with every flag false resumes it.")
    moved = (f"; scheduled action {scheduled} has set these limits in place of min "
             f"{p.min_capacity}, max {p.max_capacity}" if scheduled else "")
    return passed(f"{_cap(found.label)} scales between {low} and {high} tasks (now {desired})"
                  f"{moved}{_where(found)}.")


def scheduled_actions(aws: ReadOnlyAws, found: Found) -> list[dict[str, Any]]:
    return aws.client("application-autoscaling").paginate(
        "describe_scheduled_actions", "ScheduledActions", ServiceNamespace=NAMESPACE,
        ResourceId=found.resource, ScalableDimension=DIMENSION)


def activities(aws: ReadOnlyAws, found: Found) -> list[dict[str, Any]]:
    """The target's scaling activities, oldest first."""
    raw = aws.client("application-autoscaling").paginate(
        "describe_scaling_activities", "ScalingActivities", ServiceNamespace=NAMESPACE,
        ResourceId=found.resource, ScalableDimension=DIMENSION)
    return sorted(raw, key=lambda a: a["StartTime"].timestamp()
                  if isinstance(a.get("StartTime"), datetime) else 0.0)


def _scheduled_limits(aws: ReadOnlyAws, found: Found, low: int, high: int) -> str | None:
    """The scheduled action whose run gave the target its current limits, starting from the
    registered ``low``/``high`` (a later step's action legitimately moves them), or None."""
    current = (found.target.get("MinCapacity"), found.target.get("MaxCapacity"))
    ran = [str(a.get("Cause", "")) for a in activities(aws, found)
           if a.get("StatusCode") == "Successful"]
    for action in scheduled_actions(aws, found):
        wanted = action.get("ScalableTargetAction") or {}
        limits = (wanted.get("MinCapacity", low), wanted.get("MaxCapacity", high))
        name = action["ScheduledActionName"]
        if limits == current and any("scheduled action" in cause and name in cause
                                     for cause in ran):
            return name
    return None


# --------------------------------------------------------------------------- target tracking


class TargetTrackingParams(ServiceParams):
    metric: str = Field(default="ECSServiceAverageCPUUtilization",
                        description="the predefined metric type")
    target: float = Field(gt=0, description="the target value, e.g. 50 (percent)")


def _tracked(policy: dict[str, Any]) -> str:
    config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
    predefined = config.get("PredefinedMetricSpecification") or {}
    custom = config.get("CustomizedMetricSpecification") or {}
    return predefined.get("PredefinedMetricType") or (
        f"custom metric {custom.get('MetricName')}" if custom else "no metric")


@check("appautoscaling.target_tracking_policy", title="A target-tracking policy holds the "
       "metric at the target", params=TargetTrackingParams,
       hint="put-scaling-policy --policy-type TargetTrackingScaling with a "
            "PredefinedMetricSpecification and a TargetValue.")
def target_tracking_policy(aws: ReadOnlyAws, p: TargetTrackingParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return _no_target(aws, p.cluster, p.service, p.target_group)
    every = policies(aws, found)
    tracking = [x for x in every if x.get("PolicyType") == "TargetTrackingScaling"]
    if not tracking:
        return failed(
            f"{_cap(found.label)} has no target-tracking policy{_where(found)}.",
            expected=f"a TargetTrackingScaling policy on {p.metric} at {p.target:g}",
            actual=("policies: " + _names(every)) if every else "no scaling policy")
    on_metric = [x for x in tracking if _tracked(x) == p.metric]
    if not on_metric:
        return failed(
            f"The target-tracking policy of {found.label} follows another metric.",
            expected=f"PredefinedMetricType {p.metric}",
            actual="; ".join(f"{x['PolicyName']} tracks {_tracked(x)}" for x in tracking))
    config_of = {x["PolicyName"]: x["TargetTrackingScalingPolicyConfiguration"]
                 for x in on_metric}
    right = [name for name, config in config_of.items()
             if math.isclose(float(config.get("TargetValue", 0)), p.target)]
    if not right:
        values = ", ".join(f"{name} targets {float(c.get('TargetValue', 0)):g}"
                           for name, c in config_of.items())
        fraction = (f" TargetValue is a percentage: {p.target:g} means {p.target:g}%, not a "
                    "fraction of 1." if p.target >= 1 and all(
                        float(c.get("TargetValue", 0)) < 1 for c in config_of.values()) else "")
        return failed(f"The target-tracking policy of {found.label} aims at the wrong "
                      f"value.{fraction}",
                      expected=f"TargetValue {p.target:g} ({p.metric})", actual=values)
    name = right[0]
    config = config_of[name]
    if config.get("DisableScaleIn"):
        return failed(
            f"Policy {name} never scales {found.label} in: DisableScaleIn is true.",
            expected="scale-in enabled (DisableScaleIn false), so idle tasks are removed",
            actual="DisableScaleIn true")
    policy = next(x for x in on_metric if x["PolicyName"] == name)
    gone = _missing_alarms(aws, policy)
    if gone:
        return failed(
            f"Policy {name} of {found.label} has lost its alarm{'s' if len(gone) > 1 else ''} "
            f"{', '.join(gone)}: the policy owns {'them' if len(gone) > 1 else 'it'} (DO NOT "
            f"EDIT OR DELETE), and without {'them' if len(gone) > 1 else 'it'} it cannot "
            f"scale {_alarm_duty(gone)}.",
            expected="the policy's AlarmHigh" + ("" if config.get("DisableScaleIn")
                                                 else " and AlarmLow") + " in CloudWatch",
            actual="missing: " + ", ".join(gone),
            hint="Put the policy again (same put-scaling-policy command): Application Auto "
                 "Scaling creates its alarms anew.")
    cooldowns = ", ".join(f"{label} cooldown {config[key]} s" for key, label in
                          (("ScaleOutCooldown", "scale-out"), ("ScaleInCooldown", "scale-in"))
                          if key in config)
    return passed(f"Policy {name} keeps {p.metric} of {found.label} near {p.target:g}"
                  + (f" ({cooldowns})" if cooldowns else "") + f"{_where(found)}.")


def _missing_alarms(aws: ReadOnlyAws, policy: dict[str, Any]) -> list[str]:
    """Names of the alarms the policy lists that CloudWatch no longer has."""
    names = [a["AlarmName"] for a in policy.get("Alarms") or [] if a.get("AlarmName")]
    if not names:
        return []
    there: set[str] = set()
    for start in range(0, len(names), 100):
        there.update(a["AlarmName"] for a in aws.cloudwatch.describe_alarms(
            AlarmNames=names[start:start + 100]).get("MetricAlarms", []))
    return [n for n in names if n not in there]


def _alarm_duty(names: list[str]) -> str:
    duties = {"out" if "-AlarmHigh-" in n else "in" if "-AlarmLow-" in n else "" for n in names}
    return {frozenset({"out"}): "out", frozenset({"in"}): "in"}.get(frozenset(duties),
                                                                     "out or in")


# --------------------------------------------------------------------------- step scaling


class StepScalingParams(ServiceParams):
    direction: Literal["out", "in"] = Field(
        default="out", description="out: steps add tasks above the alarm threshold")


def _bound(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _coverage_gap(steps: list[dict[str, Any]], direction: str) -> str | None:
    """Where a breach of the threshold would match no step, in words; None when covered.

    Bounds are relative to the alarm threshold: a scale-out alarm (metric above the threshold)
    needs steps covering [0, +inf), a scale-in alarm (below it) (-inf, 0].
    """
    ordered = sorted(steps, key=lambda s: _bound(s.get("MetricIntervalLowerBound"), -math.inf))
    if direction == "out":
        reach = 0.0
        for step in ordered:
            lower = _bound(step.get("MetricIntervalLowerBound"), -math.inf)
            upper = _bound(step.get("MetricIntervalUpperBound"), math.inf)
            if upper <= reach:
                continue
            if lower > reach:
                return f"a breach between {reach:g} and {lower:g} above the threshold"
            reach = upper
        return None if reach == math.inf else f"a breach more than {reach:g} above the threshold"
    reach = 0.0
    for step in reversed(ordered):
        lower = _bound(step.get("MetricIntervalLowerBound"), -math.inf)
        upper = _bound(step.get("MetricIntervalUpperBound"), math.inf)
        if lower >= reach:
            continue
        if upper < reach:
            return f"a breach between {-reach:g} and {-upper:g} below the threshold"
        reach = lower
    return None if reach == -math.inf else f"a breach more than {-reach:g} below the threshold"


def _describe_steps(config: dict[str, Any]) -> str:
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    unit = {"PercentChangeInCapacity": "%", "ExactCapacity": " tasks (exactly)"}.get(kind, "")
    parts = []
    for step in sorted(config.get("StepAdjustments") or [],
                       key=lambda s: _bound(s.get("MetricIntervalLowerBound"), -math.inf)):
        lower, upper = step.get("MetricIntervalLowerBound"), step.get("MetricIntervalUpperBound")
        span = (f"[{'-inf' if lower is None else f'{lower:g}'}, "
                f"{'+inf' if upper is None else f'{upper:g}'})")
        parts.append(f"{span} -> {step.get('ScalingAdjustment', 0):+g}{unit}")
    return "; ".join(parts)


@check("appautoscaling.step_scaling_policy", title="A step-scaling policy adds tasks in steps",
       params=StepScalingParams,
       hint="put-scaling-policy --policy-type StepScaling with StepAdjustments whose bounds are "
            "relative to the alarm's threshold.")
def step_scaling_policy(aws: ReadOnlyAws, p: StepScalingParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return _no_target(aws, p.cluster, p.service, p.target_group)
    every = policies(aws, found)
    stepped = [x for x in every if x.get("PolicyType") == "StepScaling"]
    if not stepped:
        return failed(
            f"{_cap(found.label)} has no step-scaling policy{_where(found)}.",
            expected="a StepScaling policy, run by a CloudWatch alarm",
            actual=("policies: " + _names(every)) if every else "no scaling policy")
    sign = 1 if p.direction == "out" else -1
    verb = "adds" if p.direction == "out" else "removes"
    problems: list[str] = []
    for policy in stepped:
        config = policy.get("StepScalingPolicyConfiguration") or {}
        steps = config.get("StepAdjustments") or []
        kind = config.get("AdjustmentType", "ChangeInCapacity")
        name = policy["PolicyName"]
        if not steps:
            problems.append(f"{name} has no step adjustments")
            continue
        if kind != "ExactCapacity" and any(
                float(s.get("ScalingAdjustment", 0)) * sign <= 0 for s in steps):
            problems.append(f"{name} has a step that never {verb} tasks "
                            f"({_describe_steps(config)})")
            continue
        gap = _coverage_gap(steps, p.direction)
        if gap:
            problems.append(f"{name}: {gap} matches no step, so the alarm would change "
                            f"nothing ({_describe_steps(config)})")
            continue
        cooldown = config.get("Cooldown")
        return passed(f"Step policy {name} {verb} tasks for {found.label}: "
                      f"{_describe_steps(config)}"
                      + (f", cooldown {cooldown} s" if cooldown is not None else "")
                      + f"{_where(found)}.")
    return failed(
        f"No step-scaling policy of {found.label} {verb} tasks for every breach.",
        expected=f"steps with {'positive' if sign > 0 else 'negative'} adjustments covering "
                 + ("0 to +infinity above" if sign > 0 else "0 to -infinity below")
                 + " the threshold",
        actual="; ".join(problems))


# --------------------------------------------------------------------------- scheduled actions


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
            f"{_cap(found.label)} has no scheduled action {p.action}{_where(found)}.",
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
                  f"({_zone(zone)}){_where(found)}.")


@check("appautoscaling.scheduled_action", title="A scheduled action changes the limits on a "
       "schedule", params=ScheduledParams,
       hint="put-scheduled-action --schedule 'cron(...)' --scalable-target-action "
            "MinCapacity=N,MaxCapacity=M")
def scheduled_action(aws: ReadOnlyAws, p: ScheduledParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return _no_target(aws, p.cluster, p.service, p.target_group)
    actions = scheduled_actions(aws, found)
    if p.action is not None:
        return _judge_action(found, actions, p)
    if not actions:
        return failed(f"{_cap(found.label)} has no scheduled action{_where(found)}.",
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
                          f"{action['Schedule']} ({zone}){_where(found)}.")
    return failed(f"The scheduled actions of {found.label} would change nothing useful.",
                  expected="a ScalableTargetAction with MinCapacity and/or MaxCapacity, "
                           "min not above max",
                  actual="; ".join(problems))


# --------------------------------------------------------------------------- activities


@dataclass(frozen=True)
class Activity:
    """A successful, alarm-driven change of the desired count."""

    count: int
    before: int | None
    alarm: str
    policy: str
    when: datetime | None
    direction: str  # "out" or "in"

    def words(self) -> str:
        change = (f"from {self.before} to {self.count}" if self.before is not None
                  else f"to {self.count}")
        at = (f" at {self.when.astimezone(UTC):%H:%M:%S} UTC"
              if isinstance(self.when, datetime) else "")
        return f"alarm {self.alarm} (policy {self.policy}) set the desired count {change}{at}"


def _alarm_direction(aws: ReadOnlyAws, alarm: str) -> str | None:
    """'out' or 'in' from the alarm itself: target tracking's AlarmHigh/AlarmLow, or the
    comparison of any other alarm; None when it cannot be told."""
    if "-AlarmHigh-" in alarm:
        return "out"
    if "-AlarmLow-" in alarm:
        return "in"
    found = aws.cloudwatch.describe_alarms(AlarmNames=[alarm]).get("MetricAlarms", [])
    if found:
        comparison = found[0].get("ComparisonOperator", "")
        if comparison.startswith("Greater"):
            return "out"
        if comparison.startswith("Less"):
            return "in"
    return None


def scaling_history(aws: ReadOnlyAws, found: Found) -> list[Activity]:
    """Alarm-driven changes of the desired count, oldest first, each with its direction: from
    the count the previous activity set when there is one, else from the alarm."""
    ordered = activities(aws, found)
    history: list[Activity] = []
    previous: int | None = None
    for item in ordered:
        count = _DESIRED.search(str(item.get("Description", "")))
        if item.get("StatusCode") != "Successful" or not count:
            continue
        value = int(count[1])
        before, previous = previous, value
        cause = _ALARM_CAUSE.search(str(item.get("Cause", "")))
        if not cause:
            continue  # scheduled actions and manual range changes are not what we judge
        if before is not None and before != value:
            direction = "out" if value > before else "in"
        else:
            direction = _alarm_direction(aws, cause["alarm"]) or ""
        if direction:
            history.append(Activity(value, before, cause["alarm"], cause["policy"].strip(),
                                    item.get("StartTime"), direction))
    return history


class ActivityParams(ServiceParams):
    target_group: str | None = Field(
        default=None, description="the service's target group: scaled_out requires as many "
                                  "healthy targets in it as tasks; discovery, as for every check")


def _service_group(aws: ReadOnlyAws, name: str,
                   service: dict[str, Any]) -> tuple[str, str] | Result:
    """(name, ARN) of the lab's target group, which the service must be behind; when no group
    has that name, the service's own group (a generated name). Else a failure naming both."""
    own = [lb["targetGroupArn"] for lb in service.get("loadBalancers") or []
           if lb.get("targetGroupArn")]
    shown = ", ".join(a.split(":targetgroup/", 1)[-1].split("/", 1)[0] for a in own) or "none"
    arn = _group_arn(aws, name)
    if arn is not None and arn in own:
        return name, arn
    if arn is not None:
        return failed(f"Service {service['serviceName']} is not behind target group {name}, so "
                      "its healthy targets there prove nothing about its tasks.",
                      expected=f"a load balancer entry for {name}",
                      actual=f"target groups of the service: {shown}")
    if own:
        return own[0].split(":targetgroup/", 1)[-1].split("/", 1)[0], own[0]
    return failed(f"Target group {name} does not exist and service "
                  f"{service['serviceName']} uses none.",
                  expected=f"target group {name}", actual="no target group")


def _latest_event(service: dict[str, Any]) -> str | None:
    """ECS's newest service event that is not the routine steady-state note."""
    for event in service.get("events") or []:
        text = str(event.get("message", ""))
        if "has reached a steady state" not in text:
            return text
    return None


@check("appautoscaling.scaled_out", title="An alarm scaled the service out and the new tasks "
       "serve", params=ActivityParams,
       hint="Keep the load on: target tracking waits for 3 minutes above its target, a step "
            "alarm for its evaluation periods; then ECS starts the tasks and the load balancer "
            "checks them.")
def scaled_out(aws: ReadOnlyAws, p: ActivityParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return _no_target(aws, p.cluster, p.service, p.target_group)
    service = find_service(aws, found.cluster, found.service)
    if service is None:
        return failed(f"Service {found.service} in {found.cluster} does not exist.",
                      expected="an ACTIVE service", actual="no such service")
    desired, running = int(service.get("desiredCount", 0)), int(service.get("runningCount", 0))
    outs = [a for a in scaling_history(aws, found) if a.direction == "out"]
    if not outs:
        high = found.target.get("MaxCapacity")
        why = (f"it already wants {desired} tasks, its maximum, so there is no room to add any"
               if high is not None and desired >= high else
               "put load on it and give the alarms their evaluation periods")
        return failed(f"No alarm has scaled {found.label} out yet: {why}.",
                      expected="a successful scaling activity raising the desired count, "
                               "caused by an alarm",
                      actual=f"no scale-out activity; desired count {desired}")
    latest = outs[-1]
    group_of = _service_group(aws, p.target_group, service) if p.target_group else None
    if isinstance(group_of, Result):
        return group_of
    health = (aws.elbv2.describe_target_health(TargetGroupArn=group_of[1])[
        "TargetHealthDescriptions"] if group_of else [])
    failing = [h["TargetHealth"] for h in health
               if h.get("TargetHealth", {}).get("State") == "unhealthy"]
    checked = _health_check_words(aws, group_of[1]) if group_of else ""
    if running < desired:
        recent = _events_since(service, latest.when)
        replaced = [e for e in recent if "failed ELB health checks" in e]
        unplaced = [e for e in recent if "unable to place a task" in e]
        pending = int(service.get("pendingCount", 0))
        if replaced:
            why = (f" ({failing[0].get('Reason')}: {failing[0].get('Description')})"
                   if failing else "")
            return failed(
                f"{_cap(latest.words())}, but the tasks fail the load balancer's health "
                f"checks{why}, so ECS keeps stopping and replacing them: {running} of "
                f"{desired} run. {checked}",
                expected=f"{desired} running tasks that pass the health checks",
                actual=f"{len(replaced)} tasks stopped for failing ELB health checks since the "
                       f"scale-out; {running} running, {pending} pending")
        if unplaced:
            return failed(
                f"{_cap(latest.words())}, but the cluster has no room for the new tasks: "
                f"{running} of {desired} run. ECS says: {unplaced[0]}",
                expected=f"{desired} running tasks",
                actual=f"{running} running, {pending} pending; no container instance has the "
                       "CPU, memory or ports for another task")
        event = _latest_event(service)
        return failed(
            f"{_cap(latest.words())}, but ECS is still starting tasks: {running} of "
            f"{desired} run." + (f" ECS says: {event}" if event else ""),
            expected=f"{desired} running tasks", actual=f"{running} running, {pending} pending",
            hint="Give ECS a moment; if tasks never start, the cluster may lack CPU or memory "
                 "(aws ecs describe-services ... --query 'services[0].events[:5]').")
    served = ""
    if group_of:
        group = group_of[0]
        healthy = sum(1 for h in health if h.get("TargetHealth", {}).get("State") == "healthy")
        if healthy < desired:
            why_words = ("the tasks fail the load balancer's health checks: "
                         f"{len(failing)} {'is' if len(failing) == 1 else 'are'} unhealthy "
                         f"({failing[0].get('Reason')}: {failing[0].get('Description')}). "
                         f"{checked}" if failing else
                         "the new tasks are still passing their health checks.")
            return failed(
                f"{_cap(latest.words())}; {healthy} of {desired} targets in {group} "
                f"are healthy: {why_words}",
                expected=f"{desired} healthy targets in {group}",
                actual=f"{healthy} healthy" + (f", {len(failing)} unhealthy" if failing
                                               else ""))
        served = f"; {healthy} healthy targets in {group}"
    return passed(f"{_cap(latest.words())}; {running} tasks run{served}.")


def _health_check_words(aws: ReadOnlyAws, arn: str) -> str:
    group = aws.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
    port = group.get("HealthCheckPort")
    where = ("each task's own host port (traffic-port)" if port in (None, "traffic-port")
             else f"port {port}")
    return (f"The load balancer checks them with {group.get('HealthCheckProtocol')} on "
            f"{where}, path {group.get('HealthCheckPath')}.")


def _events_since(service: dict[str, Any], since: datetime | None) -> list[str]:
    """Messages of the service's events at or after ``since`` (all of them if unknown)."""
    return [str(e.get("message", "")) for e in service.get("events") or []
            if since is None or not isinstance(e.get("createdAt"), datetime)
            or e["createdAt"] >= since]


@check("appautoscaling.scaled_in", title="An alarm scaled the service back in",
       params=ActivityParams,
       hint="Scale-in is slow on purpose: target tracking's low alarm waits 15 minutes below 90% "
            "of the target, then removes tasks a few at a time, once per scale-in cooldown.")
def scaled_in(aws: ReadOnlyAws, p: ActivityParams) -> Result:
    found = find_target(aws, p.cluster, p.service, p.target_group)
    if found is None:
        return _no_target(aws, p.cluster, p.service, p.target_group)
    service = find_service(aws, found.cluster, found.service)
    desired = int(service.get("desiredCount", 0)) if service else 0
    history = scaling_history(aws, found)
    outs = [i for i, a in enumerate(history) if a.direction == "out"]
    if not outs:
        return failed(f"{_cap(found.label)} never scaled out, so there is nothing to scale "
                      "in yet.",
                      expected="a scale-out, then a scale-in caused by an alarm",
                      actual="no scale-out activity")
    ins = [a for a in history[outs[-1] + 1:] if a.direction == "in"]
    if not ins:
        return failed(
            f"{_cap(found.label)} still wants {_tasks(desired)}: no alarm has scaled it in since "
            f"{history[outs[-1]].words()}.",
            expected="a scaling activity lowering the desired count after the last scale-out",
            actual=f"desired count {desired}, no scale-in since the scale-out")
    blocked = _scale_in_blocked(aws, found)
    if blocked:
        return failed(
            f"{_cap(ins[-1].words())}, but nothing will scale {found.label} in the next time "
            f"the load goes: {blocked}.",
            expected="a policy that may remove tasks (target tracking with DisableScaleIn "
                     "false), and scale-in by policies not suspended",
            actual=blocked)
    return passed(f"{_cap(ins[-1].words())}; {found.label} now wants {_tasks(desired)} "
                  f"({len(ins)} scale-in {'activity' if len(ins) == 1 else 'activities'}).")


def _scale_in_blocked(aws: ReadOnlyAws, found: Found) -> str | None:
    """Why no policy can remove tasks any more, in words; None when one can."""
    state = found.target.get("SuspendedState") or {}
    if state.get("DynamicScalingInSuspended"):
        return "scale-in by policies is suspended (DynamicScalingInSuspended true)"
    every = policies(aws, found)
    for policy in every:
        config = (policy.get("TargetTrackingScalingPolicyConfiguration")
                  or policy.get("StepScalingPolicyConfiguration") or {})
        if policy.get("PolicyType") == "TargetTrackingScaling" and not config.get(
                "DisableScaleIn"):
            return None
        if policy.get("PolicyType") == "StepScaling" and any(
                float(step.get("ScalingAdjustment", 0)) < 0
                for step in config.get("StepAdjustments") or []):
            return None
    disabled = [p["PolicyName"] for p in every
                if (p.get("TargetTrackingScalingPolicyConfiguration") or {}).get(
                    "DisableScaleIn")]
    if disabled:
        return f"policy {', '.join(disabled)} has DisableScaleIn true"
    return ("no policy removes tasks (" + _names(every) + ")" if every
            else "it has no scaling policy left")
