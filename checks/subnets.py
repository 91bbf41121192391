"""VPC layout checks: a VPC with public and private subnets in several AZs, tagged for load
balancers, as EKS (and the AWS Load Balancer Controller) expect.

A subnet is *public* when its route table (the one associated with it, else the VPC's main
table) has a route to an internet gateway; otherwise it is *private*. That is the rule AWS
itself applies, e.g. when EKS refuses a public subnet for a Fargate profile, so these checks
never trust a subnet's name. The load balancer controller picks subnets by tag:
``kubernetes.io/role/elb`` for internet-facing load balancers (public subnets) and
``kubernetes.io/role/internal-elb`` for internal ones (private subnets), value ``1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws

ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
TAG_VALUES = ("1", "")
"""AWS documents the value ``1``; the controller also accepts the tag with an empty value."""


@dataclass(frozen=True)
class SubnetView:
    """One subnet as these checks judge it."""

    id: str
    zone: str
    cidr: str
    tags: dict[str, str]
    route_table: str | None
    internet_gateway: str | None
    nat_gateway: str | None

    @property
    def public(self) -> bool:
        return self.internet_gateway is not None

    @property
    def label(self) -> str:
        name = self.tags.get("Name")
        return f"{self.id} ({name}, {self.zone})" if name else f"{self.id} ({self.zone})"


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags") or []}


def find_vpc(aws: ReadOnlyAws, name: str,
             cidr: str | None = None) -> tuple[dict[str, Any] | None, str]:
    """The VPC named ``name`` (Name tag), else the only VPC with ``cidr`` (discovery).

    Returns (vpc, how it was found) — the second part is for messages.
    """
    named = aws.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    if named:
        return named[0], f"VPC {name} ({named[0]['VpcId']})"
    if cidr:
        matching = [v for v in aws.ec2.describe_vpcs()["Vpcs"]
                    if v.get("CidrBlock") == cidr and not v.get("IsDefault")]
        if len(matching) == 1:
            found = matching[0]
            called = tags_of(found).get("Name")
            return found, (f"VPC {found['VpcId']} (" + (f"named {called}; " if called else "")
                           + f"found by its CIDR, as no VPC is named {name})")
    return None, f"VPC {name}"


def missing_vpc(aws: ReadOnlyAws, name: str, cidr: str | None) -> Result:
    vpcs = aws.ec2.describe_vpcs()["Vpcs"]
    others = [f"{v['VpcId']} {v.get('CidrBlock')}" + (" (default)" if v.get("IsDefault") else "")
              for v in vpcs]
    wanted = f"a VPC tagged Name={name}" + (f" with CIDR {cidr}" if cidr else "")
    same = [v["VpcId"] for v in vpcs if cidr and v.get("CidrBlock") == cidr
            and not v.get("IsDefault")]
    why = (f", and {len(same)} VPCs ({', '.join(same)}) have CIDR {cidr}, so none of them can "
           f"be told to be this lab's; tag yours Name={name}" if len(same) > 1
           else f" or with CIDR {cidr}" if cidr else "")
    return failed(f"There is no VPC named {name}{why}.", expected=wanted,
                  actual=("VPCs: " + ", ".join(others)) if others else "no VPCs")


def _default_route_targets(table: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(internet gateway id, NAT gateway id) that the table's routes lead to."""
    if table is None:
        return None, None
    igw = nat = None
    for route in table.get("Routes", []):
        if route.get("State", "active") != "active":
            continue
        gateway = route.get("GatewayId") or ""
        if gateway.startswith("igw-"):
            igw = gateway
        if route.get("NatGatewayId") and route.get("DestinationCidrBlock") == "0.0.0.0/0":
            nat = route["NatGatewayId"]
    return igw, nat


