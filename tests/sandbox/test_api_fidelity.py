"""The sandbox speaks AWS or nothing: where moto 5.2.5 answered differently from AWS (or
crashed), the sandbox answers as the AWS API reference says. Each test names the page.

Everything goes over HTTP to the per-worker sandbox (boto3, or the aws CLI in-process through a
lab session), as a learner's commands do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudkata.sandbox import manager
from cloudkata.targets import Target
from tests.checks.test_ecs import build_capacity, default_subnets
from tests.sandbox.test_ec2_autoscaling import Aws, clients, ecs_ami

LABS = Path(__file__).resolve().parents[2] / "labs"


def client(sandbox: Target, service: str, **config: Any) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}, **config))


def refused(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return dict(caught.value.response["Error"])


def advance(sandbox: Target, seconds: float) -> None:
    while seconds > 0:
        manager.advance(str(sandbox.endpoint_url), min(300, seconds))
        seconds -= 300


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def fargate_task_definition(ecs: Any) -> None:
    ecs.register_task_definition(
        family="web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
        memory="512", containerDefinitions=[{"name": "web", "image": "nginx",
                                             "portMappings": [{"containerPort": 80}]}])


# --- (a) ECS DeleteCluster ------------------------------------------------------------------


def test_delete_cluster_is_refused_while_services_are_active(aws: Aws) -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
    ClusterContainsServicesException: delete the services first (moto: marked it INACTIVE)."""
    aws.ecs.create_cluster(clusterName="busy")
    aws.ecs.register_task_definition(family="idle", containerDefinitions=[
        {"name": "idle", "image": "nginx", "memory": 64}])
    aws.ecs.create_service(cluster="busy", serviceName="idle", taskDefinition="idle",
                           desiredCount=0)
    error = refused(aws.ecs.delete_cluster, cluster="busy")
    assert error == {"Code": "ClusterContainsServicesException",
                     "Message": "The Cluster cannot be deleted while Services are active."}
    assert aws.ecs.describe_clusters(clusters=["busy"])["clusters"][0]["status"] == "ACTIVE"
    aws.ecs.delete_service(cluster="busy", service="idle", force=True)
    assert aws.ecs.delete_cluster(cluster="busy")["cluster"]["status"] == "INACTIVE"


def test_delete_cluster_is_refused_while_tasks_are_active(aws: Aws) -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
    ClusterContainsTasksException while a task has not stopped."""
    aws.ecs.create_cluster(clusterName="busy")
    fargate_task_definition(aws.ecs)
    task = aws.ecs.run_task(cluster="busy", taskDefinition="web", launchType="FARGATE",
                            networkConfiguration={"awsvpcConfiguration": {
                                "subnets": default_subnets(aws)[:1]}})["tasks"][0]
    error = refused(aws.ecs.delete_cluster, cluster="busy")
    assert error == {"Code": "ClusterContainsTasksException",
                     "Message": "The Cluster cannot be deleted while Tasks are active."}
    aws.ecs.stop_task(cluster="busy", task=task["taskArn"])
    aws.advance(120)
    assert aws.ecs.describe_tasks(cluster="busy", tasks=[task["taskArn"]])["tasks"][0][
        "lastStatus"] == "STOPPED"
    assert aws.ecs.delete_cluster(cluster="busy")["cluster"]["status"] == "INACTIVE"


def test_delete_cluster_is_refused_while_container_instances_are_registered(
        aws: Aws) -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html
    "You must deregister all container instances from this cluster before you may delete it"
    (ClusterContainsContainerInstancesException)."""
    build_capacity(aws, desired=1, provider=False)
    aws.advance(120)  # the instance boots and its agent registers it
    assert aws.ecs.list_container_instances(cluster="kata-cluster")["containerInstanceArns"]
    error = refused(aws.ecs.delete_cluster, cluster="kata-cluster")
    assert error == {"Code": "ClusterContainsContainerInstancesException",
                     "Message": "The Cluster cannot be deleted while Container Instances are "
                                "active or draining."}
    aws.autoscaling.delete_auto_scaling_group(AutoScalingGroupName="kata-ecs-asg",
                                              ForceDelete=True)
    aws.advance(30)  # terminated instances deregister
    assert aws.ecs.delete_cluster(cluster="kata-cluster")["cluster"]["status"] == "INACTIVE"


