"""EC2 Auto Scaling in the sandbox behaves as on AWS: launch template profile applied,
instances balanced over the group's AZs, desired capacity held within [MinSize, MaxSize]."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.sandbox import manager
from cloudkata.targets import Target

ECS_FOR_EC2 = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
EC2_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"
USER_DATA = "#!/bin/bash\necho ECS_CLUSTER=kata-cluster >> /etc/ecs/ecs.config"


@dataclass
class Aws:
    """The learner's clients, all against the sandbox."""

    endpoint: str
    ec2: Any
    autoscaling: Any
    iam: Any
    ecs: Any
    ssm: Any

    def advance(self, seconds: float) -> float:
        return manager.advance(self.endpoint, seconds)


def clients(sandbox: Target) -> Aws:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="x", aws_secret_access_key="x")

    return Aws(str(sandbox.endpoint_url), client("ec2"), client("autoscaling"), client("iam"),
               client("ecs"), client("ssm"))


def instance_role(aws: Aws, name: str = "ecsInstanceRole", *, managed_policy: bool = True,
                  trust: dict | None = None) -> str:
    """The usual ecsInstanceRole and its instance profile (same name); returns the profile."""
    aws.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or EC2_TRUST))
    if managed_policy:
        aws.iam.attach_role_policy(RoleName=name, PolicyArn=ECS_FOR_EC2)
    aws.iam.create_instance_profile(InstanceProfileName=name)
    aws.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name


def two_subnets(aws: Aws) -> tuple[str, str]:
    vpc = aws.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    first = aws.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24",
                                  AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    second = aws.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24",
                                   AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    return first, second


def ecs_ami(aws: Aws) -> str:
    return aws.ssm.get_parameter(Name=ECS_AMI_PARAMETER)["Parameter"]["Value"]


def launch_template(aws: Aws, *, name: str = "kata-lt", profile: str | None = "ecsInstanceRole",
                    user_data: str | None = USER_DATA, instance_type: str = "t2.micro") -> str:
    data: dict[str, Any] = {"ImageId": ecs_ami(aws), "InstanceType": instance_type}
    if user_data is not None:
        data["UserData"] = base64.b64encode(user_data.encode()).decode()
    if profile:
        data["IamInstanceProfile"] = {"Name": profile}
    aws.ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)
    return name


def group(aws: Aws, subnets: tuple[str, ...], *, name: str = "kata-asg", desired: int = 2,
          min_size: int = 0, max_size: int = 4, template: str = "kata-lt") -> str:
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=min_size, MaxSize=max_size,
        DesiredCapacity=desired, LaunchTemplate={"LaunchTemplateName": template,
                                                 "Version": "$Latest"},
        VPCZoneIdentifier=",".join(subnets))
    return name


