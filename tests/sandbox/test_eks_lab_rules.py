"""EKS refuses a Fargate profile on a public subnet, judged by the subnet's route table as AWS
judges it, and on a subnet that does not exist; private subnets are accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.sandbox import manager
from cloudkata.targets import Target

ROLE = "arn:aws:iam::123456789012:role/podExecution"


@dataclass
class Vpc:
    eks: Any
    ec2: Any
    vpc: str
    igw: str
    public: str
    private: str
    other: str
    """A third subnet on the VPC's main route table (no explicit association)."""


@pytest.fixture
def vpc(sandbox: Target) -> Vpc:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="x", aws_secret_access_key="x")

    ec2, eks = client("ec2"), client("eks")
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    public, private, other = (
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.30.{i}.0/24",
                          AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"), (3, "a")))
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=public)
    private_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=private_table, SubnetId=private)
    eks.create_cluster(name="kata", roleArn="arn:aws:iam::123456789012:role/eksClusterRole",
                       resourcesVpcConfig={"subnetIds": [public, private]})
    manager.advance(str(sandbox.endpoint_url), 120)
    return Vpc(eks, ec2, vpc_id, igw, public, private, other)


def create(vpc: Vpc, *subnets: str) -> dict[str, Any]:
    return dict(vpc.eks.create_fargate_profile(
        clusterName="kata", fargateProfileName="apps", podExecutionRoleArn=ROLE,
        subnets=list(subnets), selectors=[{"namespace": "apps"}])["fargateProfile"])


def refusal(vpc: Vpc, *subnets: str) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        create(vpc, *subnets)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_public_subnet_is_refused_by_name(vpc: Vpc) -> None:
    assert refusal(vpc, vpc.private, vpc.public) == (
        "InvalidParameterException",
        f"Subnet {vpc.public} provided in Fargate Profile is not a private subnet")
    assert vpc.eks.list_fargate_profiles(clusterName="kata")["fargateProfileNames"] == []


def test_a_subnet_is_public_through_the_main_route_table(vpc: Vpc) -> None:
    main = vpc.ec2.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc.vpc]},
        {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]["RouteTableId"]
    vpc.ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0",
                         GatewayId=vpc.igw)
    assert refusal(vpc, vpc.other)[1] == (
        f"Subnet {vpc.other} provided in Fargate Profile is not a private subnet")


def test_private_subnets_are_accepted(vpc: Vpc) -> None:
    profile = create(vpc, vpc.private, vpc.other)
    assert profile["status"] == "CREATING"
    assert sorted(profile["subnets"]) == sorted([vpc.private, vpc.other])


def test_an_unknown_subnet_is_refused(vpc: Vpc) -> None:
    assert refusal(vpc, "subnet-0123456789abcdef0") == (
        "InvalidParameterException", "The subnet ID 'subnet-0123456789abcdef0' does not exist")


def test_the_refusal_reaches_the_aws_cli(vpc: Vpc, sandbox: Target) -> None:
    import subprocess
    import sys

    env = sandbox.env()
    answer = subprocess.run(
        [sys.executable, "-m", "awscli", "eks", "create-fargate-profile", "--cluster-name",
         "kata", "--fargate-profile-name", "apps", "--pod-execution-role-arn", ROLE,
         "--subnets", vpc.public, "--selectors", "namespace=apps"],
        env=env, capture_output=True, text=True, check=False)
    assert answer.returncode != 0
    assert "InvalidParameterException" in answer.stderr
    assert f"Subnet {vpc.public} provided in Fargate Profile is not a private subnet" \
        in answer.stderr