# --- (b) ECS DescribeCapacityProviders ------------------------------------------------------


def test_describe_capacity_providers_without_names_lists_every_provider(aws: Aws) -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeCapacityProviders.html
    (moto 5.2.5 crashed without names). Every account has FARGATE and FARGATE_SPOT."""
    names = [p["name"] for p in aws.ecs.describe_capacity_providers()["capacityProviders"]]
    assert names == ["FARGATE", "FARGATE_SPOT"]
    build_capacity(aws, desired=0)
    providers = aws.ecs.describe_capacity_providers()["capacityProviders"]
    assert [p["name"] for p in providers] == ["kata-cp", "FARGATE", "FARGATE_SPOT"]
    assert providers[0]["autoScalingGroupProvider"]["managedScaling"]["status"] == "ENABLED"
    assert providers[1] == {
        "capacityProviderArn": "arn:aws:ecs:us-east-1:123456789012:capacity-provider/FARGATE",
        "name": "FARGATE", "status": "ACTIVE", "tags": []}
    named = aws.ecs.describe_capacity_providers(capacityProviders=["FARGATE_SPOT", "nope"])
    assert [p["name"] for p in named["capacityProviders"]] == ["FARGATE_SPOT"]
    assert [f["reason"] for f in named["failures"]] == ["MISSING"]
    page = aws.ecs.describe_capacity_providers(maxResults=2)
    assert len(page["capacityProviders"]) == 2 and page["nextToken"]
    error = refused(aws.ecs.delete_capacity_provider, capacityProvider="nope")
    assert error["Code"] == "ClientException"
    assert error["Message"].startswith("The specified capacity provider does not exist.")


# --- (c) Application Auto Scaling DescribeScalingPolicies -----------------------------------


def _scalable_service(sandbox: Target, aws: Aws, name: str = "web") -> Any:
    if not aws.ecs.list_clusters()["clusterArns"]:
        aws.ecs.create_cluster(clusterName="kata")
        aws.ecs.register_task_definition(family="web", containerDefinitions=[
            {"name": "web", "image": "nginx", "memory": 64}])
    aws.ecs.create_service(cluster="kata", serviceName=name, taskDefinition="web",
                           desiredCount=0)
    scaling = client(sandbox, "application-autoscaling")
    scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/kata/{name}",
                                     ScalableDimension="ecs:service:DesiredCount",
                                     MinCapacity=1, MaxCapacity=3)
    return scaling


def test_describe_scaling_policies_honours_policy_names(sandbox: Target, aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalingPolicies.html
    PolicyNames filters (moto ignored it), ResourceId matches exactly (moto matched substrings)."""
    for service in ("web", "we"):
        scaling = _scalable_service(sandbox, aws, service)
        for policy in ("cpu", "memory"):
            scaling.put_scaling_policy(
                PolicyName=policy, ServiceNamespace="ecs", ResourceId=f"service/kata/{service}",
                ScalableDimension="ecs:service:DesiredCount", PolicyType="StepScaling",
                StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity",
                                                "StepAdjustments": [{
                                                    "MetricIntervalLowerBound": 0,
                                                    "ScalingAdjustment": 1}]})
    found = scaling.describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["cpu"],
                                              ResourceId="service/kata/we")["ScalingPolicies"]
    assert [(p["PolicyName"], p["ResourceId"]) for p in found] == [("cpu", "service/kata/we")]
    every = scaling.describe_scaling_policies(ServiceNamespace="ecs", PolicyNames=["cpu"])
    assert sorted(p["ResourceId"] for p in every["ScalingPolicies"]) == [
        "service/kata/we", "service/kata/web"]
    page = scaling.describe_scaling_policies(ServiceNamespace="ecs", MaxResults=3)
    assert len(page["ScalingPolicies"]) == 3 and page["NextToken"]


# --- (d) CloudFormation AWS::ECS::Service ----------------------------------------------------


