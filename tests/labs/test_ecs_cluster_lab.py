"""The ecs-cluster lab: sound content, and feedback that names the cause of the usual mistakes
(built as mistaken state in the sandbox, then judged by the lab's own step checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudkata.checks import Status
from cloudkata.devcheck import static_problems
from cloudkata.engine import LabSession, StepReport
from cloudkata.labs import Catalogue
from cloudkata.targets import Target
from tests.checks.test_ecs import build_capacity
from tests.sandbox.test_ec2_autoscaling import Aws, clients


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def session(catalogue: Catalogue, sandbox: Target) -> LabSession:
    return LabSession(catalogue.load("ecs-cluster"), sandbox, catalogue)


def check(lab: LabSession, step_id: str) -> StepReport:
    return lab.check(lab.step(step_id))


def message(report: StepReport, check_id: str) -> str:
    result = next(r for r in report.results if r.check_id == check_id)
    assert result.status is Status.FAILED, result.message
    return result.message


def test_the_lab_is_sound_without_aws(catalogue: Catalogue) -> None:
    lab = catalogue.load("ecs-cluster")
    assert static_problems(catalogue, lab) == []
    assert lab.requires == ["ecs-iam-roles"]
    assert 4 <= len(lab.quiz) <= 8
    assert [s.id for s in lab.steps] == ["cluster", "instance-sg", "launch-template", "asg",
                                         "capacity-provider", "instances"]
    assert lab.steps[-1].settle >= 70


def test_shared_names_match_the_contract(catalogue: Catalogue) -> None:
    variables = catalogue.load("ecs-cluster").variables
    assert {k: variables[k] for k in ("cluster", "launch_template", "asg", "instance_sg",
                                      "capacity_provider", "instance_profile")} == {
        "cluster": "kata-cluster", "launch_template": "kata-ecs-lt", "asg": "kata-ecs-asg",
        "instance_sg": "kata-instances-sg", "capacity_provider": "kata-cp",
        "instance_profile": "ecsInstanceRole"}


def test_the_right_end_state_passes_every_step(
        catalogue: Catalogue, sandbox: Target, aws: Aws, labs_home: Path) -> None:
    build_capacity(aws)
    aws.advance(70)
    lab = session(catalogue, sandbox)
    for step in lab.lab.steps:
        report = lab.check(step)
        assert report.passed, [r.message for r in report.results]


def test_mistake_launch_template_without_an_instance_profile(
        catalogue: Catalogue, sandbox: Target, aws: Aws, labs_home: Path) -> None:
    build_capacity(aws, profile=None)
    aws.advance(70)
    lab = session(catalogue, sandbox)
    text = message(check(lab, "launch-template"), "ec2.launch_template_for_ecs")
    assert "no instance profile, so the ECS agent has no credentials" in text
    text = message(check(lab, "instances"), "ecs.instances_registered")
    assert "did not register with kata-cluster" in text
    assert "it has no instance profile, so its ECS agent has no credentials (launch template " \
           "kata-ecs-lt)" in text


def test_mistake_user_data_without_ecs_cluster(
        catalogue: Catalogue, sandbox: Target, aws: Aws, labs_home: Path) -> None:
    lab = session(catalogue, sandbox)
    draft = (lab.workspace / "user-data.sh").read_text()  # the starter, as the learner gets it
    assert "ECS_CLUSTER=kata-cluster" in draft  # the TODO names it, in a comment
    build_capacity(aws, user_data=draft)
    aws.advance(70)
    text = message(check(lab, "launch-template"), "ec2.launch_template_for_ecs")
    assert "user data without ECS_CLUSTER, so the ECS agent joins the cluster named default" \
        in text
    text = message(check(lab, "instances"), "ecs.instances_registered")
    assert "2 of 2 instances of kata-ecs-asg did not register" in text
    assert "user data without ECS_CLUSTER" in text
    # they went where the agent sends them without ECS_CLUSTER, as on AWS
    assert aws.ecs.list_container_instances(cluster="default")["containerInstanceArns"]


def test_mistake_role_without_register_permission(
        catalogue: Catalogue, sandbox: Target, aws: Aws, labs_home: Path) -> None:
    build_capacity(aws, managed_policy=False)
    aws.advance(70)
    text = message(check(session(catalogue, sandbox), "instances"), "ecs.instances_registered")
    assert "role ecsInstanceRole may not call ecs:RegisterContainerInstance" in text


def test_the_solution_user_data_is_what_the_agent_reads(catalogue: Catalogue) -> None:
    step = catalogue.load("ecs-cluster").step("launch-template")
    assert "ECS_CLUSTER={cluster} >> /etc/ecs/ecs.config" in step.solution[0]
    assert "base64 < user-data.sh" in step.solution[1]
