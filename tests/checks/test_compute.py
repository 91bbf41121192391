"""EC2 capacity checks against the real sandbox: the instances' security group, the launch
template (each field a container instance needs) and the Auto Scaling group."""

from __future__ import annotations

import base64
import gzip

import pytest

from cloudkata.checks import Status
from cloudkata.checks.compute import decode_user_data, ecs_cluster_setting
from cloudkata.targets import Target
from tests.checks.test_ecs import CLUSTER, build_capacity, default_subnets, run
from tests.sandbox.test_ec2_autoscaling import Aws, clients, ecs_ami, instance_role

SG = {"group": "kata-instances-sg", "launch_template": "kata-ecs-lt"}
LT = {"template": "kata-ecs-lt", "cluster": CLUSTER, "instance_type": "t2.micro",
      "instance_profile": "ecsInstanceRole", "security_group": "kata-instances-sg",
      "group": "kata-ecs-asg"}
ASG = {"group": "kata-ecs-asg", "launch_template": "kata-ecs-lt", "cluster": CLUSTER,
       "max_size": 3}


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def default_vpc(aws: Aws) -> str:
    return aws.ec2.describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]


# --- user data -----------------------------------------------------------------------------


def test_user_data_is_decoded_from_base64_and_gzip() -> None:
    script = "#!/bin/bash\necho ECS_CLUSTER=kata-cluster >> /etc/ecs/ecs.config\n"
    assert decode_user_data(base64.b64encode(script.encode()).decode()) == script
    packed = base64.b64encode(gzip.compress(script.encode())).decode()
    assert decode_user_data(packed) == script
    assert decode_user_data(None) == ""


@pytest.mark.parametrize(("text", "cluster"), [
    ("echo ECS_CLUSTER=kata-cluster >> /etc/ecs/ecs.config", "kata-cluster"),
    ("echo 'ECS_CLUSTER=a'\necho ECS_CLUSTER=b >> /etc/ecs/ecs.config", "b"),
    ("# echo ECS_CLUSTER=kata-cluster", None),
    ("#!/bin/bash\nyum update -y", None),
])
def test_ecs_cluster_setting(text: str, cluster: str | None) -> None:
    assert ecs_cluster_setting(text) == cluster


# --- instance_security_group ---------------------------------------------------------------


def test_security_group_passes_in_the_default_vpc(sandbox: Target, aws: Aws) -> None:
    aws.ec2.create_security_group(GroupName="kata-instances-sg", Description="x",
                                  VpcId=default_vpc(aws))
    result = run(sandbox, "ec2.instance_security_group", **SG)
    assert result.status is Status.PASSED, result.message
    assert "admits nothing from the internet (0 ingress rules)" in result.message


def test_security_group_fails_when_open_to_the_internet(sandbox: Target, aws: Aws) -> None:
    group = aws.ec2.create_security_group(GroupName="kata-instances-sg", Description="x",
                                          VpcId=default_vpc(aws))["GroupId"]
    aws.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    result = run(sandbox, "ec2.instance_security_group", **SG)
    assert result.status is Status.FAILED
    assert result.actual == "tcp 22 from 0.0.0.0/0"


def test_security_group_fails_outside_the_default_vpc(sandbox: Target, aws: Aws) -> None:
    vpc = aws.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    aws.ec2.create_security_group(GroupName="kata-instances-sg", Description="x", VpcId=vpc)
    result = run(sandbox, "ec2.instance_security_group", **SG)
    assert result.status is Status.FAILED
    assert "not the default VPC" in result.message


def test_security_group_fails_when_missing(sandbox: Target) -> None:
    result = run(sandbox, "ec2.instance_security_group", **SG)
    assert result.status is Status.FAILED
    assert result.message == "Security group kata-instances-sg does not exist."


def test_security_group_is_discovered_as_the_launch_templates_own(
        sandbox: Target, aws: Aws) -> None:
    group = aws.ec2.create_security_group(GroupName="stack-InstanceSg-7Q", Description="x",
                                          VpcId=default_vpc(aws))["GroupId"]
    aws.ec2.create_launch_template(LaunchTemplateName="kata-ecs-lt", LaunchTemplateData={
        "ImageId": ecs_ami(aws), "SecurityGroupIds": [group]})
    result = run(sandbox, "ec2.instance_security_group", **SG)
    assert result.status is Status.PASSED, result.message
    assert ("(found as stack-InstanceSg-7Q, the security group of launch template kata-ecs-lt)"
            in result.message)


