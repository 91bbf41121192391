"""VPC checks against the real sandbox: the load balancer's group admits the internet on 80, the
instances' group admits only the load balancer's group on the dynamic port range."""

from __future__ import annotations

import pytest

from cloudkata.checks import Status
from cloudkata.targets import Target

from .test_ecs_services import Kata, run

ADMITS = {"group": "kata-instances-sg", "from_port": 32768, "to_port": 65535,
          "source": "kata-alb-sg", "cluster": "kata-cluster", "source_load_balancer": "kata-alb"}


@pytest.fixture
def kata(sandbox: Target) -> Kata:
    return Kata(sandbox).cluster()


# --- security_group_ingress ------------------------------------------------------------------


def test_ingress_passes(sandbox: Target, kata: Kata) -> None:
    kata.security_groups()
    result = run(sandbox, "vpc.security_group_ingress", group="kata-alb-sg", port=80)
    assert result.status is Status.PASSED, result.message


def test_ingress_fails_for_a_missing_group(sandbox: Target, kata: Kata) -> None:
    result = run(sandbox, "vpc.security_group_ingress", group="kata-alb-sg", port=80)
    assert result.status is Status.FAILED
    assert result.message == "Security group kata-alb-sg does not exist."


def test_ingress_fails_when_the_port_is_not_open(sandbox: Target, kata: Kata) -> None:
    group = kata.security_group("kata-alb-sg")
    kata.allow(group, 443, 443, cidr="0.0.0.0/0")
    result = run(sandbox, "vpc.security_group_ingress", group="kata-alb-sg", port=80)
    assert result.status is Status.FAILED
    assert result.message == "Security group kata-alb-sg does not admit TCP 80 from 0.0.0.0/0."
    assert result.actual == "admits 443 from 0.0.0.0/0"


def test_ingress_discovers_the_load_balancers_generated_group(sandbox: Target,
                                                              kata: Kata) -> None:
    kata.ids["alb_sg"] = kata.security_group("stack-AlbSG-1XYZ")
    kata.allow(kata.ids["alb_sg"], 80, 80, cidr="0.0.0.0/0")
    kata.load_balancer()
    result = run(sandbox, "vpc.security_group_ingress", group="kata-alb-sg", port=80,
                 load_balancer="kata-alb")
    assert result.status is Status.PASSED, result.message
    assert "stack-AlbSG-1XYZ" in result.message


# --- security_group_admits_group -------------------------------------------------------------


def test_admits_group_passes(sandbox: Target, kata: Kata) -> None:
    kata.security_groups()
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.PASSED, result.message
    assert result.message == ("Security group kata-instances-sg admits TCP 32768-65535 from "
                              "kata-alb-sg only.")


def test_admits_group_fails_naming_the_group_and_the_range(sandbox: Target,
                                                           kata: Kata) -> None:
    kata.security_groups(instance_range=None)
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.FAILED
    assert result.message.startswith(
        "Security group kata-instances-sg does not admit kata-alb-sg on TCP 32768-65535:")
    assert result.actual == "admits nothing (no ingress rules)"


def test_admits_group_fails_when_only_port_80_is_open(sandbox: Target, kata: Kata) -> None:
    kata.security_groups(instance_range=(80, 80))
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.FAILED
    assert "; it admits only 80 from it" in result.message
    assert result.actual == "admits 80 from kata-alb-sg"


def test_admits_group_fails_when_the_range_is_open_to_the_internet(sandbox: Target,
                                                                   kata: Kata) -> None:
    kata.security_groups()
    kata.allow(kata.ids["instances"], 32768, 65535, cidr="0.0.0.0/0")
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.FAILED
    assert "but also 0.0.0.0/0" in result.message


def test_admits_group_discovers_generated_names(sandbox: Target, kata: Kata) -> None:
    """Both groups named by CloudFormation: the source through the load balancer, the target
    through the cluster's container instances."""
    kata.ids["alb_sg"] = kata.security_group("stack-AlbSG-1XYZ")
    kata.load_balancer()
    kata.allow(kata.ids["instances"], 32768, 65535, source=kata.ids["alb_sg"])
    params = dict(ADMITS, group="no-such-sg", source="no-such-alb-sg")
    result = run(sandbox, "vpc.security_group_admits_group", **params)
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith(
        "Security group kata-instances-sg (found by discovery: there is no group no-such-sg; "
        "kata-instances-sg is the group of the cluster's instances that admits it; there is no "
        "group no-such-alb-sg; stack-AlbSG-1XYZ is what load balancer kata-alb carries)")
    assert result.message.endswith("admits TCP 32768-65535 from stack-AlbSG-1XYZ only.")


def test_ingress_discovery_never_takes_the_instances_group(sandbox: Target,
                                                           kata: Kata) -> None:
    """The load balancer carries the instances' group by mistake: discovery does not take that
    group for the missing load balancer's group, since the lab names it for the instances."""
    kata.ids["alb_sg"] = kata.ids["instances"]
    kata.allow(kata.ids["instances"], 80, 80, cidr="0.0.0.0/0")
    kata.load_balancer()
    params = {"group": "kata-alb-sg", "port": 80, "load_balancer": "kata-alb"}
    result = run(sandbox, "vpc.security_group_ingress", **params,
                 exclude=["kata-instances-sg"])
    assert result.status is Status.FAILED
    assert result.message == "Security group kata-alb-sg does not exist."
    result = run(sandbox, "vpc.security_group_ingress", **params)
    assert result.status is Status.PASSED, result.message
    assert "(found by discovery: there is no group kata-alb-sg;" in result.message


def test_admits_group_discovery_never_takes_the_vpc_default_group(sandbox: Target,
                                                                  kata: Kata) -> None:
    """No group of the lab's name, and the load balancer carries only the VPC's default group:
    that group belongs to the VPC, so there is no load balancer group to judge."""
    default = kata.ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["default"]},
        {"Name": "vpc-id", "Values": [kata.vpc]}])["SecurityGroups"][0]["GroupId"]
    kata.ids["alb_sg"] = default
    kata.load_balancer()
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.FAILED
    assert result.message == "Security group kata-alb-sg does not exist."


def test_admits_group_fails_when_the_range_is_open_to_the_internet_instead(
        sandbox: Target, kata: Kata) -> None:
    """A CIDR where the load balancer's group belongs: health checks pass, but anyone can
    reach the tasks, so the check says that rather than "health checks time out"."""
    kata.security_groups(instance_range=None)
    kata.allow(kata.ids["instances"], 32768, 65535, cidr="0.0.0.0/0")
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.FAILED
    assert result.message.startswith("Security group kata-instances-sg admits TCP 32768-65535 "
                                     "from 0.0.0.0/0 instead of from kata-alb-sg: anyone can "
                                     "reach the tasks without the load balancer.")


def test_admits_group_names_the_group_itself_as_a_source(sandbox: Target, kata: Kata) -> None:
    kata.security_groups(instance_range=None)
    kata.allow(kata.ids["instances"], 32768, 65535, source=kata.ids["instances"])
    result = run(sandbox, "vpc.security_group_admits_group", **ADMITS)
    assert result.status is Status.FAILED
    assert result.actual == "admits 32768-65535 from kata-instances-sg"
