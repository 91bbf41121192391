"""Application Auto Scaling checks against the real sandbox: each passes on the right state and
fails, naming the resource and the cause, on the wrong one.

The state the service-autoscaling lab starts from (cluster kata-cluster, task definition
kata-web, service web with two tasks, optionally behind kata-web-tg) is built here with boto3,
so these tests do not depend on the prerequisite labs. Time moves only through
``manager.advance`` (the test sandbox's clock is frozen). ``Stack`` and ``run`` serve the
tests of the other scaling check modules too (test_appautoscaling_schedule,
test_appautoscaling_activity, test_cloudwatch), as the checks share their lookups.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from cloudkata.checks import Result, Status, get
from cloudkata.sandbox import manager
from cloudkata.targets import Target

REGION = "us-east-1"
CLUSTER, SERVICE = "kata-cluster", "web"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"
SERVICE_DIMENSIONS = [{"Name": "ClusterName", "Value": CLUSTER},
                      {"Name": "ServiceName", "Value": SERVICE}]
_AMI: list[str] = []


class Stack:
    """What the lab's prerequisites leave behind, made with boto3, plus the scaling calls a
    learner makes in this lab."""

    def __init__(self, sandbox: Target) -> None:
        self.endpoint = sandbox.endpoint_url or ""
        kwargs = {"endpoint_url": self.endpoint, "region_name": REGION,
                  "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.ec2 = boto3.client("ec2", **kwargs)
        self.ecs = boto3.client("ecs", **kwargs)
        self.elbv2 = boto3.client("elbv2", **kwargs)
        self.scaling = boto3.client("application-autoscaling", **kwargs)
        self.cloudwatch = boto3.client("cloudwatch", **kwargs)
        self.target_group: str | None = None

    # -- prerequisites ------------------------------------------------------------------------

    def build(self, desired: int = 2, instances: int = 0, load_balancer: bool = False,
              health_interval: int = 10) -> Stack:
        """Cluster, task definition, service; container instances (where tasks must run) and
        the load balancer only when a test needs them."""
        vpc = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
            "Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in self.ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
        instance_sg = self.ec2.create_security_group(
            GroupName="kata-instances-sg", Description="ecs hosts", VpcId=vpc)["GroupId"]
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.ecs.register_task_definition(family="kata-web", networkMode="bridge",
                                          containerDefinitions=[{
                                              "name": "web", "image": "nginx:1.27",
                                              "cpu": 256, "memory": 256, "essential": True,
                                              "portMappings": [{"containerPort": 80,
                                                                "hostPort": 0}]}])
        for n in range(instances):
            self._container_instance(subnets[n % len(subnets)], instance_sg)
        extra: dict[str, Any] = {}
        if load_balancer:
            alb_sg = self.ec2.create_security_group(
                GroupName="kata-alb-sg", Description="alb", VpcId=vpc)["GroupId"]
            self.ec2.authorize_security_group_ingress(GroupId=alb_sg, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            self.ec2.authorize_security_group_ingress(GroupId=instance_sg, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 32768, "ToPort": 65535,
                 "UserIdGroupPairs": [{"GroupId": alb_sg}]}])
            alb = self.elbv2.create_load_balancer(Name="kata-alb", Subnets=subnets,
                                                  SecurityGroups=[alb_sg])[
                "LoadBalancers"][0]["LoadBalancerArn"]
            self.target_group = self.elbv2.create_target_group(
                Name="kata-web-tg", Protocol="HTTP", Port=80, VpcId=vpc,
                HealthCheckPath="/health", HealthCheckIntervalSeconds=health_interval,
                HealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
            self.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80,
                                       DefaultActions=[{"Type": "forward",
                                                        "TargetGroupArn": self.target_group}])
            extra["loadBalancers"] = [{"targetGroupArn": self.target_group,
                                       "containerName": "web", "containerPort": 80}]
        self.ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition="kata-web",
                                desiredCount=desired, **extra)
        return self

    def _container_instance(self, subnet: str, group: str) -> None:
        """An instance joined to the cluster, as the ECS agent would join it."""
        if not _AMI:
            images = self.ec2.describe_images(Owners=["amazon"])["Images"]
            _AMI.append(next(i["ImageId"] for i in images
                             if "ecs" not in (i.get("Name") or "").lower()))
        instance = self.ec2.run_instances(ImageId=_AMI[0], MinCount=1, MaxCount=1,
                                          InstanceType="t2.micro", SubnetId=subnet,
                                          SecurityGroupIds=[group])["Instances"][0]
        document = json.dumps({"instanceId": instance["InstanceId"], "region": REGION,
                               "availabilityZone": instance["Placement"]["AvailabilityZone"]})
        self.ecs.register_container_instance(cluster=CLUSTER, instanceIdentityDocument=document)

    # -- what the learner does ----------------------------------------------------------------

    def register(self, low: int = 1, high: int = 4, resource: str = RESOURCE,
                 **extra: Any) -> Stack:
        self.scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource,
                                              ScalableDimension=DIMENSION, MinCapacity=low,
                                              MaxCapacity=high, **extra)
        return self

    def target_tracking(self, target: float = 50.0, metric: str =
                        "ECSServiceAverageCPUUtilization", **config: Any) -> str:
        return self.scaling.put_scaling_policy(
            PolicyName="kata-web-cpu50", ServiceNamespace="ecs", ResourceId=RESOURCE,
            ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                **config})["PolicyARN"]

    def step_policy(self, steps: list[dict[str, Any]] | None = None,
                    name: str = "kata-web-step-out") -> str:
        return self.scaling.put_scaling_policy(
            PolicyName=name, ServiceNamespace="ecs", ResourceId=RESOURCE,
            ScalableDimension=DIMENSION, PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                "MetricAggregationType": "Average",
                "StepAdjustments": steps if steps is not None else [
                    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10,
                     "ScalingAdjustment": 1},
                    {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2}]})["PolicyARN"]

    def alarm(self, actions: list[str], name: str = "kata-web-cpu-high", **changes: Any) -> None:
        settings: dict[str, Any] = {
            "AlarmName": name, "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
            "Dimensions": SERVICE_DIMENSIONS, "Statistic": "Average", "Period": 60,
            "EvaluationPeriods": 2, "Threshold": 70.0,
            "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": actions}
        settings.update(changes)
        self.cloudwatch.put_metric_alarm(**settings)

    def scheduled(self, schedule: str = "cron(0 8 ? * MON-FRI *)",
                  name: str = "kata-web-business-hours", **action: int) -> None:
        self.scaling.put_scheduled_action(
            ServiceNamespace="ecs", ScheduledActionName=name, ResourceId=RESOURCE,
            ScalableDimension=DIMENSION, Schedule=schedule,
            ScalableTargetAction=action or {"MinCapacity": 2, "MaxCapacity": 4})

    def load(self, cpu: float) -> None:
        manager.set_load(self.endpoint, cluster=CLUSTER, service=SERVICE, cpu=cpu)

    def advance(self, seconds: float) -> None:
        manager.advance(self.endpoint, seconds)

    def service(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def set_desired(self, count: int) -> None:
        self.ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=count)


@pytest.fixture
def stack(sandbox: Target) -> Stack:
    return Stack(sandbox)


def run(sandbox: Target, check_id: str, **params: Any) -> Result:
    """Run a registered check exactly as a lab would: validated params, read-only session."""
    spec = get(check_id)
    return spec.function(sandbox.read_only(), spec.params.model_validate(params))


SVC = {"cluster": CLUSTER, "service": SERVICE}


# --- scalable_target -----------------------------------------------------------------------


def test_scalable_target_passes_with_the_right_limits(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=2).register(1, 4)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.PASSED, result
    assert result.message == "Service web in kata-cluster scales between 1 and 4 tasks (now 2)."


def test_scalable_target_fails_when_the_service_is_not_registered(
        sandbox: Target, stack: Stack) -> None:
    stack.build()
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert "web" in result.message and "not registered" in result.message
    assert result.actual == "no ECS scalable target"
    assert result.hint and "register-scalable-target" in result.hint


def test_scalable_target_fails_when_max_is_below_the_desired_count(
        sandbox: Target, stack: Stack) -> None:
    """The lesson's mistake: the sandbox, unlike AWS, does not clamp the desired count when the
    target is registered, so the state a later `update-service` makes on AWS is made here."""
    stack.build(desired=4).register(1, 2)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert "at most 2 tasks" in result.message and "wants 4" in result.message
    assert "below the current desired count" in result.message
    assert result.actual == "max 2, desired count 4"


def test_scalable_target_fails_when_min_is_above_the_desired_count(
        sandbox: Target, stack: Stack) -> None:
    stack.build(desired=1).register(2, 4)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert result.actual == "min 2, desired count 1"


def test_scalable_target_fails_on_other_limits(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=2).register(1, 6)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert (result.expected, result.actual) == ("min 1, max 4", "min 1, max 6")


def test_scalable_target_fails_when_scaling_is_suspended(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=2).register(1, 4, SuspendedState={"DynamicScalingInSuspended": True})
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert "scale-in by policies" in result.message


def test_scalable_target_of_another_service_fails_naming_it(sandbox: Target, stack: Stack) -> None:
    """Issue 10: the only target in the cluster belongs to another service; web is not
    scalable, and the message says what was found and whose it is."""
    stack.build(desired=2, load_balancer=True)
    stack.ecs.create_service(cluster=CLUSTER, serviceName="api", taskDefinition="kata-web",
                             desiredCount=1)
    stack.register(1, 4, resource=f"service/{CLUSTER}/api")
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, target_group="kata-web-tg",
                 min_capacity=1, max_capacity=4)
    assert result.status is Status.FAILED, result
    assert "Service web in kata-cluster is not registered" in result.message
    assert "belongs to another service: service/kata-cluster/api (service api)" \
        in result.message
    assert result.actual == "scalable targets only for service/kata-cluster/api"


def _generated_name_service(stack: Stack, name: str = "stack-WebService-1AB2",
                            behind_group: bool = True) -> str:
    """No service is called web: the stack's service has a generated name."""
    stack.build(desired=2, load_balancer=True)
    stack.ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)
    stack.ecs.delete_service(cluster=CLUSTER, service=SERVICE)
    extra: dict[str, Any] = {}
    if behind_group:
        extra["loadBalancers"] = [{"targetGroupArn": stack.target_group,
                                   "containerName": "web", "containerPort": 80}]
    stack.ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition="kata-web",
                             desiredCount=1, **extra)
    stack.register(1, 4, resource=f"service/{CLUSTER}/{name}")
    return name


