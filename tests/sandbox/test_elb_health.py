"""ELBv2 target health, as a learner sees it with describe-target-health while time passes."""

from __future__ import annotations

from typing import Any

import pytest

from cloudkata.targets import Target

from .test_ecs_scheduler import Lab


@pytest.fixture
def lab(sandbox: Target) -> Lab:
    return Lab(sandbox)


def _states(lab: Lab, group: str) -> list[tuple[str, str | None]]:
    return sorted((h["TargetHealth"]["State"], h["TargetHealth"].get("Reason"))
                  for h in lab.health(group))


def _plain_instance(lab: Lab, security_group: str) -> str:
    return lab.ec2.run_instances(ImageId=lab.ami(), MinCount=1, MaxCount=1,
                                 InstanceType="t3.micro", SubnetId=lab.subnets[0],
                                 SecurityGroupIds=[security_group])["Instances"][0]["InstanceId"]


def test_target_is_initial_then_healthy_after_interval_times_threshold(lab: Lab) -> None:
    web = lab.security_group("web")
    lab.ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "UserIdGroupPairs": [{"GroupId": lab.alb_sg}]}])
    instance = _plain_instance(lab, web)
    group = lab.load_balancer(interval=15, healthy=4)
    lab.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": instance}])
    (health,) = lab.health(group)
    assert health["Target"] == {"Id": instance, "Port": 80}
    assert health["HealthCheckPort"] == "80"
    assert health["TargetHealth"] == {"State": "initial", "Reason": "Elb.RegistrationInProgress",
                                      "Description": "Target registration is in progress"}
    lab.advance(55)
    assert _states(lab, group) == [("initial", "Elb.InitialHealthChecking")]
    lab.advance(5)  # 15 s x 4 checks
    assert _states(lab, group) == [("healthy", None)]


def test_one_instance_on_two_ports_is_two_targets(lab: Lab) -> None:
    lab.allow_from_alb(8000, 8100)
    (instance,) = lab.add_instances(1)
    group = lab.load_balancer(delay=20)
    lab.elbv2.register_targets(TargetGroupArn=group, Targets=[
        {"Id": instance, "Port": 8080}, {"Id": instance, "Port": 8081}])
    targets = {(h["Target"]["Id"], h["Target"]["Port"]) for h in lab.health(group)}
    assert targets == {(instance, 8080), (instance, 8081)}

    lab.elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": instance, "Port": 8081}])
    (draining,) = lab.elbv2.describe_target_health(
        TargetGroupArn=group, Targets=[{"Id": instance, "Port": 8081}])[
        "TargetHealthDescriptions"]
    assert draining["TargetHealth"]["State"] == "draining"
    assert draining["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"
    lab.advance(20)
    assert {(h["Target"]["Id"], h["Target"]["Port"]) for h in lab.health(group)} == {
        (instance, 8080)}


def test_target_group_no_load_balancer_uses_is_unused(lab: Lab) -> None:
    web = lab.security_group("web")
    instance = _plain_instance(lab, web)
    group = lab.load_balancer(listener=False)
    lab.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": instance}])
    lab.advance(120)
    (health,) = lab.health(group)
    assert health["TargetHealth"] == {
        "State": "unused", "Reason": "Target.NotInUse",
        "Description": "Target group is not configured to receive traffic from the load balancer"}


def test_wrong_health_check_path_fails_and_the_scheduler_replaces_the_tasks(lab: Lab) -> None:
    lab.add_instances(2)
    lab.allow_from_alb()
    group = lab.load_balancer(path="/health", interval=10, unhealthy=2, delay=10)
    lab.task_definition(environment={"HEALTH_PATH": "/status"})
    lab.service(desired=2, target_group=group, healthCheckGracePeriodSeconds=60)
    lab.advance(10)
    first = {t["taskArn"] for t in lab.tasks()}
    assert len(first) == 2
    lab.advance(20)  # interval 10 s x unhealthy threshold 2
    health = lab.health(group)
    assert {h["TargetHealth"]["State"] for h in health} == {"unhealthy"}
    assert {h["TargetHealth"]["Reason"] for h in health} == {"Target.ResponseCodeMismatch"}
    assert health[0]["TargetHealth"]["Description"] == (
        "Health checks failed with these codes: [404]")
    assert {t["taskArn"] for t in lab.tasks()} == first  # still within the grace period

    lab.advance(45)
    stopped = lab.ecs.describe_tasks(cluster="web", tasks=list(first))["tasks"]
    assert {t["desiredStatus"] for t in stopped} == {"STOPPED"}
    assert {t["stoppedReason"] for t in stopped} == {
        f"Task failed ELB health checks in (target-group {group})"}
    replacements = {t["taskArn"] for t in lab.tasks()}
    assert len(replacements) == 2 and not replacements & first
    events = lab.events()
    assert any("failed ELB health checks in (target-group" in e for e in events)
    service = lab.describe()
    assert service["deployments"][0]["failedTasks"] == 2
    assert "(service web) has reached a steady state." not in events


def test_container_health_path_is_served(lab: Lab) -> None:
    lab.add_instances(1)
    lab.allow_from_alb()
    group = lab.load_balancer(path="/status", interval=10, healthy=2)
    lab.task_definition(environment={"HEALTH_PATH": "/status"})
    lab.service(desired=1, target_group=group)
    lab.advance(30)
    assert _states(lab, group) == [("healthy", None)]


def test_security_group_blocking_the_ephemeral_ports_times_out(lab: Lab) -> None:
    lab.add_instances(1)
    lab.allow_from_alb(80, 80)  # a classic mistake: only port 80, but tasks use 32768+
    group = lab.load_balancer(interval=10, unhealthy=3)
    lab.task_definition()
    lab.service(desired=1, target_group=group, healthCheckGracePeriodSeconds=300)
    lab.advance(10)
    assert _states(lab, group) == [("initial", "Elb.RegistrationInProgress")]
    lab.advance(30)
    (health,) = lab.health(group)
    assert health["TargetHealth"] == {"State": "unhealthy", "Reason": "Target.Timeout",
                                      "Description": "Request timed out"}

    lab.allow_from_alb()  # the fix: the dynamic port range from the ALB's group
    lab.advance(30)
    assert _states(lab, group) == [("healthy", None)]


@pytest.mark.parametrize(("cidr", "state"), [
    ("10.0.0.0/16", ("healthy", None)),  # the VPC covers both load balancer subnets
    ("10.0.1.0/24", ("unhealthy", "Target.Timeout")),  # one subnet: the other node times out
])
def test_cidr_rules_must_cover_the_load_balancer_subnets(lab: Lab, cidr: str,
                                                          state: tuple[str, Any]) -> None:
    web = lab.security_group("web")
    lab.ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": cidr}]}])
    instance = _plain_instance(lab, web)
    group = lab.load_balancer(interval=10, healthy=2, unhealthy=2)
    lab.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": instance}])
    lab.advance(20)
    assert _states(lab, group) == [state]
