"""VPC layout checks against the real sandbox: public and private is decided by route tables,
tags steer load balancers, and each failure names the subnet and the cause.

``build_network`` is also used by the EKS check and lab tests: it builds the lab's layout
(two public subnets routed to an internet gateway, two private ones routed to a NAT gateway)
with switches for the mistakes under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from cloudkata.checks import Result, Status, get
from cloudkata.targets import Target

VPC_NAME = "kata-eks-vpc"
CIDR = "10.20.0.0/16"
ELB = "kubernetes.io/role/elb"
INTERNAL = "kubernetes.io/role/internal-elb"


@dataclass
class Network:
    vpc: str
    public: list[str]
    private: list[str]
    igw: str
    public_rt: str
    private_rt: str | None


def client(sandbox: Target, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def run(sandbox: Target, check_id: str, **params: Any) -> Result:
    spec = get(check_id)
    return spec.function(sandbox.read_only(), spec.params.model_validate(params))


def _tags(**tags: str) -> list[dict[str, Any]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def build_network(ec2: Any, *, name: str | None = VPC_NAME, dns_hostnames: bool = True,
                  zones: tuple[str, ...] = ("us-east-1a", "us-east-1b"),
                  tag_public: bool = True, tag_private: bool = True,
                  nat: bool = True) -> Network:
    """The lab's VPC layout, with switches for the mistakes the checks must catch."""
    spec = [{"ResourceType": "vpc", "Tags": _tags(Name=name)}] if name else []
    vpc = ec2.create_vpc(CidrBlock=CIDR, TagSpecifications=spec)["Vpc"]["VpcId"]
    if dns_hostnames:
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})

    def subnet(cidr: str, zone: str, label: str, tags: dict[str, str]) -> str:
        all_tags = _tags(Name=f"{VPC_NAME}-{label}", **tags)
        return ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone,
                                 TagSpecifications=[{"ResourceType": "subnet",
                                                     "Tags": all_tags}])["Subnet"]["SubnetId"]

    public = [subnet(f"10.20.{i}.0/24", zone, f"public-{i + 1}", {ELB: "1"} if tag_public
                     else {}) for i, zone in enumerate(zones)]
    private = [subnet(f"10.20.{32 * (i + 1)}.0/19", zone, f"private-{i + 1}",
                      {INTERNAL: "1"} if tag_private else {}) for i, zone in enumerate(zones)]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for subnet_id in public:
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=subnet_id)
    private_rt = None
    if nat:
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat_id = ec2.create_nat_gateway(SubnetId=public[0], AllocationId=allocation)[
            "NatGateway"]["NatGatewayId"]
        private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0",
                         NatGatewayId=nat_id)
        for subnet_id in private:
            ec2.associate_route_table(RouteTableId=private_rt, SubnetId=subnet_id)
    return Network(vpc, public, private, igw, public_rt, private_rt)


@pytest.fixture
def ec2(sandbox: Target) -> Any:
    return client(sandbox, "ec2")


def layout(sandbox: Target, check_id: str) -> Result:
    return run(sandbox, check_id, vpc=VPC_NAME, cidr=CIDR, zones=2)


# --- vpc_ready -----------------------------------------------------------------------------

def test_vpc_ready_passes_with_dns_hostnames_on(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2)
    result = run(sandbox, "subnets.vpc_ready", vpc=VPC_NAME, cidr=CIDR)
    assert result.status is Status.PASSED, result.message
    assert network.vpc in result.message


def test_vpc_ready_fails_with_dns_hostnames_off(sandbox: Target, ec2: Any) -> None:
    build_network(ec2, dns_hostnames=False)
    result = run(sandbox, "subnets.vpc_ready", vpc=VPC_NAME, cidr=CIDR)
    assert result.status is Status.FAILED
    assert "enableDnsHostnames" in result.message
    assert "register" in result.message


def test_vpc_ready_fails_for_a_missing_vpc_and_lists_what_exists(sandbox: Target,
                                                                ec2: Any) -> None:
    ec2.create_vpc(CidrBlock="10.99.0.0/16")
    result = run(sandbox, "subnets.vpc_ready", vpc=VPC_NAME, cidr=CIDR)
    assert result.status is Status.FAILED
    assert VPC_NAME in result.message
    assert "10.99.0.0/16" in (result.actual or "")


def test_vpc_ready_finds_an_unnamed_vpc_by_its_cidr(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2, name=None)
    result = run(sandbox, "subnets.vpc_ready", vpc=VPC_NAME, cidr=CIDR)
    assert result.status is Status.PASSED, result.message
    assert network.vpc in result.message
    assert f"found by its CIDR, as no VPC is named {VPC_NAME}" in result.message


