"""Sandbox fidelity: where moto differs from AWS in a way a lab teaches, the sandbox is AWS."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from cloudkata.sandbox.fidelity import SERVICE_LINKED_ROLES
from cloudkata.targets import Target


@pytest.fixture
def iam(sandbox: Target) -> Any:
    return boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


@pytest.mark.parametrize(
    ("service", "name", "policy"),
    [
        ("ecs.amazonaws.com", "AWSServiceRoleForECS", "AmazonECSServiceRolePolicy"),
        ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy"),
        ("elasticloadbalancing.amazonaws.com", "AWSServiceRoleForElasticLoadBalancing",
         "AWSElasticLoadBalancingServiceRolePolicy"),
    ],
)
def test_service_linked_role_is_named_and_equipped_like_aws(
    iam: Any, service: str, name: str, policy: str
) -> None:
    created = iam.create_service_linked_role(AWSServiceName=service)["Role"]
    assert created["RoleName"] == name
    assert created["Path"] == f"/aws-service-role/{service}/"
    assert created["Arn"] == f"arn:aws:iam::123456789012:role/aws-service-role/{service}/{name}"

    role = iam.get_role(RoleName=name)["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"]["Service"] in (service, [service])

    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy,
                         "PolicyArn": f"arn:aws:iam::aws:policy/aws-service-role/{policy}"}]


def test_every_mapped_managed_policy_exists_in_the_sandbox(iam: Any) -> None:
    """A typo in the table would silently leave a role without its policy."""
    for _, policy in SERVICE_LINKED_ROLES.values():
        arn = f"arn:aws:iam::aws:policy/aws-service-role/{policy}"
        assert iam.get_policy(PolicyArn=arn)["Policy"]["PolicyName"] == policy


def test_custom_suffix(iam: Any) -> None:
    role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com",
                                          CustomSuffix="blue")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForECS_blue"


def test_creating_it_twice_fails_like_aws(iam: Any) -> None:
    """The lab's hint explains AWS's "has been taken" answer; the sandbox must give it."""
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    with pytest.raises(iam.exceptions.ClientError) as caught:
        iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidInput"
    assert error["Message"] == ("Service role name AWSServiceRoleForECS has been taken in this "
                                "account, please try a different suffix.")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_other_services_keep_moto_behaviour(iam: Any) -> None:
    role = iam.create_service_linked_role(AWSServiceName="rds.amazonaws.com")["Role"]
    assert role["Path"] == "/aws-service-role/rds.amazonaws.com/"


def test_aws_managed_policies_are_loaded(iam: Any) -> None:
    """Labs attach AWS managed policies by ARN, so the sandbox must know them all."""
    paginator = iam.get_paginator("list_policies")
    names = {p["PolicyName"] for page in paginator.paginate(Scope="AWS") for p in page["Policies"]}
    assert len(names) > 1000
    assert {"AmazonEC2ContainerServiceforEC2Role", "AmazonECSTaskExecutionRolePolicy",
            "AmazonS3FullAccess"} <= names
