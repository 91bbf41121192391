"""What exists in an account, by name, for the services a lab touches.

``dev check`` takes an inventory before a lab and after its teardown: anything new is a leak.
Service-linked roles are left out on purpose: AWS shares them across the account, they cost
nothing, and deleting one on a real account can break services already using it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from cloudkata.checks.session import ReadOnlyAws

Reader = Callable[[ReadOnlyAws], Iterable[str]]


def _iam(aws: ReadOnlyAws) -> Iterable[str]:
    for role in aws.iam.paginate("list_roles", "Roles"):
        if not role.get("Path", "/").startswith("/aws-service-role/"):
            yield f"iam role {role['RoleName']}"
    for profile in aws.iam.paginate("list_instance_profiles", "InstanceProfiles"):
        yield f"iam instance profile {profile['InstanceProfileName']}"
    for policy in aws.iam.paginate("list_policies", "Policies", Scope="Local"):
        yield f"iam policy {policy['PolicyName']}"


def _ecs(aws: ReadOnlyAws) -> Iterable[str]:
    for arn in aws.ecs.paginate("list_clusters", "clusterArns"):
        yield f"ecs cluster {arn.rsplit('/', 1)[-1]}"
    for arn in aws.ecs.paginate("list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        yield f"ecs task definition {arn.rsplit('/', 1)[-1]}"


def _ec2(aws: ReadOnlyAws) -> Iterable[str]:
    for reservation in aws.ec2.paginate("describe_instances", "Reservations"):
        for instance in reservation["Instances"]:
            if instance["State"]["Name"] not in ("terminated", "shutting-down"):
                yield f"ec2 instance {instance['InstanceId']}"
    for group in aws.ec2.paginate("describe_security_groups", "SecurityGroups"):
        if group["GroupName"] != "default":
            yield f"ec2 security group {group['GroupName']}"
    for template in aws.ec2.paginate("describe_launch_templates", "LaunchTemplates"):
        yield f"ec2 launch template {template['LaunchTemplateName']}"


def _elbv2(aws: ReadOnlyAws) -> Iterable[str]:
    for lb in aws.elbv2.paginate("describe_load_balancers", "LoadBalancers"):
        yield f"load balancer {lb['LoadBalancerName']}"
    for group in aws.elbv2.paginate("describe_target_groups", "TargetGroups"):
        yield f"target group {group['TargetGroupName']}"


def _autoscaling(aws: ReadOnlyAws) -> Iterable[str]:
    for group in aws.autoscaling.paginate("describe_auto_scaling_groups", "AutoScalingGroups"):
        yield f"auto scaling group {group['AutoScalingGroupName']}"


def _logs(aws: ReadOnlyAws) -> Iterable[str]:
    for group in aws.logs.paginate("describe_log_groups", "logGroups"):
        yield f"log group {group['logGroupName']}"


READERS: dict[str, Reader] = {
    "iam": _iam, "ecs": _ecs, "ec2": _ec2, "elbv2": _elbv2, "autoscaling": _autoscaling,
    "logs": _logs,
}

_AWS_SERVICE = re.compile(r"(?:^|[;&|(]\s*|\$\()\s*aws\s+([a-z0-9-]+)")


def services_used(commands: Iterable[str]) -> set[str]:
    """The AWS CLI services named in command lines (``aws iam ...`` -> iam)."""
    return {match for line in commands for match in _AWS_SERVICE.findall(line)}


def take(aws: ReadOnlyAws, services: Iterable[str]) -> set[str]:
    """Names of everything that exists in the given services (unknown services ignored)."""
    aws.clear_cache()
    found: set[str] = set()
    for service in sorted(set(services) & READERS.keys()):
        found.update(READERS[service](aws))
    return found