def test_a_stack_service_keeps_its_load_balancers_and_deployment_configuration(
        sandbox: Target, aws: Aws) -> None:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html
    LoadBalancers, DeploymentConfiguration and HealthCheckGracePeriodSeconds reach the
    service (moto passed only the cluster, task definition and desired count)."""
    vpc = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]
    template = {"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cfn"}},
        "Web": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "web", "ContainerDefinitions": [{
                "Name": "web", "Image": "nginx", "Memory": 128,
                "PortMappings": [{"ContainerPort": 80, "HostPort": 0}]}]}},
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Subnets": default_subnets(aws)}},
        "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "Port": 80, "Protocol": "HTTP", "VpcId": vpc}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Group"}}]}},
        "Service": {"Type": "AWS::ECS::Service", "DependsOn": "Listener", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "Web"}, "DesiredCount": 2,
            "HealthCheckGracePeriodSeconds": 60,
            "DeploymentConfiguration": {
                "MinimumHealthyPercent": 50, "MaximumPercent": 150,
                "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
            "LoadBalancers": [{"TargetGroupArn": {"Ref": "Group"}, "ContainerName": "web",
                               "ContainerPort": 80}]}}}}
    cfn = client(sandbox, "cloudformation")
    cfn.create_stack(StackName="web", TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName="web")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    group = client(sandbox, "elbv2").describe_target_groups()["TargetGroups"][0]
    arns = aws.ecs.list_services(cluster="cfn")["serviceArns"]
    service = aws.ecs.describe_services(cluster="cfn", services=arns)["services"][0]
    assert service["loadBalancers"] == [{"targetGroupArn": group["TargetGroupArn"],
                                         "containerName": "web", "containerPort": 80}]
    assert service["deploymentConfiguration"] == {
        "maximumPercent": 150, "minimumHealthyPercent": 50,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    assert service["healthCheckGracePeriodSeconds"] == 60


# --- (e) EC2 Auto Scaling DescribeScalingActivities -----------------------------------------


def _group(aws: Aws, name: str = "web", *, minimum: int = 1, desired: int = 1,
           maximum: int = 4) -> None:
    aws.ec2.create_launch_template(LaunchTemplateName=f"{name}-lt", LaunchTemplateData={
        "ImageId": ecs_ami(aws), "InstanceType": "t3.micro"})
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": f"{name}-lt"},
        MinSize=minimum, MaxSize=maximum, DesiredCapacity=desired,
        VPCZoneIdentifier=",".join(default_subnets(aws)))


def _desired(aws: Aws, name: str = "web") -> int:
    return int(aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"][0]["DesiredCapacity"])


def test_scaling_activities_list_each_launch_and_termination_newest_first(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeScalingActivities.html
    One activity per instance launched or terminated, with its cause (moto: none at all)."""
    _group(aws)
    aws.autoscaling.update_auto_scaling_group(AutoScalingGroupName="web", DesiredCapacity=3)
    aws.autoscaling.set_desired_capacity(AutoScalingGroupName="web", DesiredCapacity=2)
    activities = aws.autoscaling.describe_scaling_activities(
        AutoScalingGroupName="web")["Activities"]
    descriptions = [a["Description"].split(": ")[0] for a in activities]
    assert descriptions == ["Terminating EC2 instance"] + ["Launching a new EC2 instance"] * 3
    instances = {i["InstanceId"] for i in aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]["Instances"]}
    assert activities[0]["Description"].split(": ")[1] not in instances
    assert all(a["StatusCode"] == "Successful" and a["Progress"] == 100 for a in activities)
    assert re.fullmatch(r"i-[0-9a-f]+", activities[-1]["Description"].split(": ")[1])
    assert "a user request explicitly set group desired capacity changing the desired " \
           "capacity from 3 to 2." in activities[0]["Cause"]
    assert "a user request update of AutoScalingGroup constraints to min: 1, max: 4, " \
           "desired: 3 changing the desired capacity from 1 to 3." in activities[1]["Cause"]
    assert "increasing the capacity from 1 to 3." in activities[1]["Cause"]
    assert "a user request created an AutoScalingGroup" in activities[-1]["Cause"]
    assert json.loads(activities[-1]["Details"])["Availability Zone"].startswith("us-east-1")
    assert [a["StartTime"] for a in activities] == sorted(
        (a["StartTime"] for a in activities), reverse=True)
    page = aws.autoscaling.describe_scaling_activities(AutoScalingGroupName="web", MaxRecords=1)
    assert len(page["Activities"]) == 1 and page["NextToken"]


