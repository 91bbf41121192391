"""Service load, CloudWatch alarms and scaling, scripted as a learner would drive them.

Everything goes over HTTP to the test sandbox (frozen clock); time moves only through
``manager.advance``. The ECS scheduler is not needed: these tests read ``desiredCount``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.sandbox import manager
from cloudkata.sandbox.behaviours.app_autoscaling_schedule import fire_times, schedule_problem
from cloudkata.sandbox.behaviours.scaling_common import AlarmTrigger, adjusted, select_step
from cloudkata.targets import Target

CLUSTER, SERVICE = "demo", "web"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"
DIMENSIONS = [{"Name": "ClusterName", "Value": CLUSTER},
              {"Name": "ServiceName", "Value": SERVICE}]


def _client(sandbox: Target, name: str) -> Any:
    return boto3.client(name, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _call(endpoint: str, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(endpoint + path, method=method, data=data,
                                     headers={"Content-Type": "application/json",
                                              **manager.control_headers(endpoint)})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _load(sandbox: Target, **levels: float) -> None:
    status, body = _call(sandbox.endpoint_url, "POST", "/cloudkata/load",
                         {"cluster": CLUSTER, "service": SERVICE, **levels})
    assert status == 200, body


def _now(sandbox: Target) -> datetime:
    _, body = _call(sandbox.endpoint_url, "GET", "/cloudkata/clock")
    return datetime.fromtimestamp(body["now"], UTC)


def _service(sandbox: Target) -> Any:
    """A cluster, a task definition and a service with one task wanted."""
    ecs = _client(sandbox, "ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "nginx", "cpu": 128, "memory": 128, "essential": True}])
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="web",
                       desiredCount=1)
    return ecs


def _desired(ecs: Any) -> int:
    return ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0][
        "desiredCount"]


def _scalable(sandbox: Target, low: int = 1, high: int = 4) -> Any:
    scaling = _client(sandbox, "application-autoscaling")
    scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=RESOURCE,
                                     ScalableDimension=DIMENSION, MinCapacity=low,
                                     MaxCapacity=high)
    return scaling


def _alarm(cloudwatch: Any, name: str) -> dict:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def _activities(scaling: Any) -> list[dict]:
    return scaling.describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
    )["ScalingActivities"]


def test_applied_load_is_published_as_ecs_service_metrics(sandbox: Target) -> None:
    _service(sandbox)
    status, body = _call(sandbox.endpoint_url, "POST", "/cloudkata/load",
                         {"cluster": CLUSTER, "service": "nope", "cpu": 85})
    assert status == 404 and "nope" in body["message"]
    _load(sandbox, cpu=85, memory=40)
    manager.advance(sandbox.endpoint_url, 185)
    cloudwatch = _client(sandbox, "cloudwatch")
    now = _now(sandbox)
    for metric, level in (("CPUUtilization", 85.0), ("MemoryUtilization", 40.0)):
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/ECS", MetricName=metric, Dimensions=DIMENSIONS,
            StartTime=now - timedelta(minutes=10), EndTime=now, Period=60,
            Statistics=["Average"])["Datapoints"]
        stamps = sorted(p["Timestamp"] for p in points)
        assert len(stamps) in (3, 4)  # one per simulated minute that is over
        assert all(s.second == 0 for s in stamps)
        assert all(b - a == timedelta(minutes=1) for a, b in pairwise(stamps))
        assert {p["Average"] for p in points} == {level}
        assert all(p["Unit"] == "Percent" for p in points)
    listed = cloudwatch.list_metrics(Namespace="AWS/ECS")["Metrics"]
    assert {m["MetricName"] for m in listed} == {"CPUUtilization", "MemoryUtilization"}


def test_target_tracking_scales_out_to_the_max_and_back_in(sandbox: Target) -> None:
    ecs = _service(sandbox)
    scaling = _scalable(sandbox, 1, 4)
    cloudwatch = _client(sandbox, "cloudwatch")
    answer = scaling.put_scaling_policy(
        PolicyName="cpu50", ServiceNamespace="ecs", ResourceId=RESOURCE,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    assert answer["PolicyARN"].startswith("arn:aws:autoscaling:us-east-1:")
    names = {a["AlarmName"] for a in answer["Alarms"]}
    high = next(n for n in names if "-AlarmHigh-" in n)
    low = next(n for n in names if "-AlarmLow-" in n)
    alarm_high, alarm_low = _alarm(cloudwatch, high), _alarm(cloudwatch, low)
    assert (alarm_high["Threshold"], alarm_high["EvaluationPeriods"]) == (50.0, 3)
    assert (alarm_low["Threshold"], alarm_low["EvaluationPeriods"]) == (45.0, 15)
    assert alarm_high["StateValue"] == alarm_low["StateValue"] == "INSUFFICIENT_DATA"

    _load(sandbox, cpu=90)
    manager.advance(sandbox.endpoint_url, 240)  # three breaching minutes: AlarmHigh fires
    assert _alarm(cloudwatch, high)["StateValue"] == "ALARM"
    assert _alarm(cloudwatch, low)["StateValue"] == "OK"
    assert _desired(ecs) == 2  # ceil(1 * 90 / 50)
    manager.advance(sandbox.endpoint_url, 300)  # scale-out cooldown over, still 90%
    assert _desired(ecs) == 4  # ceil(2 * 90 / 50) = 4, the maximum
    manager.advance(sandbox.endpoint_url, 300)
    assert _desired(ecs) == 4  # never above MaxCapacity

    activities = _activities(scaling)
    assert [a["Description"] for a in activities] == [
        "Setting desired count to 4.", "Setting desired count to 2."]  # newest first
    assert activities[0]["StartTime"] > activities[1]["StartTime"]
    assert activities[0]["Cause"] == (
        f"monitor alarm {high} in state ALARM triggered policy cpu50")
    assert {a["StatusCode"] for a in activities} == {"Successful"}
    page = scaling.describe_scaling_activities(ServiceNamespace="ecs", MaxResults=1)
    assert len(page["ScalingActivities"]) == 1 and page["NextToken"]

    _load(sandbox, cpu=10)
    manager.advance(sandbox.endpoint_url, 600)
    assert _alarm(cloudwatch, high)["StateValue"] == "OK"
    assert _desired(ecs) == 4  # AlarmLow needs 15 low minutes
    manager.advance(sandbox.endpoint_url, 360)
    assert _alarm(cloudwatch, low)["StateValue"] == "ALARM"
    assert _desired(ecs) == 3  # scale-in is gradual
    manager.advance(sandbox.endpoint_url, 900)
    assert _desired(ecs) == 1  # one task per scale-in cooldown, down to MinCapacity
    assert [a["Description"] for a in _activities(scaling)][:3] == [
        "Setting desired count to 1.", "Setting desired count to 2.",
        "Setting desired count to 3."]


def test_step_scaling_on_a_learners_alarm_adds_one_task(sandbox: Target) -> None:
    ecs = _service(sandbox)
    scaling = _scalable(sandbox, 1, 4)
    cloudwatch = _client(sandbox, "cloudwatch")
    arn = scaling.put_scaling_policy(
        PolicyName="add-one", ServiceNamespace="ecs", ResourceId=RESOURCE,
        ScalableDimension=DIMENSION, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "Cooldown": 600,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]},
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName="web-cpu-high", Namespace="AWS/ECS", MetricName="CPUUtilization",
        Dimensions=DIMENSIONS, Statistic="Average", Period=60, EvaluationPeriods=2,
        Threshold=70, ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
    assert _alarm(cloudwatch, "web-cpu-high")["StateValue"] == "INSUFFICIENT_DATA"

    manager.advance(sandbox.endpoint_url, 130)  # default 20% CPU: below the threshold
    assert _alarm(cloudwatch, "web-cpu-high")["StateValue"] == "OK"
    _load(sandbox, cpu=85)
    manager.advance(sandbox.endpoint_url, 185)
    alarm = _alarm(cloudwatch, "web-cpu-high")
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 2 out of the last 2 datapoints")
    assert _desired(ecs) == 2
    manager.advance(sandbox.endpoint_url, 120)
    assert _desired(ecs) == 2  # the 600 s cooldown holds further steps
    assert _activities(scaling)[0]["Cause"] == (
        "monitor alarm web-cpu-high in state ALARM triggered policy add-one")

    history = cloudwatch.describe_alarm_history(AlarmName="web-cpu-high")["AlarmHistoryItems"]
    summaries = [h["HistorySummary"] for h in history]
    assert "Alarm updated from OK to ALARM" in summaries
    assert f"Successfully executed action {arn}" in summaries
    assert summaries[-1] == 'Alarm "web-cpu-high" created'  # newest first
    states = cloudwatch.describe_alarm_history(AlarmName="web-cpu-high",
                                               HistoryItemType="StateUpdate")
    assert all(h["HistoryItemType"] == "StateUpdate" for h in states["AlarmHistoryItems"])


def test_set_alarm_state_runs_the_alarm_actions(sandbox: Target) -> None:
    ecs = _service(sandbox)
    scaling = _scalable(sandbox, 1, 3)
    cloudwatch = _client(sandbox, "cloudwatch")
    arn = scaling.put_scaling_policy(
        PolicyName="to-three", ServiceNamespace="ecs", ResourceId=RESOURCE,
        ScalableDimension=DIMENSION, PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ExactCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 5}]},
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName="manual", Namespace="AWS/ECS", MetricName="CPUUtilization",
        Dimensions=DIMENSIONS, Statistic="Average", Period=60, EvaluationPeriods=1,
        Threshold=70, ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
    cloudwatch.set_alarm_state(AlarmName="manual", StateValue="ALARM",
                               StateReason="testing the policy")
    assert _desired(ecs) == 3  # ExactCapacity 5, within MaxCapacity 3
    manager.advance(sandbox.endpoint_url, 125)  # the next evaluation sees 20% CPU
    assert _alarm(cloudwatch, "manual")["StateValue"] == "OK"


def test_scheduled_action_at_raises_the_minimum(sandbox: Target) -> None:
    ecs = _service(sandbox)
    scaling = _scalable(sandbox, 1, 4)
    with pytest.raises(ClientError) as refused:
        scaling.put_scheduled_action(
            ServiceNamespace="ecs", ScheduledActionName="typo", ResourceId=RESOURCE,
            ScalableDimension=DIMENSION, Schedule="at(2030-01-01 10:00)",
            ScalableTargetAction={"MinCapacity": 3})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    when = (_now(sandbox) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S")
    scaling.put_scheduled_action(
        ServiceNamespace="ecs", ScheduledActionName="morning", ResourceId=RESOURCE,
        ScalableDimension=DIMENSION, Schedule=f"at({when})",
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 4})
    manager.advance(sandbox.endpoint_url, 150)
    assert _desired(ecs) == 1
    manager.advance(sandbox.endpoint_url, 60)
    assert _desired(ecs) == 3
    target = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 4)
    activities = _activities(scaling)
    assert [(a["Description"], a["Cause"]) for a in activities] == [
        ("Setting desired count to 3.", "minimum capacity was set to 3"),
        ("Setting min capacity to 3 and max capacity to 4",
         "scheduled action name morning was triggered")]
    manager.advance(sandbox.endpoint_url, 300)
    assert len(_activities(scaling)) == 2  # at() fires once


def test_scaling_needs_a_registered_target(sandbox: Target) -> None:
    _service(sandbox)
    scaling = _client(sandbox, "application-autoscaling")
    with pytest.raises(ClientError) as refused:
        scaling.put_scaling_policy(
            PolicyName="early", ServiceNamespace="ecs", ResourceId=RESOURCE,
            ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0})
    assert refused.value.response["Error"]["Code"] == "ObjectNotFoundException"
    assert scaling.describe_scaling_activities(ServiceNamespace="ecs")[
        "ScalingActivities"] == []


def test_updating_a_target_tracking_policy_replaces_its_alarms(sandbox: Target) -> None:
    _service(sandbox)
    scaling = _scalable(sandbox)
    cloudwatch = _client(sandbox, "cloudwatch")

    def put(target: float) -> dict:
        return scaling.put_scaling_policy(
            PolicyName="memory", ServiceNamespace="ecs", ResourceId=RESOURCE,
            ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target, "DisableScaleIn": True,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}})

    first, second = put(70.0), put(60.0)
    assert first["PolicyARN"] == second["PolicyARN"]  # an update keeps the ARN
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == [second["Alarms"][0]["AlarmName"]]
    assert "-AlarmHigh-" in alarms[0]["AlarmName"]  # no AlarmLow with DisableScaleIn
    assert (alarms[0]["MetricName"], alarms[0]["Threshold"]) == ("MemoryUtilization", 60.0)


def test_asg_simple_scaling_policy_stays_within_max(sandbox: Target) -> None:
    ec2 = _client(sandbox, "ec2")
    autoscaling = _client(sandbox, "autoscaling")
    cloudwatch = _client(sandbox, "cloudwatch")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="workers", LaunchTemplateData={
        "ImageId": image, "InstanceType": "t3.micro"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="workers", LaunchTemplate={"LaunchTemplateName": "workers"},
        MinSize=1, MaxSize=2, DesiredCapacity=1, AvailabilityZones=["us-east-1a"])
    arn = autoscaling.put_scaling_policy(
        AutoScalingGroupName="workers", PolicyName="add-three",
        PolicyType="SimpleScaling", AdjustmentType="ChangeInCapacity",
        ScalingAdjustment=3)["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName="queue-deep", Namespace="Custom/Jobs", MetricName="QueueDepth",
        Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=100,
        ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
    cloudwatch.put_metric_data(Namespace="Custom/Jobs",
                               MetricData=[{"MetricName": "QueueDepth", "Value": 500}])
    manager.advance(sandbox.endpoint_url, 60)  # the minute's datapoint is evaluated once
    assert _alarm(cloudwatch, "queue-deep")["StateValue"] == "ALARM"
    group = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["workers"])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 2  # +3 capped at MaxSize
    assert len(group["Instances"]) == 2


def test_scaling_arithmetic_follows_aws() -> None:
    assert adjusted(4, "ChangeInCapacity", -1) == 3
    assert adjusted(4, "ExactCapacity", 7) == 7
    assert adjusted(4, "PercentChangeInCapacity", 10) == 5  # 0.4 rounds to 1
    assert adjusted(10, "PercentChangeInCapacity", 25) == 12  # 2.5 rounds down
    assert adjusted(10, "PercentChangeInCapacity", -25) == 8  # -2.5 rounds toward zero
    assert adjusted(10, "PercentChangeInCapacity", 10, min_magnitude=3) == 13
    steps = [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 15,
              "ScalingAdjustment": 1},
             {"MetricIntervalLowerBound": 15, "ScalingAdjustment": 3}]

    def trigger(value: float) -> AlarmTrigger:
        return AlarmTrigger("a", "ALARM", value, 70.0, "GreaterThanThreshold", 0.0)

    assert select_step(steps, trigger(75)) == 1
    assert select_step(steps, trigger(85)) == 3  # lower bound inclusive above the threshold
    assert select_step(steps, trigger(60)) is None
    below = AlarmTrigger("b", "ALARM", 20.0, 30.0, "LessThanThreshold", 0.0)
    assert select_step([{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}], below) == -1


def test_schedule_expressions() -> None:
    base = datetime(2030, 1, 7, 8, 0, tzinfo=UTC).timestamp()  # a Monday
    day = 86400
    assert fire_times("at(2030-01-07T09:30:00)", None, base, base, base + day) == [
        base + 5400]
    assert fire_times("at(2030-01-07T09:30:00)", "Europe/Paris", base, base, base + day) == [
        base + 1800]  # 09:30 in Paris is 08:30 UTC
    assert fire_times("rate(5 minutes)", None, base, base, base + 900) == [
        base + 300, base + 600, base + 900]
    weekdays = fire_times("cron(0 9 ? * MON-FRI *)", None, base, base, base + 2 * day)
    assert weekdays == [base + 3600, base + day + 3600]
    assert fire_times("cron(0 9 ? * MON-FRI *)", None, base, base + 5 * day,
                      base + 7 * day) == []  # the weekend
    assert schedule_problem("at(2030-01-07 09:30)", None)
    assert schedule_problem("cron(0 9 * *)", None)
    assert schedule_problem("rate(1 hour)", "Mars/Olympus")
    assert schedule_problem("cron(0 9 ? * MON-FRI *)", "America/New_York") is None