def test_security_group_discovery_never_takes_the_vpcs_default_group(
        sandbox: Target, aws: Aws) -> None:
    shared = aws.ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["default"]},
        {"Name": "vpc-id", "Values": [default_vpc(aws)]}])["SecurityGroups"][0]["GroupId"]
    aws.ec2.create_launch_template(LaunchTemplateName="kata-ecs-lt", LaunchTemplateData={
        "ImageId": ecs_ami(aws), "SecurityGroupIds": [shared]})
    result = run(sandbox, "ec2.instance_security_group", **SG)
    assert result.status is Status.FAILED
    assert result.message == (
        f"Security group kata-instances-sg does not exist; launch template kata-ecs-lt gives its "
        f"instances only the VPC's default security group ({shared}), which every resource in "
        f"the VPC shares, not a group of their own.")


# --- launch_template_for_ecs ---------------------------------------------------------------


def test_launch_template_passes(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT)
    assert result.status is Status.PASSED, result.message
    assert "instance profile ecsInstanceRole, ECS_CLUSTER=kata-cluster" in result.message


def test_launch_template_fails_without_an_instance_profile(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, profile=None)
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT)
    assert result.status is Status.FAILED
    assert "no instance profile, so the ECS agent has no credentials" in result.message


def test_launch_template_fails_without_ecs_cluster(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, user_data="#!/bin/bash\nyum update -y\n")
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT)
    assert result.status is Status.FAILED
    assert "user data without ECS_CLUSTER" in result.message
    assert "joins the cluster named default" in result.message


def test_launch_template_fails_for_a_plain_ami(sandbox: Target, aws: Aws) -> None:
    images = aws.ec2.describe_images(Filters=[{"Name": "name", "Values": ["amzn2-ami-kernel*"]}])
    plain = images["Images"][0]["ImageId"]
    aws.ec2.create_launch_template(LaunchTemplateName="kata-ecs-lt", LaunchTemplateData={
        "ImageId": plain, "InstanceType": "t3.small",
        "IamInstanceProfile": {"Name": "ecsInstanceRole"},
        "UserData": base64.b64encode(b"echo ECS_CLUSTER=kata-cluster").decode()})
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT | {"security_group": None})
    assert result.status is Status.FAILED
    assert "is not ECS-optimised" in result.message
    assert "instance type t3.small, not t2.micro" in result.message


def test_launch_template_fails_for_a_roles_arn_in_place_of_the_profiles(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, provider=False)
    data = {"IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:role/ecsInstanceRole"}}
    aws.ec2.create_launch_template_version(LaunchTemplateName="kata-ecs-lt", SourceVersion="1",
                                           LaunchTemplateData=data)
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT | {"security_group": None})
    assert result.status is Status.FAILED
    assert ("IamInstanceProfile Arn arn:aws:iam::123456789012:role/ecsInstanceRole is not an "
            "instance profile's ARN (a role's ARN has :role/, an instance profile's "
            ":instance-profile/), so EC2 refuses to launch the instances") in result.message
    data = {"IamInstanceProfile": {
        "Arn": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole"}}
    aws.ec2.create_launch_template_version(LaunchTemplateName="kata-ecs-lt", SourceVersion="1",
                                           LaunchTemplateData=data)
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT | {"security_group": None})
    # version 3 inherits the rest of version 1 (--source-version 1), so it is all right now
    assert result.status is Status.PASSED, result.message


def test_launch_template_fails_for_a_profile_that_does_not_exist(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, provider=False, roles=False)
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT)
    assert result.status is Status.FAILED
    assert result.actual == ("instance profile ecsInstanceRole does not exist, so EC2 refuses to "
                             "launch instances")


def test_launch_template_fails_when_missing(sandbox: Target) -> None:
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT)
    assert result.status is Status.FAILED
    assert result.message == "Launch template kata-ecs-lt does not exist."


def test_launch_template_is_discovered_through_the_group(sandbox: Target, aws: Aws) -> None:
    instance_role(aws)
    aws.ec2.create_launch_template(LaunchTemplateName="stack-LaunchTemplate-Q1",
                                   LaunchTemplateData={
        "ImageId": ecs_ami(aws), "InstanceType": "t2.micro",
        "IamInstanceProfile": {"Name": "ecsInstanceRole"},
        "UserData": base64.b64encode(b"echo ECS_CLUSTER=kata-cluster").decode()})
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="kata-ecs-asg", MinSize=0, MaxSize=3, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateName": "stack-LaunchTemplate-Q1"},
        VPCZoneIdentifier=",".join(default_subnets(aws)))
    result = run(sandbox, "ec2.launch_template_for_ecs", **LT | {"security_group": None})
    assert result.status is Status.PASSED, result.message
    assert "found as stack-LaunchTemplate-Q1" in result.message


