"""CloudWatch alarm checks: what an alarm watches, when it fires, and whether firing does anything.

An alarm that drives step scaling must watch the service's own metric (``AWS/ECS`` with both
``ClusterName`` and ``ServiceName``: without ServiceName it watches the whole cluster), compare
it the right way for enough periods, and name the step policy's ARN among its alarm actions.
An alarm found by name is judged; else, by discovery, an alarm on exactly this service's
metric (namespace, name and both dimensions; the service as ``appautoscaling`` resolves it)
that is not one of target tracking's own (a CloudFormation-made alarm has a generated name),
preferring one that runs a step policy of the service. Discovery names what it found, which
is then judged in full like an alarm found by name.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from . import appautoscaling as scaling
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws

ECS_NAMESPACE = "AWS/ECS"
_COMPARISONS = {
    "GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<=",
}


def service_dimensions(cluster: str, service: str) -> dict[str, str]:
    return {"ClusterName": cluster, "ServiceName": service}


def dimensions_of(alarm: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def is_target_tracking_alarm(alarm: dict[str, Any]) -> bool:
    """Alarms Application Auto Scaling made for a target-tracking policy (hands off)."""
    return alarm.get("AlarmName", "").startswith("TargetTracking-")


def metric_alarms(aws: ReadOnlyAws) -> list[dict[str, Any]]:
    return aws.cloudwatch.paginate("describe_alarms", "MetricAlarms")


def find_alarm(aws: ReadOnlyAws, name: str, cluster: str, service: str, metric: str,
               policy_arns: frozenset[str] = frozenset()) -> tuple[dict[str, Any] | None, bool]:
    """(alarm, discovered): by name, else the learner's own alarm on this service's metric,
    one that runs one of ``policy_arns`` first, then one with any action."""
    found = aws.cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    if found:
        return found[0], False
    wanted = service_dimensions(cluster, service)
    candidates = [a for a in metric_alarms(aws)
                  if not is_target_tracking_alarm(a) and a.get("MetricName") == metric
                  and a.get("Namespace") == ECS_NAMESPACE and dimensions_of(a) == wanted]
    candidates.sort(key=lambda a: (not set(a.get("AlarmActions") or []) & policy_arns,
                                   not a.get("AlarmActions")))
    return (candidates[0], True) if candidates else (None, False)


def lab_service(aws: ReadOnlyAws, p: ServiceAlarmParams) -> tuple[str, scaling.Found | None]:
    """The service the alarm must watch: the lab's, or the one scaling discovery found for it
    (a generated name), and its scalable target when there is one."""
    found = scaling.find_target(aws, p.cluster, p.service, p.target_group)
    return (found.service if found else p.service), found


def step_policy_arns(aws: ReadOnlyAws, found: scaling.Found | None,
                     policy_type: str = "StepScaling") -> dict[str, str]:
    """ARN -> name of the service's policies of this type."""
    every = scaling.policies(aws, found) if found else []
    return {x["PolicyARN"]: x["PolicyName"] for x in every if x.get("PolicyType") == policy_type}


def _missing(aws: ReadOnlyAws, name: str, cluster: str, service: str, metric: str) -> Result:
    others = [a["AlarmName"] for a in metric_alarms(aws) if not is_target_tracking_alarm(a)]
    return failed(
        f"There is no alarm {name}, nor another alarm on {metric} of service {service}.",
        expected=f"an alarm {name} on {ECS_NAMESPACE} {metric} (ClusterName={cluster}, "
                 f"ServiceName={service})",
        actual=("other alarms: " + ", ".join(others)) if others else "no alarms of yours",
        hint="aws cloudwatch put-metric-alarm creates it.")


def _describe(alarm: dict[str, Any]) -> str:
    sign = _COMPARISONS.get(alarm.get("ComparisonOperator", ""), "?")
    periods = alarm.get("EvaluationPeriods")
    needed = alarm.get("DatapointsToAlarm") or periods
    return (f"{alarm.get('Statistic') or alarm.get('ExtendedStatistic')} "
            f"{alarm.get('MetricName')} {sign} {alarm.get('Threshold'):g} for {needed} of "
            f"{periods} periods of {alarm.get('Period')} s")


def _named(alarm: dict[str, Any], discovered: bool, wanted: str = "") -> str:
    """'Alarm NAME', and when discovery chose it, what it was looked for as."""
    if not discovered:
        return f"Alarm {alarm['AlarmName']}"
    dims = dimensions_of(alarm)
    return (f"Alarm {alarm['AlarmName']} (found by discovery: there is no alarm {wanted}; "
            f"this one watches {alarm.get('MetricName')} of service {dims.get('ServiceName')} "
            f"in {dims.get('ClusterName')})")


class ServiceAlarmParams(Params):
    alarm: str
    cluster: str
    service: str
    target_group: str | None = Field(
        default=None, description="discovery of a service with a generated name, as in "
                                  "appautoscaling")
    metric: str = "CPUUtilization"


class AlarmMetricParams(ServiceAlarmParams):
    statistic: str = "Average"
    comparison: str = Field(default="GreaterThanThreshold",
                            description="a ComparisonOperator, e.g. GreaterThanThreshold")
    threshold: float
    evaluation_periods: int = Field(ge=1)
    period: int | None = Field(default=None, description="seconds; None accepts any period")


@check("cloudwatch.alarm_watches_metric", title="The alarm watches the service's metric with "
       "the right threshold", params=AlarmMetricParams,
       hint="put-metric-alarm --namespace AWS/ECS --metric-name CPUUtilization --dimensions "
            "Name=ClusterName,Value=... Name=ServiceName,Value=... --statistic Average "
            "--comparison-operator ... --threshold ... --evaluation-periods ...")
