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
    for provider in aws.iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
        yield f"iam oidc provider {provider['Arn'].split('/', 1)[-1]}"


def _ecs(aws: ReadOnlyAws) -> Iterable[str]:
    arns = aws.ecs.paginate("list_clusters", "clusterArns")
    for start in range(0, len(arns), 100):  # a deleted cluster lingers as INACTIVE, as on AWS
        for cluster in aws.ecs.describe_clusters(clusters=arns[start:start + 100])["clusters"]:
            if cluster.get("status") != "INACTIVE":
                yield f"ecs cluster {cluster['clusterName']}"
    for arn in aws.ecs.paginate("list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        yield f"ecs task definition {arn.rsplit('/', 1)[-1]}"


def _ec2(aws: ReadOnlyAws) -> Iterable[str]:
    for reservation in aws.ec2.paginate("describe_instances", "Reservations"):
        for instance in reservation["Instances"]:
            if instance["State"]["Name"] in ("terminated", "shutting-down"):
                continue
            tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
            group = tags.get("aws:autoscaling:groupName")
            # an Auto Scaling group's instances come and go with its size: the group is what
            # a lab makes (and must remove), not each instance
            yield (f"ec2 instances of auto scaling group {group}" if group
                   else f"ec2 instance {instance['InstanceId']}")
    for group in aws.ec2.paginate("describe_security_groups", "SecurityGroups"):
        if group["GroupName"] != "default":
            yield f"ec2 security group {group['GroupName']}"
    for template in aws.ec2.paginate("describe_launch_templates", "LaunchTemplates"):
        yield f"ec2 launch template {template['LaunchTemplateName']}"
    for vpc in aws.ec2.paginate("describe_vpcs", "Vpcs"):
        if not vpc.get("IsDefault"):
            yield f"vpc {vpc['VpcId']} ({vpc['CidrBlock']})"
    for subnet in aws.ec2.paginate("describe_subnets", "Subnets"):
        if not subnet.get("DefaultForAz"):
            yield f"subnet {subnet['SubnetId']} ({subnet['CidrBlock']})"
    for nat in aws.ec2.paginate("describe_nat_gateways", "NatGateways"):
        if nat.get("State") not in ("deleted", "deleting"):
            yield f"nat gateway {nat['NatGatewayId']}"
    for address in aws.ec2.describe_addresses().get("Addresses", []):
        yield f"elastic ip {address.get('AllocationId') or address.get('PublicIp')}"
    for table in aws.ec2.paginate("describe_route_tables", "RouteTables"):
        if not any(a.get("Main") for a in table.get("Associations", [])):
            yield f"route table {table['RouteTableId']}"
    for gateway in aws.ec2.paginate("describe_internet_gateways", "InternetGateways"):
        attached = [a["VpcId"] for a in gateway.get("Attachments", [])]
        yield f"internet gateway {gateway['InternetGatewayId']} {attached}"


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


def _application_autoscaling(aws: ReadOnlyAws) -> Iterable[str]:
    for namespace in ("ecs",):
        client = aws.client("application-autoscaling")
        for target in client.paginate("describe_scalable_targets", "ScalableTargets",
                                      ServiceNamespace=namespace):
            yield f"scalable target {target['ResourceId']}"
        for policy in client.paginate("describe_scaling_policies", "ScalingPolicies",
                                      ServiceNamespace=namespace):
            yield f"scaling policy {policy['PolicyName']}"
        for action in client.paginate("describe_scheduled_actions", "ScheduledActions",
                                      ServiceNamespace=namespace):
            yield f"scheduled action {action['ScheduledActionName']}"


def _cloudwatch(aws: ReadOnlyAws) -> Iterable[str]:
    for alarm in aws.cloudwatch.paginate("describe_alarms", "MetricAlarms"):
        yield f"alarm {alarm['AlarmName']}"


def _eks(aws: ReadOnlyAws) -> Iterable[str]:
    for cluster in aws.eks.paginate("list_clusters", "clusters"):
        yield f"eks cluster {cluster}"
        for group in aws.eks.paginate("list_nodegroups", "nodegroups", clusterName=cluster):
            yield f"eks node group {cluster}/{group}"
        for profile in aws.eks.paginate("list_fargate_profiles", "fargateProfileNames",
                                        clusterName=cluster):
            yield f"eks fargate profile {cluster}/{profile}"
        for addon in aws.eks.paginate("list_addons", "addons", clusterName=cluster):
            yield f"eks add-on {cluster}/{addon}"


def _efs(aws: ReadOnlyAws) -> Iterable[str]:
    for system in aws.efs.paginate("describe_file_systems", "FileSystems"):
        yield f"efs file system {system['FileSystemId']}"
    for point in aws.efs.describe_access_points().get("AccessPoints", []):
        yield f"efs access point {point['AccessPointId']}"


READERS: dict[str, Reader] = {
    "eks": _eks, "efs": _efs,
    "application-autoscaling": _application_autoscaling, "cloudwatch": _cloudwatch,
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