def test_scalable_target_is_found_by_discovery_behind_the_target_group(
        sandbox: Target, stack: Stack) -> None:
    _generated_name_service(stack)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, target_group="kata-web-tg",
                 min_capacity=1, max_capacity=4)
    assert result.status is Status.PASSED, result
    assert result.message == (
        "Service stack-WebService-1AB2 in kata-cluster scales between 1 and 4 tasks (now 1) "
        "(found by discovery: service/kata-cluster/stack-WebService-1AB2, the service behind "
        "target group kata-web-tg).")


def test_scalable_target_discovery_is_checked_in_full(sandbox: Target, stack: Stack) -> None:
    """What discovery finds is judged like the lab's own target: wrong limits fail."""
    name = _generated_name_service(stack)
    stack.register(1, 6, resource=f"service/{CLUSTER}/{name}")
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, target_group="kata-web-tg",
                 min_capacity=1, max_capacity=4)
    assert result.status is Status.FAILED
    assert "found by discovery: service/kata-cluster/stack-WebService-1AB2" in result.message
    assert result.actual == "min 1, max 6"


def test_scalable_target_discovery_needs_the_target_group(sandbox: Target,
                                                         stack: Stack) -> None:
    """A generated-name service that is not behind the lab's group is not the lab's."""
    _generated_name_service(stack, behind_group=False)
    for group in ("kata-web-tg", None):
        result = run(sandbox, "appautoscaling.scalable_target", **SVC, target_group=group,
                     min_capacity=1, max_capacity=4)
        assert result.status is Status.FAILED, result
        assert "service/kata-cluster/stack-WebService-1AB2 (service stack-WebService-1AB2)" \
            in result.message


