"""CloudWatch alarm checks: what an alarm watches, when it fires, and whether firing does anything.

An alarm that drives step scaling must watch the service's own metric (``AWS/ECS`` with both
``ClusterName`` and ``ServiceName``: without ServiceName it watches the whole cluster), compare
it the right way for enough periods, and name the step policy's ARN among its alarm actions.
An alarm found by name is judged; else, by discovery, an alarm on the service's metric that
is not one of target tracking's own (a CloudFormation-made alarm has a generated name).
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


def find_alarm(aws: ReadOnlyAws, name: str, cluster: str, service: str,
               metric: str) -> tuple[dict[str, Any] | None, bool]:
    """(alarm, discovered): by name, else the learner's own alarm on this service's metric."""
    found = aws.cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
    if found:
        return found[0], False
    wanted = service_dimensions(cluster, service)
    candidates = [a for a in metric_alarms(aws)
                  if not is_target_tracking_alarm(a) and a.get("MetricName") == metric
                  and a.get("Namespace") == ECS_NAMESPACE and dimensions_of(a) == wanted]
    if candidates:
        with_actions = [a for a in candidates if a.get("AlarmActions")]
        return (with_actions or candidates)[0], True
    return None, False


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


def _named(alarm: dict[str, Any], discovered: bool) -> str:
    return f"Alarm {alarm['AlarmName']}" + (" (found by discovery)" if discovered else "")


class AlarmMetricParams(Params):
    alarm: str
    cluster: str
    service: str
    metric: str = "CPUUtilization"
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
    alarm, discovered = find_alarm(aws, p.alarm, p.cluster, p.service, p.metric)
    if alarm is None:
        return _missing(aws, p.alarm, p.cluster, p.service, p.metric)
    named = _named(alarm, discovered)
    if alarm.get("Metrics"):
        return failed(f"{named} uses metric math; this step wants a plain metric alarm.",
                      expected=f"{ECS_NAMESPACE} {p.metric}", actual="a metric-math alarm")
    if (alarm.get("Namespace"), alarm.get("MetricName")) != (ECS_NAMESPACE, p.metric):
        return failed(f"{named} watches the wrong metric.",
                      expected=f"{ECS_NAMESPACE} {p.metric}",
                      actual=f"{alarm.get('Namespace')} {alarm.get('MetricName')}")
    wanted, found = service_dimensions(p.cluster, p.service), dimensions_of(alarm)
    if found != wanted:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(found.items())) or "no dimensions"
        cause = (" (without ServiceName it is the whole cluster's CPU, not the service's)"
                 if "ServiceName" not in found and found.get("ClusterName") == p.cluster else "")
        return failed(f"{named} watches another resource's {p.metric}{cause}.",
                      expected=f"ClusterName={p.cluster}, ServiceName={p.service}",
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
        return failed(
            f"{named} fires at the wrong time: {', '.join(wrong)}.",
            expected=f"{p.statistic} {p.metric} {sign} {p.threshold:g} for "
                     f"{p.evaluation_periods} periods"
                     + (f" of {p.period} s" if p.period is not None else ""),
            actual=_describe(alarm))
    return passed(f"{named} fires when {_describe(alarm)} for service {p.service} "
                  f"(now {alarm.get('StateValue')}).")


class AlarmPolicyParams(Params):
    alarm: str
    cluster: str
    service: str
    metric: str = "CPUUtilization"
    policy_type: str = Field(default="StepScaling",
                             description="the kind of policy the alarm must run")


@check("cloudwatch.alarm_triggers_policy", title="The alarm's action is the scaling policy",
       params=AlarmPolicyParams,
       hint="An alarm runs what its --alarm-actions name: give it the PolicyARN that "
            "put-scaling-policy printed.")
def alarm_triggers_policy(aws: ReadOnlyAws, p: AlarmPolicyParams) -> Result:
    alarm, discovered = find_alarm(aws, p.alarm, p.cluster, p.service, p.metric)
    if alarm is None:
        return _missing(aws, p.alarm, p.cluster, p.service, p.metric)
    named = _named(alarm, discovered)
    found = scaling.find_target(aws, p.cluster, p.service)
    every = scaling.policies(aws, found) if found else []
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
            f"{named} does not run the {p.policy_type} policy of service {p.service}.",
            expected=("an alarm action naming " + want) if want
            else f"a {p.policy_type} policy on the service, and its ARN as the alarm action",
            actual=actual)
    if not alarm.get("ActionsEnabled", True):
        return failed(f"{named} names policy {wired[0]}, but its actions are disabled.",
                      expected="ActionsEnabled true", actual="ActionsEnabled false",
                      hint="aws cloudwatch enable-alarm-actions --alarm-names ...")
    return passed(f"{named} runs policy {wired[0]} when it goes to ALARM.")
