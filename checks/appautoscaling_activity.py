"""Application Auto Scaling checks of what actually happened: an alarm scaled the service out
and the new tasks serve (``scaled_out``), then scaled it back in (``scaled_in``).

They judge the target's scaling history rather than its configuration, so they live apart
from :mod:`.appautoscaling` (whose lookups they use). Activities are read with
DescribeScalingActivities and the service's counts with DescribeServices, which AWS and the
sandbox both answer, so the scaling steps are graded the same way on either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from .appautoscaling import (
    Found,
    ServiceParams,
    activities,
    cap,
    find_service,
    find_target,
    group_arn,
    no_target,
    policies,
    policy_names,
)
from .registry import check
from .result import Result, failed, passed
from .session import ReadOnlyAws

_DESIRED = re.compile(r"Setting desired count to (\d+)")
_ALARM_CAUSE = re.compile(r"monitor alarm (?P<alarm>.+?) in state (?P<state>\w+) triggered "
                          r"policy (?P<policy>.+)$")


def _tasks(count: int) -> str:
    return f"{count} task" if count == 1 else f"{count} tasks"


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
    arn = group_arn(aws, name)
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
        return no_target(aws, p.cluster, p.service, p.target_group)
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
                f"{cap(latest.words())}, but the tasks fail the load balancer's health "
                f"checks{why}, so ECS keeps stopping and replacing them: {running} of "
                f"{desired} run. {checked}",
                expected=f"{desired} running tasks that pass the health checks",
                actual=f"{len(replaced)} tasks stopped for failing ELB health checks since the "
                       f"scale-out; {running} running, {pending} pending")
        if unplaced:
            return failed(
                f"{cap(latest.words())}, but the cluster has no room for the new tasks: "
                f"{running} of {desired} run. ECS says: {unplaced[0]}",
                expected=f"{desired} running tasks",
                actual=f"{running} running, {pending} pending; no container instance has the "
                       "CPU, memory or ports for another task")
        event = _latest_event(service)
        return failed(
            f"{cap(latest.words())}, but ECS is still starting tasks: {running} of "
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
                f"{cap(latest.words())}; {healthy} of {desired} targets in {group} "
                f"are healthy: {why_words}",
                expected=f"{desired} healthy targets in {group}",
                actual=f"{healthy} healthy" + (f", {len(failing)} unhealthy" if failing
                                               else ""))
        served = f"; {healthy} healthy targets in {group}"
    return passed(f"{cap(latest.words())}; {running} tasks run{served}.")


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
        return no_target(aws, p.cluster, p.service, p.target_group)
    service = find_service(aws, found.cluster, found.service)
    desired = int(service.get("desiredCount", 0)) if service else 0
    history = scaling_history(aws, found)
    outs = [i for i, a in enumerate(history) if a.direction == "out"]
    if not outs:
        return failed(f"{cap(found.label)} never scaled out, so there is nothing to scale "
                      "in yet.",
                      expected="a scale-out, then a scale-in caused by an alarm",
                      actual="no scale-out activity")
    ins = [a for a in history[outs[-1] + 1:] if a.direction == "in"]
    if not ins:
        return failed(
            f"{cap(found.label)} still wants {_tasks(desired)}: no alarm has scaled it in since "
            f"{history[outs[-1]].words()}.",
            expected="a scaling activity lowering the desired count after the last scale-out",
            actual=f"desired count {desired}, no scale-in since the scale-out")
    blocked = _scale_in_blocked(aws, found)
    if blocked:
        return failed(
            f"{cap(ins[-1].words())}, but nothing will scale {found.label} in the next time "
            f"the load goes: {blocked}.",
            expected="a policy that may remove tasks (target tracking with DisableScaleIn "
                     "false), and scale-in by policies not suspended",
            actual=blocked)
    return passed(f"{cap(ins[-1].words())}; {found.label} now wants {_tasks(desired)} "
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
    return ("no policy removes tasks (" + policy_names(every) + ")" if every
            else "it has no scaling policy left")