def test_scalable_target_fails_when_min_equals_max(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=4).register(4, 4)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert "Min equals max, so no policy can ever change the desired count" in result.message
    assert result.actual == "min 4, max 4"


def test_scalable_target_accepts_limits_a_scheduled_action_set(
        sandbox: Target, stack: Stack) -> None:
    """A later step's scheduled action moves the limits: the step still passes, saying so;
    the same limits registered by hand do not."""
    stack.build(desired=2).register(1, 4)
    stack.scheduled("rate(1 minute)", MinCapacity=2, MaxCapacity=4)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.PASSED, result  # not run yet: still 1 to 4
    stack.advance(120)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.PASSED, result
    assert ("scales between 2 and 4 tasks (now 2); scheduled action kata-web-business-hours "
            "has set these limits in place of min 1, max 4.") in result.message
    stack.scaling.delete_scheduled_action(
        ServiceNamespace="ecs", ScheduledActionName="kata-web-business-hours",
        ResourceId=RESOURCE, ScalableDimension=DIMENSION)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert result.actual == "min 2, max 4"


def test_scalable_target_fails_when_its_service_is_gone(sandbox: Target, stack: Stack) -> None:
    stack.build(desired=2).register(1, 4)
    stack.ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)
    stack.ecs.delete_service(cluster=CLUSTER, service=SERVICE)
    result = run(sandbox, "appautoscaling.scalable_target", **SVC, min_capacity=1,
                 max_capacity=4)
    assert result.status is Status.FAILED
    assert "does not exist" in result.message


