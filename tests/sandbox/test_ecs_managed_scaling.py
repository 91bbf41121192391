"""A capacity provider with managed scaling grows its group when tasks cannot be placed."""

from __future__ import annotations

import base64
import json

import boto3

from cloudkata.sandbox import manager
from cloudkata.targets import Target

TRUST_EC2 = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def test_unplaced_tasks_scale_the_group_out_within_its_max(sandbox: Target) -> None:
    kw = {"endpoint_url": sandbox.endpoint_url, "region_name": "us-east-1",
          "aws_access_key_id": "k", "aws_secret_access_key": "s"}
    iam, ec2 = boto3.client("iam", **kw), boto3.client("ec2", **kw)
    asg, ecs = boto3.client("autoscaling", **kw), boto3.client("ecs", **kw)
    iam.create_role(RoleName="ecsInstanceRole", AssumeRolePolicyDocument=TRUST_EC2)
    iam.attach_role_policy(
        RoleName="ecsInstanceRole",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    iam.create_instance_profile(InstanceProfileName="ecsInstanceRole")
    iam.add_role_to_instance_profile(InstanceProfileName="ecsInstanceRole",
                                     RoleName="ecsInstanceRole")
    ecs.create_cluster(clusterName="grow")
    user_data = base64.b64encode(b"#!/bin/bash\necho ECS_CLUSTER=grow >> /etc/ecs/ecs.config")
    ec2.create_launch_template(LaunchTemplateName="grow-lt", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t2.micro",
        "IamInstanceProfile": {"Name": "ecsInstanceRole"}, "UserData": user_data.decode()})
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    asg.create_auto_scaling_group(AutoScalingGroupName="grow-asg", MinSize=1, MaxSize=3,
                                  DesiredCapacity=1, VPCZoneIdentifier=",".join(subnets),
                                  LaunchTemplate={"LaunchTemplateName": "grow-lt"})
    group_arn = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0][
        "AutoScalingGroupARN"]
    ecs.create_capacity_provider(name="grow-cp", autoScalingGroupProvider={
        "autoScalingGroupArn": group_arn, "managedScaling": {
            "status": "ENABLED", "targetCapacity": 100}})
    ecs.put_cluster_capacity_providers(
        cluster="grow", capacityProviders=["grow-cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "grow-cp", "weight": 1}])
    manager.advance(sandbox.endpoint_url, 70)
    ecs.register_task_definition(family="big", containerDefinitions=[{
        "name": "app", "image": "nginx", "memory": 300, "essential": True,
        "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
    ecs.create_service(cluster="grow", serviceName="big", taskDefinition="big", desiredCount=6)
    manager.advance(sandbox.endpoint_url, 600)
    group = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 2  # 300 MiB tasks: 3 fit a t2.micro, 6 need 2
    service = ecs.describe_services(cluster="grow", services=["big"])["services"][0]
    assert service["runningCount"] == 6
    ecs.update_service(cluster="grow", service="big", desiredCount=1)
    manager.advance(sandbox.endpoint_url, 1500)
    group = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 1  # the idle instance is scaled in after ~15 minutes
