"""The alb-service lab end to end on the sandbox: every step fails before its solution and
passes after it, the teardown leaves nothing; and the lab's checks pass on the same end state
deployed through CloudFormation with generated names.

The prerequisite labs' state is built with boto3 (tests/checks/test_ecs_services.Kata), so this
runs without them; ``cloudkata dev check alb-service`` covers the real chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cloudkata import inventory
from cloudkata.checks.result import Status
from cloudkata.engine import LabSession, check_step, run_check
from cloudkata.labs import Catalogue, Lab
from cloudkata.targets import Target

from ..checks.test_ecs_services import Kata

TEMPLATE = Path(__file__).parent / "cfn" / "alb-service.yaml"


def session(sandbox: Target, lab_id: str) -> LabSession:
    catalogue = Catalogue.default()
    lab = LabSession(catalogue.load(lab_id), sandbox, catalogue)
    lab.reset_workspace()
    return lab


def play(lab: LabSession) -> list[str]:
    """What ``dev check`` does for one lab: fail before, solve, pass after, teardown clean."""
    problems: list[str] = []
    services = inventory.services_used([*lab.lab.teardown,
                                        *(line for s in lab.lab.steps for line in s.solution)])
    before = inventory.take(lab.aws, services)
    for step in lab.lab.steps:
        early = [r for r in check_step(lab.aws, step).results if r.status is not Status.FAILED]
        problems += [f"{step.id}: {r.check_id} {r.status.value} before: {r.message}"
                     for r in early]
        for result in lab.solve(step):
            if not result.ok:
                return [*problems, f"{step.id}: `{result.command}` failed: {result.output}"]
        late = [r for r in check_step(lab.aws, step).results if r.status is not Status.PASSED]
        problems += [f"{step.id}: {r.check_id} {r.status.value} after: {r.message}"
                     for r in late]
    problems += [f"teardown `{r.command}`: {r.output}" for r in lab.teardown() if not r.ok]
    left = inventory.take(lab.aws, services) - before
    if left:
        problems.append("left behind: " + ", ".join(sorted(left)))
    return problems


def _end_state_checks(lab: Lab) -> list[Any]:
    """Every check of the lab, a later step's replacing an earlier one about the same thing
    (step 7's 4 tasks supersede step 5's 2)."""
    chosen: dict[tuple[Any, ...], Any] = {}
    for step in lab.steps:
        for ref in step.checks:
            key = (ref.use, ref.with_.get("service"), ref.with_.get("target_group"),
                   ref.with_.get("group"))
            chosen[key] = ref
    return list(chosen.values())


def deploy_stack(kata: Kata) -> dict[str, str]:
    """The template, with the settings the sandbox's CloudFormation drops from
    AWS::ECS::Service (LoadBalancers, HealthCheckGracePeriodSeconds, DeploymentConfiguration)
    applied afterwards from the template itself with update-service."""
    body = TEMPLATE.read_text()
    kata.cloudformation.create_stack(StackName="kata-alb", TemplateBody=body, Parameters=[
        {"ParameterKey": "VpcId", "ParameterValue": kata.vpc},
        {"ParameterKey": "Subnets", "ParameterValue": ",".join(kata.subnets)},
        {"ParameterKey": "InstanceSecurityGroup", "ParameterValue": kata.ids["instances"]}])
    stack = kata.cloudformation.describe_stacks(StackName="kata-alb")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
                kata.cloudformation.list_stack_resources(
                    StackName="kata-alb")["StackResourceSummaries"]}
    resources = yaml.safe_load(body)["Resources"]
    for logical in ("WebService", "ApiService", "AuthService"):
        props = resources[logical]["Properties"]
        balancers = [{"targetGroupArn": physical[b["TargetGroupArn"]["Ref"]],
                      "containerName": b["ContainerName"], "containerPort": b["ContainerPort"]}
                     for b in props["LoadBalancers"]]
        extra: dict[str, Any] = {}
        if "DeploymentConfiguration" in props:
            extra["deploymentConfiguration"] = {
                "minimumHealthyPercent": props["DeploymentConfiguration"]["MinimumHealthyPercent"],
                "maximumPercent": props["DeploymentConfiguration"]["MaximumPercent"]}
        kata.ecs.update_service(
            cluster="kata-cluster", service=physical[logical].rsplit("/", 1)[-1],
            loadBalancers=balancers,
            healthCheckGracePeriodSeconds=props["HealthCheckGracePeriodSeconds"], **extra)
    kata.advance(60)
    return physical


def test_the_checks_pass_on_the_end_state_made_by_cloudformation(sandbox: Target) -> None:
    kata = Kata(sandbox).prerequisites()
    physical = deploy_stack(kata)
    names = [physical[n].rsplit("/", 1)[-1] for n in ("WebService", "ApiService")]
    assert "web" not in names and "api" not in names  # discovery, not names, is being tested
    catalogue = Catalogue.default()
    lab = LabSession(catalogue.load("alb-service"), sandbox, catalogue).lab
    aws = sandbox.read_only()
    results = [run_check(aws, ref.use, ref.with_, ref.points) for ref in _end_state_checks(lab)]
    failures = [f"{r.check_id}: {r.message}" for r in results if not r.passed]
    assert failures == []
    assert len(results) >= 14