def test_instance_refresh_replaces_the_instances(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html
    (moto 5.2.5 has no StartInstanceRefresh: it crashed)."""
    _group(aws, desired=2)
    before = {i["InstanceId"] for i in aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]["Instances"]}
    refresh = aws.autoscaling.start_instance_refresh(AutoScalingGroupName="web")
    after = {i["InstanceId"] for i in aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]["Instances"]}
    assert len(after) == 2 and not before & after
    described = aws.autoscaling.describe_instance_refreshes(
        AutoScalingGroupName="web")["InstanceRefreshes"]
    assert [(r["InstanceRefreshId"], r["Status"]) for r in described] == [
        (refresh["InstanceRefreshId"], "Successful")]
    causes = [a["Cause"] for a in aws.autoscaling.describe_scaling_activities(
        AutoScalingGroupName="web")["Activities"][:4]]
    assert all("in response to an instance refresh" in cause for cause in causes)


# --- (f) EC2 Auto Scaling target tracking ---------------------------------------------------


def test_asg_target_tracking_owns_two_alarms_and_scales_on_cpu(sandbox: Target,
                                                               aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html
    and https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutScalingPolicy.html:
    AlarmHigh/AlarmLow on the group's average CPU; out while above the target, in below."""
    _group(aws)
    policy = aws.autoscaling.put_scaling_policy(
        AutoScalingGroupName="web", PolicyName="cpu50", PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={"TargetValue": 50.0, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ASGAverageCPUUtilization"}})
    names = sorted(a["AlarmName"] for a in policy["Alarms"])
    assert [re.sub(r"-[0-9a-f-]{36}$", "", n) for n in names] == [
        "TargetTracking-web-AlarmHigh", "TargetTracking-web-AlarmLow"]
    cloudwatch = client(sandbox, "cloudwatch")
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNames=names)[
        "MetricAlarms"]}
    high, low = alarms[names[0]], alarms[names[1]]
    assert (high["Namespace"], high["MetricName"], high["Dimensions"]) == (
        "AWS/EC2", "CPUUtilization", [{"Name": "AutoScalingGroupName", "Value": "web"}])
    assert (high["ComparisonOperator"], high["Threshold"], high["EvaluationPeriods"]) == (
        "GreaterThanThreshold", 50.0, 3)
    assert (low["ComparisonOperator"], low["Threshold"], low["EvaluationPeriods"]) == (
        "LessThanThreshold", 45.0, 15)
    assert high["AlarmActions"] == [policy["PolicyARN"]]
    assert aws.autoscaling.describe_policies(AutoScalingGroupName="web")["ScalingPolicies"][0][
        "Alarms"] == policy["Alarms"]

    manager.set_load(str(sandbox.endpoint_url), group="web", cpu=90)
    advance(sandbox, 300)
    assert _desired(aws) == 2  # ceil(1 x 90 / 50)
    advance(sandbox, 600)  # after the warm-up, still 90%: ceil(2 x 90 / 50) = 4 = MaxSize
    assert _desired(aws) == 4
    causes = [a["Cause"] for a in aws.autoscaling.describe_scaling_activities(
        AutoScalingGroupName="web")["Activities"]]
    assert f"a monitor alarm {names[0]} in state ALARM triggered policy cpu50" in causes[0]

    manager.set_load(str(sandbox.endpoint_url), group="web", cpu=10)
    advance(sandbox, 3600)
    assert _desired(aws) == 1  # scaled in, step by step, to MinSize

    aws.autoscaling.delete_policy(AutoScalingGroupName="web", PolicyName="cpu50")
    assert cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"] == []


# --- (g) EKS optimised AMI parameters -------------------------------------------------------


@pytest.mark.parametrize(("path", "name"), [
    ("amazon-linux-2023/x86_64/standard", "amazon-eks-node-al2023-x86_64-standard-1.31-v"),
    ("amazon-linux-2", "amazon-eks-node-1.31-v"),
])
def test_eks_ami_parameters_name_eks_optimised_amis_that_exist(aws: Aws, path: str,
                                                               name: str) -> None:
    """https://docs.aws.amazon.com/eks/latest/userguide/retrieve-ami-id.html: the parameter's
    image_id is an EKS-optimised AMI (moto had no such AMI; the parameters pointed at plain
    Amazon Linux AMIs)."""
    parameter = f"/aws/service/eks/optimized-ami/1.31/{path}/recommended"
    image_id = aws.ssm.get_parameter(Name=f"{parameter}/image_id")["Parameter"]["Value"]
    image = aws.ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert image["Name"].startswith(name)
    assert image["Name"] == aws.ssm.get_parameter(Name=f"{parameter}/image_name")[
        "Parameter"]["Value"]
    assert (image["OwnerId"], image["ImageOwnerAlias"], image["Architecture"]) == (
        "602401143452", "amazon", "x86_64")
    other = aws.ssm.get_parameter(Name=parameter.replace("1.31", "1.32") + "/image_id")
    assert other["Parameter"]["Value"] != image_id  # one AMI per Kubernetes version
    instance = aws.ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
    assert instance["Instances"][0]["ImageId"] == image_id


# --- (h) EC2 DeleteSubnet -------------------------------------------------------------------


def test_delete_subnet_is_refused_while_an_instance_runs_in_it(aws: Aws) -> None:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html: "You
    must terminate all running instances in the subnet before you can delete the subnet"
    (moto deleted it under the instance)."""
    vpc = aws.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = aws.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    instance = aws.ec2.run_instances(ImageId=ecs_ami(aws), MinCount=1, MaxCount=1,
                                     SubnetId=subnet)["Instances"][0]["InstanceId"]
    error = refused(aws.ec2.delete_subnet, SubnetId=subnet)
    assert error["Code"] == "DependencyViolation"
    assert error["Message"] == f"The subnet '{subnet}' has dependencies and cannot be deleted."
    aws.ec2.terminate_instances(InstanceIds=[instance])
    aws.ec2.delete_subnet(SubnetId=subnet)
    assert aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
        "Subnets"] == []


# --- (i) refusals with AWS's codes and words ------------------------------------------------


def test_auto_scaling_bounds_are_refused_with_aws_words(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html
    and API_UpdateAutoScalingGroup.html: ValidationError for MaxSize < MinSize and for a
    desired capacity outside them."""
    aws.ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={
        "ImageId": ecs_ami(aws), "InstanceType": "t3.micro"})
    common = {"LaunchTemplate": {"LaunchTemplateName": "web-lt"},
              "VPCZoneIdentifier": default_subnets(aws)[0]}
    error = refused(aws.autoscaling.create_auto_scaling_group, AutoScalingGroupName="web",
                    MinSize=3, MaxSize=1, **common)
    assert error["Code"] == "ValidationError"
    assert error["Message"] == "Max bound, 1, must be greater than or equal to min bound, 3"
    error = refused(aws.autoscaling.create_auto_scaling_group, AutoScalingGroupName="web",
                    MinSize=1, MaxSize=2, DesiredCapacity=5, **common)
    assert error["Message"] == ("Desired capacity:5 must be between the specified min size:1 "
                                "and max size:2")
    aws.autoscaling.create_auto_scaling_group(AutoScalingGroupName="web", MinSize=1,
                                              MaxSize=2, **common)
    error = refused(aws.autoscaling.update_auto_scaling_group, AutoScalingGroupName="web",
                    MaxSize=0)
    assert error["Message"] == "Max bound, 0, must be greater than or equal to min bound, 1"
    error = refused(aws.autoscaling.set_desired_capacity, AutoScalingGroupName="web",
                    DesiredCapacity=3)
    assert error["Message"] == ("New SetDesiredCapacity value 3 is above max value 2 for the "
                                "AutoScalingGroup.")


