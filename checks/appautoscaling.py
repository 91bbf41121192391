"""Application Auto Scaling checks for ECS services: the scalable target and its limits, the
target-tracking, step and scheduled policies, and the scaling activities that prove they ran.

An ECS service is a scalable target named ``service/<cluster>/<service>`` with the dimension
``ecs:service:DesiredCount``. A service made by CloudFormation has a generated name, so when
the lab's name is not registered, the only ECS target in the cluster is judged instead.
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
    """The scalable target judged for a service, and whether discovery picked it."""

    target: dict[str, Any]
    cluster: str
    service: str
    discovered: bool

    @property
    def resource(self) -> str:
        return self.target["ResourceId"]

    @property
    def label(self) -> str:
        return f"service {self.service} in {self.cluster}"


def find_target(aws: ReadOnlyAws, cluster: str, service: str) -> Found | None:
    """The target for ``service/<cluster>/<service>``; else the only ECS target in the cluster
    (a service with a generated name); else None."""
    targets = ecs_targets(aws)
    wanted = resource_id(cluster, service)
    for target in targets:
        if target["ResourceId"] == wanted:
            return Found(target, cluster, service, False)
    in_cluster = [t for t in targets if t["ResourceId"].startswith(f"service/{cluster}/")]
    if len(in_cluster) == 1:
        return Found(in_cluster[0], cluster, service_of(in_cluster[0]["ResourceId"]), True)
    return None


def _no_target(aws: ReadOnlyAws, cluster: str, service: str) -> Result:
    others = [t["ResourceId"] for t in ecs_targets(aws)]
    return failed(
        f"Service {service} in {cluster} is not registered with Application Auto Scaling, so "
        "no policy can change its desired count.",
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
    """'' for the lab's own name, or a note that discovery chose another service."""
    return f" (found by discovery: {found.resource})" if found.discovered else ""


# --------------------------------------------------------------------------- scalable target


class ScalableTargetParams(Params):
    cluster: str
    service: str
    min_capacity: int = Field(ge=0)
    max_capacity: int = Field(ge=0)


_SUSPENDED = (("DynamicScalingOutSuspended", "scale-out by policies"),
              ("DynamicScalingInSuspended", "scale-in by policies"),
              ("ScheduledScalingSuspended", "scheduled actions"))


@check("appautoscaling.scalable_target", title="The service is a scalable target with the "
       "right limits", params=ScalableTargetParams,
       hint="register-scalable-target sets the range (min and max tasks) scaling may use.")
def scalable_target(aws: ReadOnlyAws, p: ScalableTargetParams) -> Result:
    found = find_target(aws, p.cluster, p.service)
    if found is None:
        return _no_target(aws, p.cluster, p.service)
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
    if (low, high) != (p.min_capacity, p.max_capacity):
        return failed(
            f"Scalable target {found.resource} has the wrong limits{_where(found)}.",
            expected=f"min {p.min_capacity}, max {p.max_capacity}",
            actual=_limits(found.target))
    state = found.target.get("SuspendedState") or {}
    paused = [words for key, words in _SUSPENDED if state.get(key)]
    if paused:
        return failed(
            f"Scaling of {found.resource} is suspended: {', '.join(paused)}.",
            expected="nothing suspended", actual="suspended: " + ", ".join(paused),
            hint="register-scalable-target --suspended-state with every flag false resumes it.")
    return passed(f"{_cap(found.label)} scales between {low} and {high} tasks (now {desired})"
                  f"{_where(found)}.")


# --------------------------------------------------------------------------- target tracking


class TargetTrackingParams(Params):
    cluster: str
    service: str
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
    found = find_target(aws, p.cluster, p.service)
    if found is None:
        return _no_target(aws, p.cluster, p.service)
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
        return failed(f"The target-tracking policy of {found.label} aims at the wrong value.",
                      expected=f"TargetValue {p.target:g} ({p.metric})", actual=values)
    name = right[0]
    config = config_of[name]
    if config.get("DisableScaleIn"):
        return failed(
            f"Policy {name} never scales {found.label} in: DisableScaleIn is true.",
            expected="scale-in enabled (DisableScaleIn false), so idle tasks are removed",
            actual="DisableScaleIn true")
    cooldowns = ", ".join(f"{label} cooldown {config[key]} s" for key, label in
                          (("ScaleOutCooldown", "scale-out"), ("ScaleInCooldown", "scale-in"))
                          if key in config)
    return passed(f"Policy {name} keeps {p.metric} of {found.label} near {p.target:g}"
                  + (f" ({cooldowns})" if cooldowns else "") + f"{_where(found)}.")


# --------------------------------------------------------------------------- step scaling