def group_instances(aws: Aws, name: str = "kata-asg") -> list[dict]:
    found = aws.ec2.describe_instances(Filters=[
        {"Name": "tag:aws:autoscaling:groupName", "Values": [name]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    return [i for r in found["Reservations"] for i in r["Instances"]]


def desired(aws: Aws, name: str = "kata-asg") -> int:
    groups = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return groups["AutoScalingGroups"][0]["DesiredCapacity"]


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def test_asg_instances_carry_the_launch_template_profile_and_user_data(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    group(aws, two_subnets(aws))

    instances = group_instances(aws)
    assert len(instances) == 2
    for instance in instances:
        assert instance["IamInstanceProfile"]["Arn"] == (
            "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole")
        user_data = aws.ec2.describe_instance_attribute(
            InstanceId=instance["InstanceId"], Attribute="userData")["UserData"]["Value"]
        assert base64.b64decode(user_data).decode() == USER_DATA
        assert instance["InstanceType"] == "t2.micro"


def test_asg_balances_instances_over_its_subnets_and_azs(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    first, second = two_subnets(aws)
    group(aws, (first, second), desired=2)

    instances = group_instances(aws)
    assert {i["SubnetId"] for i in instances} == {first, second}
    assert {i["Placement"]["AvailabilityZone"] for i in instances} == {"us-east-1a",
                                                                        "us-east-1b"}

    aws.autoscaling.set_desired_capacity(AutoScalingGroupName="kata-asg", DesiredCapacity=4)
    per_subnet = [i["SubnetId"] for i in group_instances(aws)]
    assert sorted(per_subnet.count(s) for s in (first, second)) == [2, 2]


def test_run_instances_gives_every_instance_its_profile(aws: Aws) -> None:
    profile = instance_role(aws)
    launch_template(aws)
    subnet, _ = two_subnets(aws)

    from_template = aws.ec2.run_instances(
        MinCount=2, MaxCount=2, SubnetId=subnet,
        LaunchTemplate={"LaunchTemplateName": "kata-lt"})["Instances"]
    explicit = aws.ec2.run_instances(
        ImageId=ecs_ami(aws), InstanceType="t3.micro", MinCount=2, MaxCount=2,
        SubnetId=subnet, IamInstanceProfile={"Name": profile})["Instances"]

    ids = [i["InstanceId"] for i in from_template + explicit]
    described = aws.ec2.describe_instances(InstanceIds=ids)["Reservations"]
    arns = {i["InstanceId"]: i.get("IamInstanceProfile", {}).get("Arn")
            for r in described for i in r["Instances"]}
    assert set(arns.values()) == {f"arn:aws:iam::123456789012:instance-profile/{profile}"}
    assert len(arns) == 4


def test_set_desired_capacity_beyond_the_bounds_is_refused_like_aws(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    group(aws, two_subnets(aws), desired=2, min_size=1, max_size=3)

    with pytest.raises(ClientError) as above:
        aws.autoscaling.set_desired_capacity(AutoScalingGroupName="kata-asg", DesiredCapacity=5)
    assert above.value.response["Error"]["Code"] == "ValidationError"
    assert above.value.response["Error"]["Message"] == (
        "New SetDesiredCapacity value 5 is above max value 3 for the AutoScalingGroup.")

    with pytest.raises(ClientError) as below:
        aws.autoscaling.set_desired_capacity(AutoScalingGroupName="kata-asg", DesiredCapacity=0)
    assert below.value.response["Error"]["Message"] == (
        "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup.")

    assert desired(aws) == 2 and len(group_instances(aws)) == 2


def test_create_and_update_out_of_bounds_are_refused_like_aws(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    subnets = two_subnets(aws)

    with pytest.raises(ClientError) as too_many:
        group(aws, subnets, desired=5, min_size=1, max_size=3)
    assert too_many.value.response["Error"]["Code"] == "ValidationError"
    assert too_many.value.response["Error"]["Message"] == (
        "Desired capacity:5 must be between the specified min size:1 and max size:3")
    with pytest.raises(ClientError) as crossed:
        group(aws, subnets, desired=2, min_size=4, max_size=3)
    assert crossed.value.response["Error"]["Message"] == (
        "Max bound, 3, must be greater than or equal to min bound, 4")
    assert aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert group_instances(aws) == []

    group(aws, subnets, desired=2, min_size=1, max_size=3)
    with pytest.raises(ClientError) as update:
        aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName="kata-asg",
                                                  DesiredCapacity=4)
    assert update.value.response["Error"]["Message"] == (
        "Desired capacity:4 must be between the specified min size:1 and max size:3")


def test_lowering_max_size_lowers_the_desired_capacity(aws: Aws) -> None:
    """AWS: a new MaxSize below the group's size, without DesiredCapacity, sets it to MaxSize."""
    instance_role(aws)
    launch_template(aws)
    group(aws, two_subnets(aws), desired=3, min_size=0, max_size=4)

    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName="kata-asg", MaxSize=1)
    assert desired(aws) == 1
    assert len(group_instances(aws)) == 1


def test_a_scaling_policy_stops_at_max_size(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    group(aws, two_subnets(aws), desired=2, min_size=1, max_size=3)
    aws.autoscaling.put_scaling_policy(
        AutoScalingGroupName="kata-asg", PolicyName="out", PolicyType="SimpleScaling",
        AdjustmentType="ChangeInCapacity", ScalingAdjustment=5)

    aws.autoscaling.execute_policy(AutoScalingGroupName="kata-asg", PolicyName="out")
    assert desired(aws) == 3
    assert len(group_instances(aws)) == 3


def test_a_stopped_instance_is_replaced(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    group(aws, two_subnets(aws), desired=2)
    victim = group_instances(aws)[0]["InstanceId"]

    aws.ec2.stop_instances(InstanceIds=[victim])

    remaining = group_instances(aws)
    assert len(remaining) == 2 and victim not in {i["InstanceId"] for i in remaining}
    state = aws.ec2.describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] == "terminated"


def test_force_deleting_a_group_terminates_all_its_instances(sandbox) -> None:
    import boto3

    kw = {"endpoint_url": sandbox.endpoint_url, "region_name": "us-east-1",
          "aws_access_key_id": "k", "aws_secret_access_key": "s"}
    ec2, asg = boto3.client("ec2", **kw), boto3.client("autoscaling", **kw)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_launch_template(LaunchTemplateName="gone-lt", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t2.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName="gone", MinSize=1, MaxSize=2,
                                  DesiredCapacity=2, VPCZoneIdentifier=subnet,
                                  LaunchTemplate={"LaunchTemplateName": "gone-lt"})
    owned = [i["InstanceId"] for i in
             asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"]]
    asg.delete_auto_scaling_group(AutoScalingGroupName="gone", ForceDelete=True)
    states = {i["State"]["Name"] for r in ec2.describe_instances(InstanceIds=owned)["Reservations"]
              for i in r["Instances"]}
    assert states <= {"shutting-down", "terminated"}