def subnet_views(aws: ReadOnlyAws, vpc_id: str) -> list[SubnetView]:
    """Every subnet of the VPC with the route table it really uses and where that leads."""
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}]
    tables = aws.ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]
    main = next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))),
                None)
    explicit = {a["SubnetId"]: t for t in tables for a in t.get("Associations", [])
                if a.get("SubnetId")}
    views = []
    for subnet in aws.ec2.describe_subnets(Filters=vpc_filter)["Subnets"]:
        table = explicit.get(subnet["SubnetId"], main)
        igw, nat = _default_route_targets(table)
        views.append(SubnetView(subnet["SubnetId"], subnet["AvailabilityZone"],
                                subnet.get("CidrBlock", ""), tags_of(subnet),
                                table["RouteTableId"] if table else None, igw, nat))
    return sorted(views, key=lambda v: (v.zone, v.id))


def subnet_view(aws: ReadOnlyAws, subnet_id: str) -> SubnetView | None:
    """One subnet (any VPC) as judged here; None if it does not exist."""
    found = aws.ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])
    if not found["Subnets"]:
        return None
    views = subnet_views(aws, found["Subnets"][0]["VpcId"])
    return next((v for v in views if v.id == subnet_id), None)


def why_public(view: SubnetView) -> str:
    return (f"subnet {view.label} is public: its route table {view.route_table} routes to "
            f"internet gateway {view.internet_gateway}")


class VpcParams(Params):
    vpc: str = Field(description="the VPC's Name tag")
    cidr: str | None = Field(default=None, description="its CIDR block (also used to find it)")


@check("subnets.vpc_ready", title="The VPC exists with DNS support and hostnames",
       params=VpcParams,
       hint="aws ec2 modify-vpc-attribute --enable-dns-hostnames '{\"Value\":true}'")
def vpc_ready(aws: ReadOnlyAws, p: VpcParams) -> Result:
    vpc, label = find_vpc(aws, p.vpc, p.cidr)
    if vpc is None:
        return missing_vpc(aws, p.vpc, p.cidr)
    if p.cidr and vpc.get("CidrBlock") != p.cidr:
        return failed(f"{label} has CIDR {vpc.get('CidrBlock')}, not {p.cidr}.",
                      expected=f"CIDR block {p.cidr}", actual=str(vpc.get("CidrBlock")))
    off = []
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"),
                           ("enableDnsHostnames", "EnableDnsHostnames")):
        answer = aws.ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)
        if not answer.get(key, {}).get("Value"):
            off.append(attribute)
    if off:
        return failed(
            f"{label} has {' and '.join(off)} off: nodes cannot resolve the cluster's private "
            "endpoint or get DNS names, so they would not register with EKS.",
            expected="enableDnsSupport and enableDnsHostnames both true",
            actual=", ".join(f"{a} false" for a in off))
    return passed(f"{label} has CIDR {vpc.get('CidrBlock')}, DNS support and DNS hostnames "
                  "on.")


class SubnetsParams(Params):
    vpc: str = Field(description="the VPC's Name tag")
    cidr: str | None = None
    zones: int = Field(default=2, ge=1, description="distinct Availability Zones needed")
    tag: str | None = Field(default=None, description="tag every such subnet must carry")


def _zones(views: list[SubnetView]) -> list[str]:
    return sorted({v.zone for v in views})


def _untagged(views: list[SubnetView], tag: str) -> list[SubnetView]:
    return [v for v in views if v.tags.get(tag) not in TAG_VALUES]


@check("subnets.public_subnets", title="Public subnets in two AZs, tagged for internet-facing "
       "load balancers", params=SubnetsParams,
       hint="A public subnet's route table sends 0.0.0.0/0 to an internet gateway.")
