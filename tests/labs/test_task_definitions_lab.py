"""The task-definitions lab: sound content, and the fixed host port mistake named as a port
conflict by the lab's own checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudkata.checks import Status
from cloudkata.devcheck import static_problems
from cloudkata.engine import LabSession
from cloudkata.labs import Catalogue
from cloudkata.targets import Target
from tests.checks.test_ecs import LOG_GROUP, build_capacity, logs, register
from tests.sandbox.test_ec2_autoscaling import Aws, clients


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def test_the_lab_is_sound_without_aws(catalogue: Catalogue) -> None:
    lab = catalogue.load("task-definitions")
    assert static_problems(catalogue, lab) == []
    assert lab.requires == ["ecs-iam-roles", "ecs-cluster"]
    assert 4 <= len(lab.quiz) <= 8
    assert lab.variables["family"] == "kata-web" and lab.variables["log_group"] == LOG_GROUP
    assert lab.step("run-task").settle >= 10


def test_the_starter_file_is_a_valid_definition_with_the_draft_port(
        catalogue: Catalogue, sandbox: Target, labs_home: Path) -> None:
    lab = LabSession(catalogue.load("task-definitions"), sandbox, catalogue)
    draft = json.loads((lab.workspace / "kata-web.json").read_text())
    container = draft["containerDefinitions"][0]
    assert draft["executionRoleArn"] == "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    assert container["portMappings"] == [{"containerPort": 80, "hostPort": 80,
                                          "protocol": "tcp"}]
    assert container["logConfiguration"]["options"]["awslogs-group"] == LOG_GROUP


def test_mistake_fixed_host_port_with_two_tasks_per_instance(
        catalogue: Catalogue, sandbox: Target, aws: Aws, labs_home: Path) -> None:
    build_capacity(aws)
    aws.advance(70)
    lab = LabSession(catalogue.load("task-definitions"), sandbox, catalogue)
    logs(sandbox).create_log_group(logGroupName=LOG_GROUP)
    draft = json.loads((lab.workspace / "kata-web.json").read_text())  # hostPort 80, as given
    aws.ecs.register_task_definition(**draft)
    answer = aws.ecs.run_task(cluster="kata-cluster", taskDefinition="kata-web", count=4)
    assert len(answer["tasks"]) == 2
    assert [f["reason"] for f in answer["failures"]] == ["RESOURCE:PORTS"] * 2
    aws.advance(15)

    definition = lab.check(lab.step("task-definition"))
    result = next(r for r in definition.results if r.check_id == "ecs.task_definition")
    assert result.status is Status.FAILED
    assert "fixed host port 80: only one such task fits on an instance" in result.message

    task = lab.check(lab.step("run-task")).results[0]
    assert task.status is Status.FAILED
    assert "2 kata-web tasks on kata-cluster bind fixed host port 80" in task.message
    assert "port conflict" in task.message and "RESOURCE:PORTS" in task.message


def test_dynamic_ports_let_tasks_share_an_instance(
        sandbox: Target, aws: Aws, catalogue: Catalogue, labs_home: Path) -> None:
    build_capacity(aws)
    aws.advance(70)
    register(aws, memory=128)
    answer = aws.ecs.run_task(cluster="kata-cluster", taskDefinition="kata-web", count=4)
    assert answer["failures"] == []
    aws.advance(15)
    lab = LabSession(catalogue.load("task-definitions"), sandbox, catalogue)
    assert lab.check(lab.step("run-task")).passed
