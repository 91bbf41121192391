"""Application Auto Scaling checks for ECS services: the scalable target and its limits, and
the target-tracking and step-scaling policies; with the lookups every Application Auto Scaling
check shares (finding the lab's scalable target, by name or by discovery).

An ECS service is a scalable target named ``service/<cluster>/<service>`` with the dimension
``ecs:service:DesiredCount``. A service made by CloudFormation has a generated name, so when
no service of the lab's name exists, discovery judges the target of the one service of the
cluster behind the lab's target group (``target_group``), and says so. A target registered
for any other service is never taken for the lab's: while the lab's service exists, or when
no target group links another one to the lab, the check fails and names what it found.

The other checks of the service build on these lookups, one module per concern:
:mod:`.appautoscaling_schedule` (scheduled actions, and when two cron expressions fire at the
same times) and :mod:`.appautoscaling_activity` (the scaling activities that prove the
policies ran: ``scaled_out`` and ``scaled_in``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"


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


def group_arn(aws: ReadOnlyAws, name: str) -> str | None:
    try:
        groups = aws.elbv2.describe_target_groups(Names=[name])["TargetGroups"]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return groups[0]["TargetGroupArn"] if groups else None


def services_behind(aws: ReadOnlyAws, cluster: str, target_group: str) -> list[str]:
    """Names of the cluster's ACTIVE services whose load balancer entries name the group."""
    arn = group_arn(aws, target_group)
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
    ``target_group``. Never the target of another service: None, and :func:`no_target`
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


def no_target(aws: ReadOnlyAws, cluster: str, service: str,
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


def policy_names(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{p['PolicyName']} ({p.get('PolicyType', '?')})" for p in items)


def _limits(target: dict[str, Any]) -> str:
    return f"min {target.get('MinCapacity')}, max {target.get('MaxCapacity')}"


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def discovery_note(found: Found) -> str:
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
        return no_target(aws, p.cluster, p.service, p.target_group)
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
            f"Scalable target {found.resource} has the wrong limits"
            f"{discovery_note(found)}.{frozen}",
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
    return passed(f"{cap(found.label)} scales between {low} and {high} tasks (now {desired})"
                  f"{moved}{discovery_note(found)}.")


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
        return no_target(aws, p.cluster, p.service, p.target_group)
    every = policies(aws, found)
    tracking = [x for x in every if x.get("PolicyType") == "TargetTrackingScaling"]
    if not tracking:
        return failed(
            f"{cap(found.label)} has no target-tracking policy{discovery_note(found)}.",
            expected=f"a TargetTrackingScaling policy on {p.metric} at {p.target:g}",
            actual=("policies: " + policy_names(every)) if every else "no scaling policy")
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
                  + (f" ({cooldowns})" if cooldowns else "") + f"{discovery_note(found)}.")


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
        return no_target(aws, p.cluster, p.service, p.target_group)
    every = policies(aws, found)
    stepped = [x for x in every if x.get("PolicyType") == "StepScaling"]
    if not stepped:
        return failed(
            f"{cap(found.label)} has no step-scaling policy{discovery_note(found)}.",
            expected="a StepScaling policy, run by a CloudWatch alarm",
            actual=("policies: " + policy_names(every)) if every else "no scaling policy")
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
                      + f"{discovery_note(found)}.")
    return failed(
        f"No step-scaling policy of {found.label} {verb} tasks for every breach.",
        expected=f"steps with {'positive' if sign > 0 else 'negative'} adjustments covering "
                 + ("0 to +infinity above" if sign > 0 else "0 to -infinity below")
                 + " the threshold",
        actual="; ".join(problems))
