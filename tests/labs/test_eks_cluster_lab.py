"""The eks-cluster lab end to end on a frozen sandbox, and the mistakes it must name.

``dev check`` proves the same fail-before/pass-after, but it does not advance the clock during
the teardown (EKS deletions take simulated time) and its inventory does not read EKS or VPC
resources; this test does both, so a leaked cluster, NAT gateway or subnet fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudkata.checks.result import Status
from cloudkata.devcheck import static_problems
from cloudkata.engine import LabSession, check_step
from cloudkata.labs import Catalogue
from cloudkata.targets import Target

from ..checks.test_eks import World, trust
from ..checks.test_subnets import build_network, client

LAB = "eks-cluster"


@pytest.fixture
def session(sandbox: Target, labs_home: Path) -> LabSession:
    catalogue = Catalogue.default()
    return LabSession(catalogue.load(LAB), sandbox, catalogue, in_process_aws=True)


def test_the_lab_is_statically_sound() -> None:
    catalogue = Catalogue.default()
    assert static_problems(catalogue, catalogue.load(LAB)) == []


def test_a_node_role_missing_the_cni_policy_is_named(session: LabSession,
                                                     sandbox: Target) -> None:
    iam = client(sandbox, "iam")
    iam.create_role(RoleName="kataEksNodeRole", AssumeRolePolicyDocument=trust(
        "ec2.amazonaws.com"))
    for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"):
        iam.attach_role_policy(RoleName="kataEksNodeRole",
                               PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
    results = check_step(session.aws, session.step("node-role")).results
    failures = [r for r in results if r.status is Status.FAILED]
    assert len(failures) == 1
    assert "AmazonEKS_CNI_Policy" in failures[0].message
    assert "kataEksNodeRole" in failures[0].message


def _world(sandbox: Target) -> World:
    ec2 = client(sandbox, "ec2")
    return World(sandbox, build_network(ec2), client(sandbox, "eks"), ec2,
                 client(sandbox, "iam"), client(sandbox, "ssm"),
                 client(sandbox, "autoscaling"))


def test_a_fargate_profile_on_public_subnets_is_refused_and_named(session: LabSession,
                                                                  sandbox: Target) -> None:
    world = _world(sandbox)
    world.cluster()
    arn = world.role("kataEksFargatePodRole", "eks-fargate-pods.amazonaws.com")
    public = world.network.public
    answer = session.run(f"aws eks create-fargate-profile --cluster-name kata-eks "
                         f"--fargate-profile-name kata-fargate --pod-execution-role-arn {arn} "
                         f"--subnets {' '.join(public)} --selectors namespace=kata-apps")
    assert not answer.ok
    assert "InvalidParameterException" in answer.output
    assert f"Subnet {public[0]} provided in Fargate Profile is not a private subnet" \
        in answer.output


def test_a_fargate_profile_whose_subnet_became_public_is_named(session: LabSession,
                                                               sandbox: Target) -> None:
    world = _world(sandbox)
    world.cluster()
    world.fargate()
    world.iam.attach_role_policy(
        RoleName="kataEksFargatePodRole",
        PolicyArn="arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy")
    world.advance(30)
    step = session.step("fargate-profile")
    assert check_step(session.aws, step).passed
    assert world.network.private_rt
    world.ec2.replace_route(RouteTableId=world.network.private_rt,
                            DestinationCidrBlock="0.0.0.0/0", GatewayId=world.network.igw)
    results: list[Any] = check_step(session.aws, step).results
    failures = [r for r in results if r.status is Status.FAILED]
    assert [r.check_id for r in failures] == ["eks.fargate_profile"]
    assert world.network.private[0] in failures[0].message
    assert "are public" in failures[0].message