def test_register_scalable_target_refusals(sandbox: Target, aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
    ValidationException for MaxCapacity < MinCapacity (moto registered it) and for a service
    that does not exist, or no longer does (moto accepted a deleted one)."""
    scaling = _scalable_service(sandbox, aws)
    target = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}
    error = refused(scaling.register_scalable_target, ResourceId="service/kata/web",
                    MinCapacity=3, MaxCapacity=1, **target)
    assert error["Code"] == "ValidationException"
    assert "cannot be greater than maximum capacity" in error["Message"]
    error = refused(scaling.register_scalable_target, ResourceId="service/kata/web",
                    MinCapacity=5, **target)  # above the registered MaxCapacity 3
    assert error["Code"] == "ValidationException"
    error = refused(scaling.register_scalable_target, ResourceId="service/kata/nope",
                    MinCapacity=1, MaxCapacity=2, **target)
    assert error == {"Code": "ValidationException",
                     "Message": "ECS service doesn't exist: service/kata/nope"}
    aws.ecs.delete_service(cluster="kata", service="web", force=True)
    aws.advance(60)
    error = refused(scaling.register_scalable_target, ResourceId="service/kata/web",
                    MinCapacity=1, MaxCapacity=2, **target)
    assert error["Message"] == "ECS service doesn't exist: service/kata/web"


# --- (j) the regression: a new default launch template version, then update-asg ------------


def test_update_auto_scaling_group_after_a_new_default_template_version(
        sandbox: Target, aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html
    The ecs-cluster lab's variant that once got an HTML 500: a new launch template version made
    the default, then ``update-auto-scaling-group --min-size 1 --desired-capacity 2
    --max-size 3``, as the aws CLI sends it."""
    build_capacity(aws, desired=0)
    from cloudkata.engine import LabSession
    from cloudkata.labs import Catalogue

    catalogue = Catalogue.default()
    session = LabSession(catalogue.load("ecs-cluster"), sandbox, catalogue)
    for command in (
            "aws ec2 create-launch-template-version --launch-template-name kata-ecs-lt "
            "--source-version 1 --launch-template-data '{\"InstanceType\": \"t3.micro\"}'",
            "aws ec2 modify-launch-template --launch-template-name kata-ecs-lt "
            "--default-version 2",
            "aws autoscaling update-auto-scaling-group --auto-scaling-group-name kata-ecs-asg "
            "--min-size 1 --desired-capacity 2 --max-size 3"):
        result = session.run(command)
        assert result.ok, f"{command}\n{result.output}"
    group = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["kata-ecs-asg"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (1, 2, 3)
    assert len(group["Instances"]) == 2


# --- (k) every operation the labs use answers in AWS's shape -----------------------------------


class Answers:
    """Records the raw body and content type of every answer a client gets."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def __call__(self, response_dict: dict[str, Any] | None = None, **_: Any) -> None:
        if response_dict is not None:
            headers = {k.lower(): v for k, v in response_dict.get("headers", {}).items()}
            self.last = {"status": response_dict.get("status_code"),
                         "type": headers.get("content-type", ""),
                         "body": response_dict.get("body") or b""}

    def problem(self) -> str | None:
        """Why the last answer is not AWS-shaped, or None."""
        body = bytes(self.last.get("body", b"")).strip()
        head = body[:300].lower()
        if b"<html" in head or b"<!doctype html" in head:
            return f"an HTML answer ({self.last.get('status')}): {body[:120]!r}"
        if body and not body.startswith((b"{", b"[", b"<")):
            return f"neither JSON nor XML: {body[:120]!r}"
        return None


def _resolve(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def lab_commands() -> list[tuple[str, str]]:
    """Every aws command line of every lab (commands, solution, hints, teardown), its
    {variables} substituted: (lab id, line)."""
    lines = []
    for path in sorted(LABS.glob("*.yaml")):
        lab = yaml.safe_load(path.read_text())
        values = {**{k: str(v) for k, v in (lab.get("variables") or {}).items()},
                  "region": "us-east-1", "account_id": "123456789012",
                  "account": "123456789012"}
        texts = list(lab.get("teardown") or [])
        for step in lab.get("steps") or []:
            for field in ("commands", "solution", "hints"):
                texts += [str(t) for t in step.get(field) or []]
        lines += [(lab["id"], _resolve(text, values)) for text in texts]
    return lines


COMMAND = re.compile(r"(?:^|[\s(|;&`\"$])aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)")


def lab_operations() -> dict[tuple[str, str], str]:
    """{(service, command): a line using it} for every aws command the labs use (waiters,
    which call describe operations the labs use anyway, aside)."""
    found: dict[tuple[str, str], str] = {}
    for _, line in lab_commands():
        for match in COMMAND.finditer(line):
            if match.group(2) != "wait":
                found.setdefault((match.group(1), match.group(2)), line)
    return found


def minimal(shape: Any) -> Any:
    """The smallest value botocore accepts for a shape (required members only)."""
    kind = shape.type_name
    if kind == "structure":
        return {name: minimal(shape.members[name]) for name in shape.required_members}
    if kind == "list":
        return [minimal(shape.member)]
    if kind == "map":
        return {}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        low, high = shape.metadata.get("min", 1), shape.metadata.get("max", 64)
        return ("kata" + "x" * 64)[:max(min(8, high), low)]
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("double", "float"):
        return 1.0
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return 0
    return b"x"


def test_every_lab_command_is_parsed_and_its_variables_resolved() -> None:
    """The sweep below is only as good as its reading of the labs."""
    operations = lab_operations()
    assert len(operations) >= 100
    assert ("autoscaling", "update-auto-scaling-group") in operations
    assert ("ecs", "delete-cluster") in operations
    unresolved = [line for _, line in lab_commands() if re.search(r"\{[a-z_]+\}", line)]
    assert unresolved == []


def test_every_operation_the_labs_use_answers_in_aws_shape(sandbox: Target) -> None:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (and each
    service's "Common Errors"): whatever the request, the answer is a success or an error in
    the service's protocol (JSON or XML) with an AWS error code; never moto's HTML page, never
    the sandbox's own InternalFailure. Each operation gets the minimal request botocore
    accepts (names that exist nowhere, so most are refusals)."""
    problems = []
    for (service, command), line in sorted(lab_operations().items()):
        api = client(sandbox, service)
        names = {xform_name(op, "-"): op for op in api.meta.service_model.operation_names}
        assert command in names, f"{service} {command} (from: {line[:80]})"
        operation = api.meta.service_model.operation_model(names[command])
        params = minimal(operation.input_shape) if operation.input_shape else {}
        answers = Answers()
        api.meta.events.register("before-parse.*.*", answers)
        try:
            getattr(api, xform_name(names[command]))(**params)
        except ClientError as exc:
            code = exc.response["Error"].get("Code")
            if code == "InternalFailure" or not code or code.isdigit():
                problems.append(f"{service} {command}: {code} "
                                f"{exc.response['Error'].get('Message', '')[:120]}")
                continue
        problem = answers.problem()
        if problem:
            problems.append(f"{service} {command}: {problem}")
    assert problems == []


def test_the_variants_around_the_lab_solutions_answer_in_aws_shape(sandbox: Target,
                                                                   aws: Aws) -> None:
    """The variants a learner tries around the solutions (issue 10): desired capacity through
    update-auto-scaling-group and set-desired-capacity, launch template default versions,
    ecs update-service --force-new-deployment, deleting and re-creating a service, a target
    group and a cluster. Each answer is a success or an AWS error, never InternalFailure or
    HTML (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html)."""
    answers = Answers()
    calls: list[tuple[str, str | None, str | None]] = []
    elbv2 = client(sandbox, "elbv2")
    for api in (aws.autoscaling, aws.ec2, aws.ecs, elbv2):
        api.meta.events.register("before-parse.*.*", answers)

    def attempt(label: str, call: Any, **params: Any) -> Any:
        answers.last = {}
        try:
            result = call(**params)
        except ClientError as exc:
            result = exc.response
        calls.append((label, (result.get("Error") or {}).get("Code"), answers.problem()))
        return result

    build_capacity(aws, desired=2)
    advance(sandbox, 120)
    vpc = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]
    group = "kata-ecs-asg"
    attempt("update desired", aws.autoscaling.update_auto_scaling_group,
            AutoScalingGroupName=group, DesiredCapacity=3)
    attempt("update desired above max", aws.autoscaling.update_auto_scaling_group,
            AutoScalingGroupName=group, DesiredCapacity=9)
    attempt("update bounds", aws.autoscaling.update_auto_scaling_group,
            AutoScalingGroupName=group, MinSize=1, DesiredCapacity=2, MaxSize=3)
    attempt("set desired", aws.autoscaling.set_desired_capacity, AutoScalingGroupName=group,
            DesiredCapacity=1)
    attempt("set desired below min", aws.autoscaling.set_desired_capacity,
            AutoScalingGroupName=group, DesiredCapacity=0)
    attempt("new template version", aws.ec2.create_launch_template_version,
            LaunchTemplateName="kata-ecs-lt", SourceVersion="1",
            LaunchTemplateData={"InstanceType": "t3.small"})
    for version in ("2", "1", "$Latest", "7"):
        attempt(f"default version {version}", aws.ec2.modify_launch_template,
                LaunchTemplateName="kata-ecs-lt", DefaultVersion=version)
    attempt("group on $Default", aws.autoscaling.update_auto_scaling_group,
            AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateName": "kata-ecs-lt",
                                                        "Version": "$Default"},
            DesiredCapacity=2)
    attempt("delete a template version", aws.ec2.delete_launch_template_versions,
            LaunchTemplateName="kata-ecs-lt", Versions=["1"])
    attempt("instance refresh", aws.autoscaling.start_instance_refresh,
            AutoScalingGroupName=group)
    advance(sandbox, 120)

    aws.ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "nginx", "memory": 128,
         "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
    alb = elbv2.create_load_balancer(Name="kata-alb", Subnets=default_subnets(aws))[
        "LoadBalancers"][0]["LoadBalancerArn"]

    def target_group() -> str:
        arn = elbv2.create_target_group(Name="kata-tg", Protocol="HTTP", Port=80, VpcId=vpc)[
            "TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": arn}])
        return arn

    tg = target_group()
    service = {"cluster": "kata-cluster", "serviceName": "web", "taskDefinition": "web",
               "desiredCount": 2, "loadBalancers": [{"targetGroupArn": tg,
                                                     "containerName": "web",
                                                     "containerPort": 80}]}
    attempt("create service", aws.ecs.create_service, **service)
    advance(sandbox, 120)
    attempt("force new deployment", aws.ecs.update_service, cluster="kata-cluster",
            service="web", forceNewDeployment=True)
    attempt("force new deployment and count", aws.ecs.update_service, cluster="kata-cluster",
            service="web", forceNewDeployment=True, desiredCount=3)
    advance(sandbox, 120)
    attempt("delete service", aws.ecs.delete_service, cluster="kata-cluster", service="web",
            force=True)
    attempt("re-create it at once", aws.ecs.create_service, **service)
    advance(sandbox, 600)
    attempt("re-create it drained", aws.ecs.create_service, **service)
    attempt("delete target group in use", elbv2.delete_target_group, TargetGroupArn=tg)
    attempt("delete service again", aws.ecs.delete_service, cluster="kata-cluster",
            service="web", force=True)
    advance(sandbox, 600)
    for listener in elbv2.describe_listeners(LoadBalancerArn=alb)["Listeners"]:
        elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    attempt("delete target group", elbv2.delete_target_group, TargetGroupArn=tg)
    tg = target_group()
    attempt("re-create the service on a new group", aws.ecs.create_service,
            **{**service, "loadBalancers": [{**service["loadBalancers"][0],
                                             "targetGroupArn": tg}]})
    attempt("delete busy cluster", aws.ecs.delete_cluster, cluster="kata-cluster")
    attempt("delete its service", aws.ecs.delete_service, cluster="kata-cluster",
            service="web", force=True)
    advance(sandbox, 600)
    aws.ecs.put_cluster_capacity_providers(cluster="kata-cluster", capacityProviders=[],
                                           defaultCapacityProviderStrategy=[])
    attempt("delete capacity provider", aws.ecs.delete_capacity_provider,
            capacityProvider="kata-cp")
    attempt("delete the group", aws.autoscaling.delete_auto_scaling_group,
            AutoScalingGroupName=group, ForceDelete=True)
    advance(sandbox, 60)
    attempt("delete the cluster", aws.ecs.delete_cluster, cluster="kata-cluster")
    attempt("re-create the cluster", aws.ecs.create_cluster, clusterName="kata-cluster")
    attempt("describe it", aws.ecs.describe_clusters, clusters=["kata-cluster"])

    bad = [(label, code, problem) for label, code, problem in calls
           if code == "InternalFailure" or problem]
    assert bad == []
    codes = dict((label, code) for label, code, _ in calls)
    assert codes["update desired above max"] == "ValidationError"
    assert codes["set desired below min"] == "ValidationError"
    assert codes["delete busy cluster"] == "ClusterContainsServicesException"
    assert codes["delete the cluster"] is None
    assert codes["re-create the cluster"] is None
    assert codes["delete a template version"] == "UnsupportedOperation"
