"""CloudWatch alarm checks against the real sandbox: the step alarm of the service-autoscaling
lab passes when it watches the service's CPU the right way and runs the step policy, and fails,
naming the cause, when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from cloudkata.checks import Result, Status, get
from cloudkata.targets import Target

from .test_appautoscaling import CLUSTER, SERVICE, Stack

ALARM = {"alarm": "kata-web-cpu-high", "cluster": CLUSTER, "service": SERVICE}
METRIC = {**ALARM, "threshold": 70, "evaluation_periods": 2, "period": 60}


@pytest.fixture
def stack(sandbox: Target) -> Stack:
    return Stack(sandbox).build().register(1, 4)


def run(sandbox: Target, check_id: str, **params: Any) -> Result:
    spec = get(check_id)
    return spec.function(sandbox.read_only(), spec.params.model_validate(params))


# --- alarm_watches_metric ------------------------------------------------------------------


def test_alarm_watches_metric_passes(sandbox: Target, stack: Stack) -> None:
    stack.alarm([stack.step_policy()])
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.PASSED, result
    assert result.message == (
        "Alarm kata-web-cpu-high fires when Average CPUUtilization > 70 for 2 of 2 periods of "
        "60 s for service web (now INSUFFICIENT_DATA).")


def test_alarm_watches_metric_fails_when_the_alarm_is_missing(
        sandbox: Target, stack: Stack) -> None:
    stack.target_tracking()  # its own alarms do not count as the learner's
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.FAILED
    assert "no alarm kata-web-cpu-high" in result.message
    assert result.actual == "no alarms of yours"


def test_alarm_watches_metric_finds_an_alarm_by_discovery(sandbox: Target, stack: Stack) -> None:
    stack.alarm([stack.step_policy()], name="stack-CpuHighAlarm-XYZ")
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.PASSED, result
    assert ("Alarm stack-CpuHighAlarm-XYZ (found by discovery: there is no alarm "
            "kata-web-cpu-high; this one watches CPUUtilization of service web in "
            "kata-cluster)") in result.message


def test_alarm_discovery_prefers_the_alarm_that_runs_the_step_policy(
        sandbox: Target, stack: Stack) -> None:
    arn = stack.step_policy()
    stack.alarm([], name="aaa-cpu-watch")  # first by name, but runs nothing
    stack.alarm([arn], name="stack-CpuHighAlarm-XYZ")
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.PASSED, result
    assert "stack-CpuHighAlarm-XYZ (found by discovery" in result.message


def test_alarm_discovery_never_takes_another_services_alarm(
        sandbox: Target, stack: Stack) -> None:
    stack.alarm([stack.step_policy()], name="api-cpu-high",
                Dimensions=[{"Name": "ClusterName", "Value": CLUSTER},
                            {"Name": "ServiceName", "Value": "api"}])
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.FAILED
    assert "no alarm kata-web-cpu-high, nor another alarm on CPUUtilization of service web" \
        in result.message
    assert result.actual == "other alarms: api-cpu-high"


def test_alarm_watches_metric_fails_on_the_whole_cluster(sandbox: Target, stack: Stack) -> None:
    stack.alarm([], Dimensions=[{"Name": "ClusterName", "Value": CLUSTER}])
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.FAILED
    assert "whole cluster's CPU" in result.message
    assert result.actual == "ClusterName=kata-cluster"


def test_alarm_watches_metric_fails_on_a_fraction_for_a_percentage(
        sandbox: Target, stack: Stack) -> None:
    stack.alarm([stack.step_policy()], Threshold=0.7)
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.FAILED
    assert ("fires at the wrong time: threshold 0.7. CPUUtilization is a percentage: 70 means "
            "70%") in result.message


def test_alarm_watches_metric_fails_on_another_metric(sandbox: Target, stack: Stack) -> None:
    stack.alarm([], MetricName="MemoryUtilization")
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.FAILED
    assert result.actual == "AWS/ECS MemoryUtilization"


def test_alarm_watches_metric_fails_on_threshold_comparison_and_periods(
        sandbox: Target, stack: Stack) -> None:
    stack.alarm([], Threshold=80.0, ComparisonOperator="LessThanThreshold", EvaluationPeriods=5)
    result = run(sandbox, "cloudwatch.alarm_watches_metric", **METRIC)
    assert result.status is Status.FAILED
    assert ("comparison LessThanThreshold, threshold 80.0, 5 evaluation periods"
            in result.message)
    assert result.expected == "Average CPUUtilization > 70 for 2 periods of 60 s"
    assert result.actual == "Average CPUUtilization < 80 for 5 of 5 periods of 60 s"


# --- alarm_triggers_policy -----------------------------------------------------------------


def test_alarm_triggers_policy_passes_when_it_names_the_step_policy(
        sandbox: Target, stack: Stack) -> None:
    stack.alarm([stack.step_policy()])
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.PASSED, result
    assert result.message == ("Alarm kata-web-cpu-high runs policy kata-web-step-out when it "
                              "goes to ALARM.")


def test_alarm_triggers_policy_fails_without_actions(sandbox: Target, stack: Stack) -> None:
    stack.step_policy()
    stack.alarm([])
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.FAILED
    assert result.actual == "no alarm actions: the alarm changes state and nothing happens"
    assert result.expected is not None and "kata-web-step-out" in result.expected


def test_alarm_triggers_policy_fails_on_an_arn_that_is_not_the_policy(
        sandbox: Target, stack: Stack) -> None:
    arn = stack.step_policy()
    stack.alarm([arn.replace("kata-web-step-out", "kata-web-step-typo")])
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.FAILED
    assert result.actual is not None and "does not belong to this service's policies" \
        in result.actual


def test_alarm_triggers_policy_fails_on_the_target_tracking_policy(
        sandbox: Target, stack: Stack) -> None:
    """Wiring the alarm to the target-tracking policy is not step scaling."""
    stack.step_policy()
    stack.alarm([stack.target_tracking()])
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.FAILED
    assert "does not run the StepScaling policy" in result.message
    assert result.actual == "actions name kata-web-cpu50, a TargetTrackingScaling policy"


def test_alarm_triggers_policy_fails_when_actions_are_disabled(
        sandbox: Target, stack: Stack) -> None:
    stack.alarm([stack.step_policy()], ActionsEnabled=False)
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.FAILED
    assert result.actual == "ActionsEnabled false"


def test_alarm_triggers_policy_fails_on_an_sns_topic(sandbox: Target, stack: Stack) -> None:
    stack.step_policy()
    stack.alarm(["arn:aws:sns:us-east-1:123456789012:ops"])
    result = run(sandbox, "cloudwatch.alarm_triggers_policy", **ALARM)
    assert result.status is Status.FAILED
    assert result.actual == "actions arn:aws:sns:us-east-1:123456789012:ops"
