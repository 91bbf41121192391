"""CloudFormation makes Application Auto Scaling resources; unknown types fail clearly."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.targets import Target


def _client(sandbox: Target, name: str):
    return boto3.client(name, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="k", aws_secret_access_key="s")


def _service(sandbox: Target) -> None:
    ecs = _client(sandbox, "ecs")
    ecs.create_cluster(clusterName="cfn")
    ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "nginx", "memory": 128}])
    ecs.create_service(cluster="cfn", serviceName="web", taskDefinition="web", desiredCount=1)


TEMPLATE = {
    "Resources": {
        "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ServiceNamespace": "ecs", "ResourceId": "service/cfn/web",
            "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 1,
            "MaxCapacity": 4, "RoleARN": "arn:aws:iam::123456789012:role/x",
            "ScheduledActions": [{"ScheduledActionName": "night", "Schedule": "cron(0 22 * * ? *)",
                                  "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 2}}]}},
        "Policy": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "cpu50", "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": "Target"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 50.0, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}},
    },
    "Outputs": {"PolicyArn": {"Value": {"Ref": "Policy"}}},
}


def test_scalable_target_policy_and_schedule_from_a_stack(sandbox: Target) -> None:
    _service(sandbox)
    cfn = _client(sandbox, "cloudformation")
    cfn.create_stack(StackName="scaling", TemplateBody=json.dumps(TEMPLATE))
    stack = cfn.describe_stacks(StackName="scaling")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    aas = _client(sandbox, "application-autoscaling")
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        ("service/cfn/web", 1, 4)]
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert [(p["PolicyName"], p["PolicyType"]) for p in policies] == [
        ("cpu50", "TargetTrackingScaling")]
    assert stack["Outputs"][0]["OutputValue"] == policies[0]["PolicyARN"]
    actions = aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    assert [a["ScheduledActionName"] for a in actions] == ["night"]


def test_a_type_the_sandbox_cannot_make_fails_the_stack_clearly(sandbox: Target) -> None:
    cfn = _client(sandbox, "cloudformation")
    template = {"Resources": {"Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {
        "RoleArn": "arn:aws:iam::123456789012:role/eks", "ResourcesVpcConfig": {
            "SubnetIds": ["subnet-1"]}}}}}
    with pytest.raises(ClientError) as caught:
        cfn.create_stack(StackName="eks", TemplateBody=json.dumps(template))
    message = caught.value.response["Error"]["Message"]
    assert "cannot create AWS::EKS::Cluster (Cluster)" in message