def test_vpc_ready_finds_no_vpc_when_two_share_the_cidr(sandbox: Target, ec2: Any) -> None:
    """Discovery takes the one VPC with the lab's CIDR; with two, neither is the lab's."""
    build_network(ec2, name=None)
    ec2.create_vpc(CidrBlock=CIDR)
    result = run(sandbox, "subnets.vpc_ready", vpc=VPC_NAME, cidr=CIDR)
    assert result.status is Status.FAILED
    assert f"no VPC named {VPC_NAME}" in result.message


# --- public_subnets ------------------------------------------------------------------------

def test_public_subnets_pass_in_two_zones_tagged(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2)
    result = layout(sandbox, "subnets.public_subnets")
    assert result.status is Status.PASSED, result.message
    assert all(subnet in result.message for subnet in network.public)


def test_public_subnets_fail_without_an_internet_gateway_route(sandbox: Target,
                                                               ec2: Any) -> None:
    network = build_network(ec2)
    ec2.delete_route(RouteTableId=network.public_rt, DestinationCidrBlock="0.0.0.0/0")
    result = layout(sandbox, "subnets.public_subnets")
    assert result.status is Status.FAILED
    assert "no public subnet" in result.message
    assert network.public[0] in result.message  # tagged elb, but not public: named
    assert "internet gateway" in result.message


def test_public_subnets_fail_in_one_zone(sandbox: Target, ec2: Any) -> None:
    build_network(ec2, zones=("us-east-1a",))
    result = layout(sandbox, "subnets.public_subnets")
    assert result.status is Status.FAILED
    assert "1 Availability Zone" in result.message


def test_public_subnets_fail_untagged_naming_the_subnet(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2, tag_public=False)
    result = layout(sandbox, "subnets.public_subnets")
    assert result.status is Status.FAILED
    assert network.public[0] in result.message
    assert ELB in result.message


def test_public_subnets_leave_a_private_subnet_routed_to_the_internet_to_private(
        sandbox: Target, ec2: Any) -> None:
    """A subnet tagged internal-elb on the public route table is a private subnet gone wrong:
    private_subnets names it; public_subnets does not blame it for lacking the elb tag."""
    network = build_network(ec2)
    association = next(
        a["RouteTableAssociationId"] for t in ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [network.private[1]]}])[
            "RouteTables"] for a in t["Associations"] if a.get("SubnetId") == network.private[1])
    ec2.replace_route_table_association(AssociationId=association,
                                        RouteTableId=network.public_rt)
    result = layout(sandbox, "subnets.public_subnets")
    assert result.status is Status.PASSED, result.message
    assert network.private[1] not in result.message
    result = layout(sandbox, "subnets.private_subnets")
    assert result.status is Status.FAILED
    assert network.private[1] in result.message and "are public" in result.message


# --- private_subnets -----------------------------------------------------------------------

def test_private_subnets_pass_tagged_behind_a_nat_gateway(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2)
    result = layout(sandbox, "subnets.private_subnets")
    assert result.status is Status.PASSED, result.message
    assert all(subnet in result.message for subnet in network.private)


def test_private_subnets_fail_when_a_tagged_one_routes_to_the_internet(sandbox: Target,
                                                                       ec2: Any) -> None:
    network = build_network(ec2)
    assert network.private_rt
    ec2.create_route(RouteTableId=network.private_rt, DestinationCidrBlock="8.8.8.0/24",
                     GatewayId=network.igw)
    result = layout(sandbox, "subnets.private_subnets")
    assert result.status is Status.FAILED
    assert "are public" in result.message
    assert network.private[0] in result.message and network.igw in result.message


def test_private_subnets_fail_without_a_nat_route(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2, nat=False)
    result = layout(sandbox, "subnets.private_subnets")
    assert result.status is Status.FAILED
    assert "NAT gateway" in result.message
    assert network.private[0] in result.message


def test_private_subnets_fail_untagged(sandbox: Target, ec2: Any) -> None:
    network = build_network(ec2, tag_private=False)
    result = layout(sandbox, "subnets.private_subnets")
    assert result.status is Status.FAILED
    assert INTERNAL in result.message
    assert network.private[1] in result.message


def test_private_subnets_fail_in_one_zone(sandbox: Target, ec2: Any) -> None:
    build_network(ec2, zones=("us-east-1b",))
    result = layout(sandbox, "subnets.private_subnets")
    assert result.status is Status.FAILED
    assert "1 Availability Zone" in result.message