class StepScalingParams(Params):
    cluster: str
    service: str
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
    found = find_target(aws, p.cluster, p.service)
    if found is None:
        return _no_target(aws, p.cluster, p.service)
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


class ScheduledParams(Params):
    cluster: str
    service: str
    kind: Literal["cron", "rate", "at"] = "cron"


@check("appautoscaling.scheduled_action", title="A scheduled action changes the limits on a "
       "schedule", params=ScheduledParams,
       hint="put-scheduled-action --schedule 'cron(...)' --scalable-target-action "
            "MinCapacity=N,MaxCapacity=M")
def scheduled_action(aws: ReadOnlyAws, p: ScheduledParams) -> Result:
    found = find_target(aws, p.cluster, p.service)
    if found is None:
        return _no_target(aws, p.cluster, p.service)
    actions = aws.client("application-autoscaling").paginate(
        "describe_scheduled_actions", "ScheduledActions", ServiceNamespace=NAMESPACE,
        ResourceId=found.resource, ScalableDimension=DIMENSION)
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
    raw = aws.client("application-autoscaling").paginate(
        "describe_scaling_activities", "ScalingActivities", ServiceNamespace=NAMESPACE,
        ResourceId=found.resource, ScalableDimension=DIMENSION)
    ordered = sorted(raw, key=lambda a: a["StartTime"].timestamp()
                     if isinstance(a.get("StartTime"), datetime) else 0.0)
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


class ActivityParams(Params):
    cluster: str
    service: str
    target_group: str | None = Field(
        default=None, description="also require this many healthy targets in this group")


def _healthy_targets(aws: ReadOnlyAws, name: str,
                     service: dict[str, Any]) -> tuple[str, int] | None:
    """(group name, healthy targets) of the named group, else of the service's own group."""
    arn = None
    try:
        groups = aws.elbv2.describe_target_groups(Names=[name])["TargetGroups"]
        arn = groups[0]["TargetGroupArn"] if groups else None
    except ClientError as exc:
        if not is_not_found(exc):
            raise
    if arn is None:
        arns = [lb.get("targetGroupArn") for lb in service.get("loadBalancers", [])]
        arn = next((a for a in arns if a), None)
        if arn is None:
            return None
        name = arn.split(":targetgroup/", 1)[-1].split("/", 1)[0]
    health = aws.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return name, sum(1 for h in health if h.get("TargetHealth", {}).get("State") == "healthy")


@check("appautoscaling.scaled_out", title="An alarm scaled the service out and the new tasks "
       "serve", params=ActivityParams,
       hint="Keep the load on: target tracking waits for 3 minutes above its target, a step "
            "alarm for its evaluation periods; then ECS starts the tasks and the load balancer "
            "checks them.")
def scaled_out(aws: ReadOnlyAws, p: ActivityParams) -> Result:
    found = find_target(aws, p.cluster, p.service)
    if found is None:
        return _no_target(aws, p.cluster, p.service)
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
    if running < desired:
        return failed(
            f"{_cap(latest.words())}, but ECS is still starting tasks: {running} of "
            f"{desired} run.",
            expected=f"{desired} running tasks", actual=f"{running} running, "
            f"{int(service.get('pendingCount', 0))} pending",
            hint="Give ECS a moment; if tasks never start, the cluster may lack CPU or memory "
                 "(aws ecs describe-services ... --query 'services[0].events[:5]').")
    served = ""
    if p.target_group:
        counted = _healthy_targets(aws, p.target_group, service)
        if counted is None:
            return failed(f"Target group {p.target_group} does not exist and "
                          f"{found.label} uses none.",
                          expected=f"target group {p.target_group}", actual="no target group")
        group, healthy = counted
        if healthy < desired:
            return failed(
                f"{_cap(latest.words())}; {healthy} of {desired} targets in {group} "
                "are healthy: the new tasks are still passing their health checks.",
                expected=f"{desired} healthy targets in {group}",
                actual=f"{healthy} healthy")
        served = f"; {healthy} healthy targets in {group}"
    return passed(f"{_cap(latest.words())}; {running} tasks run{served}.")


@check("appautoscaling.scaled_in", title="An alarm scaled the service back in",
       params=ActivityParams,
       hint="Scale-in is slow on purpose: target tracking's low alarm waits 15 minutes below 90% "
            "of the target, then removes tasks a few at a time, once per scale-in cooldown.")
def scaled_in(aws: ReadOnlyAws, p: ActivityParams) -> Result:
    found = find_target(aws, p.cluster, p.service)
    if found is None:
        return _no_target(aws, p.cluster, p.service)
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
    return passed(f"{_cap(ins[-1].words())}; {found.label} now wants {_tasks(desired)} "
                  f"({len(ins)} scale-in {'activity' if len(ins) == 1 else 'activities'}).")