def alarm_watches_metric(aws: ReadOnlyAws, p: AlarmMetricParams) -> Result:
    service, found = lab_service(aws, p)
    alarm, discovered = find_alarm(aws, p.alarm, p.cluster, service, p.metric,
                                   frozenset(step_policy_arns(aws, found)))
    if alarm is None:
        return _missing(aws, p.alarm, p.cluster, service, p.metric)
    named = _named(alarm, discovered, p.alarm)
    if alarm.get("Metrics"):
        return failed(f"{named} uses metric math; this step wants a plain metric alarm.",
                      expected=f"{ECS_NAMESPACE} {p.metric}", actual="a metric-math alarm")
    if (alarm.get("Namespace"), alarm.get("MetricName")) != (ECS_NAMESPACE, p.metric):
        return failed(f"{named} watches the wrong metric.",
                      expected=f"{ECS_NAMESPACE} {p.metric}",
                      actual=f"{alarm.get('Namespace')} {alarm.get('MetricName')}")
    wanted, dimensions = service_dimensions(p.cluster, service), dimensions_of(alarm)
    if dimensions != wanted:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(dimensions.items())) or "no dimensions"
        cause = (" (without ServiceName it is the whole cluster's CPU, not the service's)"
                 if "ServiceName" not in dimensions and dimensions.get("ClusterName") == p.cluster
                 else "")
        return failed(f"{named} watches another resource's {p.metric}{cause}.",
                      expected=f"ClusterName={p.cluster}, ServiceName={service}",
                      actual=shown)
    wrong = []
    if alarm.get("Statistic") != p.statistic:
        wrong.append(f"statistic {alarm.get('Statistic') or alarm.get('ExtendedStatistic')}")
    if alarm.get("ComparisonOperator") != p.comparison:
        wrong.append(f"comparison {alarm.get('ComparisonOperator')}")
    if not math.isclose(float(alarm.get("Threshold", math.nan)), p.threshold):
        wrong.append(f"threshold {alarm.get('Threshold')}")
    if int(alarm.get("EvaluationPeriods") or 0) != p.evaluation_periods:
        wrong.append(f"{alarm.get('EvaluationPeriods')} evaluation periods")
    if p.period is not None and int(alarm.get("Period") or 0) != p.period:
        wrong.append(f"period {alarm.get('Period')} s")
    if wrong:
        sign = _COMPARISONS.get(p.comparison, p.comparison)
        threshold = float(alarm.get("Threshold", math.nan))
        percent = (f" {p.metric} is a percentage: {p.threshold:g} means {p.threshold:g}%, not "
                   "a fraction of 1." if p.metric.endswith("Utilization") and p.threshold >= 1
                   and 0 < threshold < 1 else "")
        return failed(
            f"{named} fires at the wrong time: {', '.join(wrong)}.{percent}",
            expected=f"{p.statistic} {p.metric} {sign} {p.threshold:g} for "
                     f"{p.evaluation_periods} periods"
                     + (f" of {p.period} s" if p.period is not None else ""),
            actual=_describe(alarm))
    return passed(f"{named} fires when {_describe(alarm)} for service {service} "
                  f"(now {alarm.get('StateValue')}).")


class AlarmPolicyParams(ServiceAlarmParams):
    policy_type: str = Field(default="StepScaling",
                             description="the kind of policy the alarm must run")


@check("cloudwatch.alarm_triggers_policy", title="The alarm's action is the scaling policy",
       params=AlarmPolicyParams,
       hint="An alarm runs what its --alarm-actions name: give it the PolicyARN that "
            "put-scaling-policy printed.")
def alarm_triggers_policy(aws: ReadOnlyAws, p: AlarmPolicyParams) -> Result:
    service, found = lab_service(aws, p)
    every = scaling.policies(aws, found) if found else []
    alarm, discovered = find_alarm(
        aws, p.alarm, p.cluster, service, p.metric,
        frozenset(x["PolicyARN"] for x in every if x.get("PolicyType") == p.policy_type))
    if alarm is None:
        return _missing(aws, p.alarm, p.cluster, service, p.metric)
    named = _named(alarm, discovered, p.alarm)
    arns = {x["PolicyARN"]: x["PolicyName"] for x in every if x.get("PolicyType") == p.policy_type}
    others = {x["PolicyARN"]: x for x in every if x.get("PolicyType") != p.policy_type}
    actions = list(alarm.get("AlarmActions") or [])
    wired = [arns[a] for a in actions if a in arns]
    if not wired:
        want = ", ".join(f"{name} ({arn})" for arn, name in arns.items())
        misplaced = [others[a] for a in actions if a in others]
        if not actions:
            actual = "no alarm actions: the alarm changes state and nothing happens"
        elif misplaced:
            actual = "actions name " + ", ".join(
                f"{x['PolicyName']}, a {x.get('PolicyType')} policy" for x in misplaced)
        elif any(":scalingPolicy:" in a for a in actions):
            actual = ("actions " + ", ".join(actions) + ": a scaling policy ARN that does "
                      "not belong to this service's policies (a typo, or a policy since "
                      "deleted)")
        else:
            actual = "actions " + ", ".join(actions)
        return failed(
            f"{named} does not run the {p.policy_type} policy of service {service}.",
            expected=("an alarm action naming " + want) if want
            else f"a {p.policy_type} policy on the service, and its ARN as the alarm action",
            actual=actual)
    if not alarm.get("ActionsEnabled", True):
        return failed(f"{named} names policy {wired[0]}, but its actions are disabled.",
                      expected="ActionsEnabled true", actual="ActionsEnabled false",
                      hint="aws cloudwatch enable-alarm-actions --alarm-names ...")
    return passed(f"{named} runs policy {wired[0]} when it goes to ALARM.")
