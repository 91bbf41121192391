"""ECS checks against the real sandbox: cluster, capacity provider, container instances (and why
they did not register), task definitions, revisions and dynamic host ports."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import pytest

from cloudkata.checks import Result, Status, get
from cloudkata.targets import Target
from tests.sandbox.test_ec2_autoscaling import USER_DATA, Aws, clients, ecs_ami, instance_role

CLUSTER = "kata-cluster"
FAMILY = "kata-web"
LOG_GROUP = "/ecs/kata-web"
ROLE_ARN = "arn:aws:iam::123456789012:role/"


def run(sandbox: Target, check_id: str, **params: Any) -> Result:
    spec = get(check_id)
    return spec.function(sandbox.read_only(), spec.params.model_validate(params))


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def logs(sandbox: Target) -> Any:
    return boto3.client("logs", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def default_subnets(aws: Aws) -> list[str]:
    subnets = aws.ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    return [s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])[:2]]


def build_capacity(aws: Aws, *, profile: str | None = "ecsInstanceRole",
                   user_data: str | None = USER_DATA, managed_policy: bool = True,
                   desired: int = 2, provider: bool = True, roles: bool = True) -> str:
    """The ecs-cluster lab's end state (or a mistaken variant); returns the group's ARN."""
    if roles:
        instance_role(aws, managed_policy=managed_policy)
    aws.ecs.create_cluster(clusterName=CLUSTER)
    vpc = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
    group_id = aws.ec2.create_security_group(
        GroupName="kata-instances-sg", Description="instances",
        VpcId=vpc["Vpcs"][0]["VpcId"])["GroupId"]
    data: dict[str, Any] = {"ImageId": ecs_ami(aws), "InstanceType": "t2.micro",
                            "SecurityGroupIds": [group_id]}
    if profile:
        data["IamInstanceProfile"] = {"Name": profile}
    if user_data is not None:
        data["UserData"] = base64.b64encode(user_data.encode()).decode()
    aws.ec2.create_launch_template(LaunchTemplateName="kata-ecs-lt", LaunchTemplateData=data)
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="kata-ecs-asg", MinSize=0, MaxSize=3, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateName": "kata-ecs-lt", "Version": "$Latest"},
        VPCZoneIdentifier=",".join(default_subnets(aws)))
    arn = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["kata-ecs-asg"])[
        "AutoScalingGroups"][0]["AutoScalingGroupARN"]
    if provider:
        aws.ecs.create_capacity_provider(name="kata-cp", autoScalingGroupProvider={
            "autoScalingGroupArn": arn,
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
            "managedTerminationProtection": "DISABLED"})
        aws.ecs.put_cluster_capacity_providers(
            cluster=CLUSTER, capacityProviders=["kata-cp"],
            defaultCapacityProviderStrategy=[{"capacityProvider": "kata-cp", "weight": 1}])
    if desired:
        aws.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName="kata-ecs-asg", MinSize=1, DesiredCapacity=desired, MaxSize=3)
    return arn


def register(aws: Aws, *, host_port: int = 0, environment: dict[str, str] | None = None,
             log_group: str = LOG_GROUP, memory: int = 256) -> str:
    container: dict[str, Any] = {
        "name": "web", "image": "nginx:1.27", "cpu": 256, "memory": memory, "essential": True,
        "portMappings": [{"containerPort": 80, "hostPort": host_port, "protocol": "tcp"}],
        "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/health || exit 1"]},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "web"}}}
    if environment:
        container["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    return aws.ecs.register_task_definition(
        family=FAMILY, networkMode="bridge", executionRoleArn=ROLE_ARN + "ecsTaskExecutionRole",
        taskRoleArn=ROLE_ARN + "kata-app-task-role",
        containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


TASK_DEFINITION = {"family": FAMILY, "container": "web", "image": "nginx:1.27",
                   "container_port": 80, "cpu": 256, "memory": 256,
                   "execution_role": "ecsTaskExecutionRole", "task_role": "kata-app-task-role",
                   "log_group": LOG_GROUP, "health_check": True}


# --- cluster_active ------------------------------------------------------------------------


def test_cluster_active_passes(sandbox: Target, aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName=CLUSTER)
    result = run(sandbox, "ecs.cluster_active", cluster=CLUSTER)
    assert result.status is Status.PASSED
    assert "kata-cluster is ACTIVE" in result.message


def test_cluster_active_fails_and_names_other_clusters(sandbox: Target, aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName="kata-clstr")
    result = run(sandbox, "ecs.cluster_active", cluster=CLUSTER)
    assert result.status is Status.FAILED
    assert "kata-cluster does not exist" in result.message
    assert "kata-clstr" in result.message


def test_cluster_active_fails_for_a_deleted_cluster(sandbox: Target, aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName=CLUSTER)
    aws.ecs.delete_cluster(cluster=CLUSTER)
    aws.ecs.create_cluster(clusterName="default")
    result = run(sandbox, "ecs.cluster_active", cluster=CLUSTER)
    assert result.status is Status.FAILED
    assert result.message == ("Cluster kata-cluster was deleted: its status is INACTIVE "
                              "(clusters here: default). Create it again with create-cluster.")


# --- capacity_provider ---------------------------------------------------------------------

CP = {"cluster": CLUSTER, "capacity_provider": "kata-cp", "group": "kata-ecs-asg"}


def test_capacity_provider_passes(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    result = run(sandbox, "ecs.capacity_provider", **CP)
    assert result.status is Status.PASSED, result.message
    assert "managed scaling" in result.message and "default strategy" in result.message


def test_capacity_provider_fails_when_it_is_not_the_default(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    aws.ecs.put_cluster_capacity_providers(cluster=CLUSTER, capacityProviders=["kata-cp"],
                                           defaultCapacityProviderStrategy=[])
    result = run(sandbox, "ecs.capacity_provider", **CP)
    assert result.status is Status.FAILED
    assert "default capacity provider strategy" in result.message


def test_capacity_provider_fails_without_managed_scaling(sandbox: Target, aws: Aws) -> None:
    arn = build_capacity(aws, desired=0, provider=False)
    aws.ecs.create_capacity_provider(name="kata-cp", autoScalingGroupProvider={
        "autoScalingGroupArn": arn, "managedScaling": {"status": "DISABLED"}})
    aws.ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["kata-cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "kata-cp", "weight": 1}])
    result = run(sandbox, "ecs.capacity_provider", **CP)
    assert result.status is Status.FAILED
    assert "managed scaling is off" in result.message


def test_capacity_provider_fails_when_missing(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, provider=False)
    result = run(sandbox, "ecs.capacity_provider", **CP)
    assert result.status is Status.FAILED
    assert result.message == "Capacity provider kata-cp does not exist."


def test_capacity_provider_is_discovered_under_a_generated_name(
        sandbox: Target, aws: Aws) -> None:
    arn = build_capacity(aws, desired=0, provider=False)
    aws.ecs.create_capacity_provider(name="stack-CapacityProvider-X1Y2", autoScalingGroupProvider={
        "autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED"}})
    aws.ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["stack-CapacityProvider-X1Y2"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "stack-CapacityProvider-X1Y2"}])
    result = run(sandbox, "ecs.capacity_provider", **CP)
    assert result.status is Status.PASSED, result.message
    assert "found as stack-CapacityProvider-X1Y2" in result.message


def test_capacity_provider_discovery_never_takes_another_groups_provider(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, provider=False)
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="other-asg", MinSize=0, MaxSize=1, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateName": "kata-ecs-lt", "Version": "$Latest"},
        VPCZoneIdentifier=",".join(default_subnets(aws)))
    arn = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["other-asg"])[
        "AutoScalingGroups"][0]["AutoScalingGroupARN"]
    aws.ecs.create_capacity_provider(name="other-cp", autoScalingGroupProvider={
        "autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED"}})
    aws.ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["other-cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "other-cp"}])
    result = run(sandbox, "ecs.capacity_provider", **CP, launch_template="kata-ecs-lt")
    assert result.status is Status.FAILED
    assert result.message == ("Capacity provider kata-cp does not exist (cluster kata-cluster "
                              "has other-cp, which scales other-asg).")


def test_capacity_provider_discovery_checks_a_discovered_groups_template(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, provider=False)
    aws.ec2.create_launch_template(LaunchTemplateName="other-lt", LaunchTemplateData={
        "ImageId": ecs_ami(aws), "InstanceType": "t2.micro"})
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="other-asg", MinSize=0, MaxSize=1, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateName": "other-lt", "Version": "$Latest"},
        VPCZoneIdentifier=",".join(default_subnets(aws)))
    arn = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["other-asg"])[
        "AutoScalingGroups"][0]["AutoScalingGroupARN"]
    aws.ecs.create_capacity_provider(name="other-cp", autoScalingGroupProvider={
        "autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED"}})
    aws.ecs.put_cluster_capacity_providers(
        cluster=CLUSTER, capacityProviders=["other-cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "other-cp"}])
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="kata-ecs-asg")
    mine = CP | {"capacity_provider": "kata-cp"}
    # without the lab's template to compare, the cluster's only group is taken, and named
    result = run(sandbox, "ecs.capacity_provider", **mine)
    assert result.status is Status.PASSED, result.message
    assert "found as other-asg, the group of capacity provider other-cp" in result.message
    # with it, a group launching from another template is not the lab's group
    result = run(sandbox, "ecs.capacity_provider", **mine, launch_template="kata-ecs-lt")
    assert result.status is Status.FAILED
    assert result.message.startswith("Capacity provider kata-cp does not exist")


# --- instances_registered ------------------------------------------------------------------

REGISTERED = {"cluster": CLUSTER, "group": "kata-ecs-asg", "min_count": 2}


def test_instances_registered_passes_with_cpu_and_memory(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    aws.advance(70)
    result = run(sandbox, "ecs.instances_registered", **REGISTERED)
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith("2 instances of kata-ecs-asg are registered")
    assert result.message.count("1024 CPU units, 982 MiB") == 2


def test_instances_registered_fails_while_booting(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    result = run(sandbox, "ecs.instances_registered", **REGISTERED)
    assert result.status is Status.FAILED
    assert "2 of 2 instances of kata-ecs-asg did not register" in result.message
    assert "may still be booting" in result.message


def test_instances_registered_names_a_role_without_the_permission(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, managed_policy=False)
    aws.advance(70)
    result = run(sandbox, "ecs.instances_registered", **REGISTERED)
    assert result.status is Status.FAILED
    assert "role ecsInstanceRole may not call ecs:RegisterContainerInstance" in result.message


def test_instances_registered_names_user_data_for_another_cluster(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, user_data="#!/bin/bash\necho ECS_CLUSTER=kata-clustr >> "
                                  "/etc/ecs/ecs.config")
    aws.advance(70)
    result = run(sandbox, "ecs.instances_registered", **REGISTERED)
    assert result.status is Status.FAILED
    assert "ECS_CLUSTER=kata-clustr, another cluster than kata-cluster" in result.message


def test_instances_registered_fails_for_an_empty_group(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    result = run(sandbox, "ecs.instances_registered", **REGISTERED)
    assert result.status is Status.FAILED
    assert "has no instances (desired capacity 0)" in result.message


# --- task_definition -----------------------------------------------------------------------


def test_task_definition_passes(sandbox: Target, aws: Aws) -> None:
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    register(aws)
    result = run(sandbox, "ecs.task_definition", **TASK_DEFINITION)
    assert result.status is Status.PASSED, result.message
    assert "kata-web:1" in result.message and "dynamic host port" in result.message


def test_task_definition_fails_for_a_fixed_host_port(sandbox: Target, aws: Aws) -> None:
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    register(aws, host_port=80)
    result = run(sandbox, "ecs.task_definition", **TASK_DEFINITION)
    assert result.status is Status.FAILED
    assert "fixed host port 80" in result.message
    assert "only one such task fits on an instance" in result.message


def test_task_definition_fails_without_its_log_group(sandbox: Target, aws: Aws) -> None:
    register(aws)
    result = run(sandbox, "ecs.task_definition", **TASK_DEFINITION)
    assert result.status is Status.FAILED
    assert "log group /ecs/kata-web does not exist" in result.message


def test_task_definition_awsvpc_is_named_without_blaming_its_host_port(
        sandbox: Target, aws: Aws) -> None:
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    container = aws.ecs.describe_task_definition(taskDefinition=register(aws, host_port=80))[
        "taskDefinition"]["containerDefinitions"]
    aws.ecs.register_task_definition(
        family=FAMILY, networkMode="awsvpc", executionRoleArn=ROLE_ARN + "ecsTaskExecutionRole",
        taskRoleArn=ROLE_ARN + "kata-app-task-role", containerDefinitions=container)
    result = run(sandbox, "ecs.task_definition", **TASK_DEFINITION)
    assert result.status is Status.FAILED
    assert result.actual == (
        "network mode awsvpc, not bridge: each task then needs a network interface of its own, "
        "and a t2.micro takes only 2, one of them the instance's, so one task fits per instance")


def test_task_definition_names_an_awslogs_group_that_does_not_exist(
        sandbox: Target, aws: Aws) -> None:
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    register(aws, log_group="/ecs/web")
    result = run(sandbox, "ecs.task_definition", **TASK_DEFINITION)
    assert result.status is Status.FAILED
    assert result.actual == ("awslogs-group /ecs/web, not /ecs/kata-web (and log group /ecs/web "
                             "does not exist, so the container cannot start)")


def test_task_definition_fails_for_a_missing_family(sandbox: Target, aws: Aws) -> None:
    result = run(sandbox, "ecs.task_definition", **TASK_DEFINITION)
    assert result.status is Status.FAILED
    assert "kata-web has no ACTIVE revision" in result.message


# --- task_definition_revisions -------------------------------------------------------------

REVISIONS = {"family": FAMILY, "container": "web", "environment": "APP_VERSION"}


def test_revisions_pass_with_a_change(sandbox: Target, aws: Aws) -> None:
    register(aws)
    register(aws, environment={"APP_VERSION": "2"})
    result = run(sandbox, "ecs.task_definition_revisions", **REVISIONS)
    assert result.status is Status.PASSED, result.message
    assert "kata-web:1, kata-web:2" in result.message


def test_revisions_fail_with_one_revision(sandbox: Target, aws: Aws) -> None:
    register(aws, environment={"APP_VERSION": "2"})
    result = run(sandbox, "ecs.task_definition_revisions", **REVISIONS)
    assert result.status is Status.FAILED
    assert "1 ACTIVE revision (kata-web:1)" in result.message


def test_revisions_pass_when_the_change_was_registered_twice(sandbox: Target, aws: Aws) -> None:
    register(aws)
    register(aws, environment={"APP_VERSION": "2"})
    register(aws, environment={"APP_VERSION": "2"})
    result = run(sandbox, "ecs.task_definition_revisions", **REVISIONS)
    assert result.status is Status.PASSED, result.message
    assert ("kata-web:3 sets APP_VERSION=2, kata-web:1 (no APP_VERSION) still runs as it was"
            in result.message)


def test_revisions_fail_when_no_revision_changes_the_variable(
        sandbox: Target, aws: Aws) -> None:
    register(aws, environment={"APP_VERSION": "2"})
    register(aws, environment={"APP_VERSION": "2"})
    result = run(sandbox, "ecs.task_definition_revisions", **REVISIONS)
    assert result.status is Status.FAILED
    assert result.message == ("kata-web:2 is no change: every earlier revision (kata-web:1) sets "
                              "APP_VERSION=2 as well.")


def test_revisions_name_a_new_family_made_by_mistake(sandbox: Target, aws: Aws) -> None:
    register(aws)
    container = aws.ecs.describe_task_definition(taskDefinition=FAMILY)["taskDefinition"][
        "containerDefinitions"]
    aws.ecs.register_task_definition(family=FAMILY + "-v2", containerDefinitions=container)
    result = run(sandbox, "ecs.task_definition_revisions", **REVISIONS)
    assert result.status is Status.FAILED
    assert result.message == (
        "Task definition family kata-web has 1 ACTIVE revision (kata-web:1); kata-web-v2 is "
        "another family: a new family name starts again at revision 1, it does not add a "
        "revision to kata-web.")


def test_revisions_fail_without_the_variable(sandbox: Target, aws: Aws) -> None:
    register(aws)
    register(aws)
    result = run(sandbox, "ecs.task_definition_revisions", **REVISIONS)
    assert result.status is Status.FAILED
    assert "kata-web:2 does not set APP_VERSION" in result.message


# --- task_dynamic_port ---------------------------------------------------------------------

PORT = {"cluster": CLUSTER, "family": FAMILY, "container": "web", "container_port": 80}


def test_task_dynamic_port_passes(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    aws.advance(70)
    register(aws)
    aws.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=1)
    aws.advance(15)
    result = run(sandbox, "ecs.task_dynamic_port", **PORT)
    assert result.status is Status.PASSED, result.message
    assert "host port 32768" in result.message


def test_task_dynamic_port_fails_while_pending(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    aws.advance(70)
    register(aws)
    aws.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=1)
    result = run(sandbox, "ecs.task_dynamic_port", **PORT)
    assert result.status is Status.FAILED
    assert "is PENDING, not RUNNING yet" in result.message


def test_task_dynamic_port_names_the_port_conflict(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    aws.advance(70)
    register(aws, host_port=80, memory=128)
    answer = aws.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=4)
    assert len(answer["tasks"]) == 2  # one per instance: port 80 is taken on both
    assert {f["reason"] for f in answer["failures"]} == {"RESOURCE:PORTS"}
    aws.advance(15)
    result = run(sandbox, "ecs.task_dynamic_port", **PORT)
    assert result.status is Status.FAILED
    assert "fixed host port 80" in result.message
    assert "port conflict allows one such task per instance (2 instances used)" in (
        result.message)


def test_task_dynamic_port_fails_without_a_task(sandbox: Target, aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName=CLUSTER)
    result = run(sandbox, "ecs.task_dynamic_port", **PORT)
    assert result.status is Status.FAILED
    assert result.message == "No kata-web task runs on kata-cluster."


def test_task_dynamic_port_names_a_task_too_big_for_any_instance(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    aws.advance(70)
    register(aws, memory=1024)
    answer = aws.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=1)
    assert {f["reason"] for f in answer["failures"]} == {"RESOURCE:MEMORY"}
    aws.advance(15)
    result = run(sandbox, "ecs.task_dynamic_port", **PORT)
    assert result.status is Status.FAILED
    assert result.message == (
        "No kata-web task can run on kata-cluster: kata-web:1 asks for 1024 MiB of memory, more "
        "than any of its instances registers (982 MiB), so ECS answers RESOURCE:MEMORY.")
    register(aws)  # a revision that fits: the newest is judged
    aws.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=1)
    aws.advance(15)
    assert run(sandbox, "ecs.task_dynamic_port", **PORT).status is Status.PASSED


def test_task_dynamic_port_passes_for_a_task_that_ran_and_lost_its_host(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    aws.advance(70)
    register(aws)
    task = aws.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=1)["tasks"][0]
    aws.advance(15)
    host = aws.ecs.describe_container_instances(
        cluster=CLUSTER, containerInstances=[task["containerInstanceArn"]])[
        "containerInstances"][0]["ec2InstanceId"]
    aws.ec2.terminate_instances(InstanceIds=[host])  # e.g. managed scaling scaled it in
    aws.advance(5)
    result = run(sandbox, "ecs.task_dynamic_port", **PORT)
    assert result.status is Status.PASSED, result.message
    assert ("with container port 80 on host port 32768, a dynamic port (32768-60999); it has "
            "stopped since (Host EC2 (instance ") in result.message
    assert result.message.endswith(" terminated). run-task starts another.")