def public_subnets(aws: ReadOnlyAws, p: SubnetsParams) -> Result:
    tag = p.tag or ELB_TAG
    vpc, label = find_vpc(aws, p.vpc, p.cidr)
    if vpc is None:
        return missing_vpc(aws, p.vpc, p.cidr)
    views = subnet_views(aws, vpc["VpcId"])
    # A subnet tagged for internal load balancers is meant to be private; if it routes to an
    # internet gateway, private_subnets names that cause, so it is not judged here as public.
    public = [v for v in views if v.public
              and (p.tag or v.tags.get(INTERNAL_ELB_TAG) not in TAG_VALUES)]
    if not public:
        fake = [v.label for v in views if v.tags.get(tag) in TAG_VALUES]
        extra = (f"; {', '.join(fake)} carry {tag} but have no route to an internet gateway"
                 if fake else "")
        return failed(
            f"{label} has no public subnet: no subnet's route table has a route to an internet "
            f"gateway{extra}.",
            expected=f"subnets in {p.zones} AZs whose route table sends 0.0.0.0/0 to an "
                     "internet gateway attached to the VPC",
            actual=f"{len(views)} subnet(s), all private" if views else "no subnets")
    zones = _zones(public)
    if len(zones) < p.zones:
        return failed(
            f"The public subnets of {label} are in {len(zones)} Availability Zone(s) "
            f"({', '.join(zones)}); EKS and load balancers need {p.zones}.",
            expected=f"public subnets in {p.zones} AZs",
            actual="public: " + ", ".join(v.label for v in public))
    untagged = _untagged(public, tag)
    if untagged:
        return failed(
            f"Public subnet(s) {', '.join(v.label for v in untagged)} lack the tag {tag}=1, so "
            "Kubernetes will not place internet-facing load balancers there.",
            expected=f"{tag}=1 on every public subnet",
            actual="untagged: " + ", ".join(v.id for v in untagged))
    return passed(f"{label} has public subnets {', '.join(v.label for v in public)}, "
                  f"tagged {tag}.")


class PrivateSubnetsParams(SubnetsParams):
    nat: bool = Field(default=True, description="require a default route to a NAT gateway")


@check("subnets.private_subnets", title="Private subnets in two AZs, tagged for internal load "
       "balancers", params=PrivateSubnetsParams,
       hint="A private subnet has no route to an internet gateway; it reaches out via NAT.")
def private_subnets(aws: ReadOnlyAws, p: PrivateSubnetsParams) -> Result:
    tag = p.tag or INTERNAL_ELB_TAG
    vpc, label = find_vpc(aws, p.vpc, p.cidr)
    if vpc is None:
        return missing_vpc(aws, p.vpc, p.cidr)
    views = subnet_views(aws, vpc["VpcId"])
    private = [v for v in views if not v.public]
    misplaced = [v for v in views if v.public and v.tags.get(tag) in TAG_VALUES]
    if misplaced:
        return failed(
            f"Subnet(s) {', '.join(v.label for v in misplaced)} carry {tag} but are public "
            f"(route table {misplaced[0].route_table} routes to internet gateway "
            f"{misplaced[0].internet_gateway}).",
            expected=f"{tag} only on subnets without a route to an internet gateway",
            actual="; ".join(why_public(v) for v in misplaced))
    zones = _zones(private)
    if len(zones) < p.zones:
        return failed(
            f"{label} has private subnets in {len(zones)} Availability Zone(s)"
            + (f" ({', '.join(zones)})" if zones else "") + f"; nodes need {p.zones}.",
            expected=f"subnets in {p.zones} AZs with no route to an internet gateway",
            actual=("private: " + ", ".join(v.label for v in private)) if private
            else "every subnet routes to an internet gateway" if views else "no subnets")
    untagged = _untagged(private, tag)
    if untagged:
        return failed(
            f"Private subnet(s) {', '.join(v.label for v in untagged)} lack the tag {tag}=1, "
            "so Kubernetes will not place internal load balancers there.",
            expected=f"{tag}=1 on every private subnet",
            actual="untagged: " + ", ".join(v.id for v in untagged))
    if p.nat:
        no_nat = [v for v in private if v.nat_gateway is None]
        if no_nat:
            return failed(
                f"Private subnet(s) {', '.join(v.label for v in no_nat)} have no default route "
                "to a NAT gateway, so nodes there cannot pull images or reach the EKS API.",
                expected="0.0.0.0/0 → a NAT gateway in each private subnet's route table",
                actual=", ".join(f"{v.id}: route table {v.route_table or 'none'}"
                                 for v in no_nat))
    return passed(f"{label} has private subnets {', '.join(v.label for v in private)}, "
                  f"tagged {tag}" + (", with a NAT gateway route." if p.nat else "."))