# --- target_tracking_policy ----------------------------------------------------------------


def test_target_tracking_passes_on_cpu_at_fifty(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking(50.0, ScaleInCooldown=300, ScaleOutCooldown=60)
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.PASSED, result
    assert "kata-web-cpu50" in result.message and "near 50" in result.message
    assert "scale-out cooldown 60 s" in result.message


def test_target_tracking_fails_without_a_policy(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.step_policy()
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert result.actual == "policies: kata-web-step-out (StepScaling)"


def test_target_tracking_fails_on_another_metric(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking(50.0, metric="ECSServiceAverageMemoryUtilization")
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert result.actual == "kata-web-cpu50 tracks ECSServiceAverageMemoryUtilization"


def test_target_tracking_fails_on_another_target(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking(75.0)
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert result.actual == "kata-web-cpu50 targets 75"


def test_target_tracking_fails_when_scale_in_is_disabled(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking(50.0, DisableScaleIn=True)
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert "DisableScaleIn" in result.message


def test_target_tracking_fails_on_a_fraction_for_a_percentage(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking(0.5)
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert "TargetValue is a percentage: 50 means 50%" in result.message
    assert result.actual == "kata-web-cpu50 targets 0.5"


def test_target_tracking_fails_when_its_low_alarm_is_deleted(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking(50.0)
    low = [a["AlarmName"] for a in stack.cloudwatch.describe_alarms()["MetricAlarms"]
           if "-AlarmLow-" in a["AlarmName"]]
    assert len(low) == 1
    stack.cloudwatch.delete_alarms(AlarmNames=low)
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert f"has lost its alarm {low[0]}" in result.message
    assert "without it it cannot scale in" in result.message
    assert result.actual == f"missing: {low[0]}"
    stack.target_tracking(50.0)  # putting the policy again makes its alarms anew
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.PASSED, result


def test_target_tracking_fails_without_a_scalable_target(sandbox: Target, stack: Stack) -> None:
    stack.build()
    result = run(sandbox, "appautoscaling.target_tracking_policy", **SVC, target=50)
    assert result.status is Status.FAILED
    assert "not registered" in result.message


# --- step_scaling_policy -------------------------------------------------------------------


def test_step_policy_passes_and_describes_its_steps(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.step_policy()
    result = run(sandbox, "appautoscaling.step_scaling_policy", **SVC)
    assert result.status is Status.PASSED, result
    assert "[0, 10) -> +1; [10, +inf) -> +2" in result.message
    assert "cooldown 60 s" in result.message


def test_step_policy_fails_when_there_is_none(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.target_tracking()
    result = run(sandbox, "appautoscaling.step_scaling_policy", **SVC)
    assert result.status is Status.FAILED
    assert result.actual == "policies: kata-web-cpu50 (TargetTrackingScaling)"


def test_step_policy_fails_on_a_gap_above_the_threshold(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.step_policy([{"MetricIntervalLowerBound": 10, "ScalingAdjustment": 1}])
    result = run(sandbox, "appautoscaling.step_scaling_policy", **SVC)
    assert result.status is Status.FAILED
    assert result.actual is not None
    assert "a breach between 0 and 10 above the threshold matches no step" in result.actual


def test_step_policy_fails_when_a_step_removes_tasks(sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.step_policy([{"MetricIntervalLowerBound": 0, "ScalingAdjustment": -1}])
    result = run(sandbox, "appautoscaling.step_scaling_policy", **SVC)
    assert result.status is Status.FAILED
    assert result.actual is not None and "never adds tasks" in result.actual


def test_step_policy_for_scale_in_checks_below_the_threshold(
        sandbox: Target, stack: Stack) -> None:
    stack.build().register()
    stack.step_policy([{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}], name="in")
    result = run(sandbox, "appautoscaling.step_scaling_policy", **SVC, direction="in")
    assert result.status is Status.PASSED, result
    assert "removes tasks" in result.message