# --- group_for_ecs -------------------------------------------------------------------------


def test_group_passes_across_two_zones(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.PASSED, result.message
    assert "us-east-1a, us-east-1b" in result.message


def test_group_passes_sized_min_1_desired_2_max_3(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws)
    result = run(sandbox, "autoscaling.group_for_ecs", group="kata-ecs-asg", min_size=1,
                 desired=2, max_size=3)
    assert result.status is Status.PASSED, result.message
    assert "min 1, desired 2, max 3" in result.message


def test_group_fails_in_one_zone(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0, provider=False)
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName="kata-ecs-asg",
                                              VPCZoneIdentifier=default_subnets(aws)[0])
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.FAILED
    assert "its subnets are in 1 Availability Zone (us-east-1a)" in result.message


def test_group_fails_with_the_wrong_size(sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    result = run(sandbox, "autoscaling.group_for_ecs", group="kata-ecs-asg", min_size=1,
                 desired=2, max_size=3)
    assert result.status is Status.FAILED
    assert "MinSize 0, not 1; DesiredCapacity 0, not 2" in result.message


def test_group_fails_when_missing(sandbox: Target) -> None:
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.FAILED
    assert result.message == "Auto Scaling group kata-ecs-asg does not exist."


def test_group_fails_when_pinned_behind_the_newest_template_version(
        sandbox: Target, aws: Aws) -> None:
    build_capacity(aws, desired=0)
    aws.ec2.create_launch_template_version(LaunchTemplateName="kata-ecs-lt", SourceVersion="1",
                                           LaunchTemplateData={"InstanceType": "t2.micro"})
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName="kata-ecs-asg", LaunchTemplate={
        "LaunchTemplateName": "kata-ecs-lt", "Version": "$Default"})
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.FAILED
    assert result.actual == ("it launches from version 1 ($Default) of kata-ecs-lt, but the "
                             "newest version is 2, which its instances do not get (use "
                             "Version=$Latest)")
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName="kata-ecs-asg", LaunchTemplate={
        "LaunchTemplateName": "kata-ecs-lt", "Version": "2"})
    assert run(sandbox, "autoscaling.group_for_ecs", **ASG).status is Status.PASSED


def _group_behind_the_cluster(aws: Aws, group: str, template: str) -> None:
    """A group with a generated name, behind a capacity provider of the lab's cluster."""
    if not aws.ec2.describe_launch_templates(Filters=[
            {"Name": "launch-template-name", "Values": [template]}])["LaunchTemplates"]:
        aws.ec2.create_launch_template(LaunchTemplateName=template, LaunchTemplateData={
            "ImageId": ecs_ami(aws), "InstanceType": "t2.micro"})
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group, MinSize=0, MaxSize=3, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateName": template, "Version": "$Latest"},
        VPCZoneIdentifier=",".join(default_subnets(aws)))
    arn = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"][0]["AutoScalingGroupARN"]
    aws.ecs.create_capacity_provider(name=f"{group}-cp", autoScalingGroupProvider={
        "autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED"}})
    providers = aws.ecs.describe_clusters(clusters=[CLUSTER])["clusters"][0].get(
        "capacityProviders", [])
    aws.ecs.put_cluster_capacity_providers(cluster=CLUSTER,
                                           capacityProviders=[*providers, f"{group}-cp"],
                                           defaultCapacityProviderStrategy=[])


def test_group_is_discovered_behind_the_clusters_provider_and_named(
        sandbox: Target, aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName=CLUSTER)
    _group_behind_the_cluster(aws, "stack-Asg-1", "kata-ecs-lt")
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith(
        "Auto Scaling group stack-Asg-1 (found as stack-Asg-1, the group of capacity provider "
        "stack-Asg-1-cp of cluster kata-cluster) launches from kata-ecs-lt")


def test_group_discovery_never_takes_another_stacks_group(sandbox: Target, aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName=CLUSTER)
    aws.ec2.create_launch_template(LaunchTemplateName="kata-ecs-lt", LaunchTemplateData={
        "ImageId": ecs_ami(aws), "InstanceType": "t2.micro"})
    _group_behind_the_cluster(aws, "other-asg", "other-lt")  # behind the cluster, not the lab's
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.FAILED
    assert result.message == "Auto Scaling group kata-ecs-asg does not exist."
    _group_behind_the_cluster(aws, "stack-Asg-2", "kata-ecs-lt")  # two behind it: the lab's one
    result = run(sandbox, "autoscaling.group_for_ecs", **ASG)
    assert result.status is Status.PASSED, result.message
    assert "found as stack-Asg-2" in result.message
