"""``dev check`` proves content both ways, and catches a lab that cannot fail or leaks."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from cloudkata.devcheck import dev_check
from cloudkata.labs import Catalogue
from cloudkata.sandbox import manager
from cloudkata.targets import Target

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalogue_is_not_empty() -> None:
    """Every lab's own dev check runs in tests/checks/test_read_only_recording.py, with its
    checks read through a recording proxy (one solve of each family proves both)."""
    assert "ecs-iam-roles" in [lab.id for lab in Catalogue.default().load_all()]


def _copy_lab(tmp_path: Path, edit) -> Catalogue:
    labs = tmp_path / "labs"
    labs.mkdir()
    shutil.copytree(ROOT / "content", tmp_path / "content")
    data = yaml.safe_load((ROOT / "labs" / "ecs-iam-roles.yaml").read_text())
    edit(data)
    (labs / "ecs-iam-roles.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return Catalogue(labs, tmp_path / "content")


def test_a_check_that_already_passes_before_its_step_is_reported(
    sandbox: Target, labs_home: Path, tmp_path: Path
) -> None:
    def recheck_step_one_in_step_two(data: dict) -> None:
        data["steps"][1]["checks"].append(data["steps"][0]["checks"][0])

    verdicts = dev_check(_copy_lab(tmp_path, recheck_step_one_in_step_two), None, sandbox)
    assert any("step execution-role: iam.role_trusts_service is passed before the solution"
               in problem for problem in verdicts[0].problems), verdicts[0].problems


POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"


def test_mistakes_finished_lab_and_teardown_are_each_proven(
    sandbox: Target, labs_home: Path, tmp_path: Path
) -> None:
    """One run of an edited lab: mistakes not caught, caught by another check or in other
    words are named; a later step undoing an earlier one and a leaky teardown are reported."""
    def break_it(data: dict) -> None:
        trust_ecs_tasks = ["aws iam update-assume-role-policy --role-name {instance_role} "
                           "--policy-document file://ecs-tasks-trust.json"]
        for step in data["steps"]:
            step.pop("mistakes", None)
        data["steps"][0]["mistakes"] = [
            {"name": "caught", "commands": trust_ecs_tasks,
             "caught_by": "iam.role_trusts_service", "says": r"ec2\.amazonaws\.com"},
            {"name": "harmless", "caught_by": "iam.role_trusts_service", "says": "x",
             "commands": ["aws iam tag-role --role-name {instance_role} --tags Key=a,Value=b"]},
            {"name": "elsewhere", "caught_by": "iam.role_trusts_service", "says": "x",
             "commands": ["aws iam remove-role-from-instance-profile --instance-profile-name "
                          "{instance_profile} --role-name {instance_role}"]},
            {"name": "other words", "commands": trust_ecs_tasks,
             "caught_by": "iam.role_trusts_service", "says": "banana"},
        ]
        data["steps"][3]["solution"].append(
            "aws iam detach-role-policy --role-name {instance_role} --policy-arn " + POLICY)
        data["teardown"] = [line for line in data["teardown"] if "kata-app-task-role" not in line
                            and "{task_role}" not in line]

    verdict = dev_check(_copy_lab(tmp_path, break_it), None, sandbox)[0]
    problems = "\n".join(verdict.problems)
    assert (verdict.mistakes.caught, verdict.mistakes.total) == (1, 4)
    assert "mistake 'caught'" not in problems
    assert "mistake 'harmless': no check of the step fails" in problems
    assert ("mistake 'elsewhere': iam.role_trusts_service passes; it is caught only by "
            "iam.instance_profile_contains_role") in problems
    assert "mistake 'other words': iam.role_trusts_service fails, but not saying /banana/" \
        in problems
    assert ("finished lab: step instance-role: iam.role_has_managed_policy is failed"
            in problems)
    assert "teardown left behind: iam role kata-app-task-role" in problems


def test_static_problems_name_the_missing_check_and_file(tmp_path: Path) -> None:
    def break_references(data: dict) -> None:
        data["steps"][0].pop("mistakes", None)  # they name the check renamed here
        data["steps"][0]["checks"][0]["use"] = "iam.no_such_check"
        data["steps"][1]["text"] = "ecs-iam-roles/missing.md"

    verdicts = dev_check(_copy_lab(tmp_path, break_references), None, None)
    problems = "\n".join(verdicts[0].problems)
    assert "No check is registered as 'iam.no_such_check'" in problems
    assert "content file ecs-iam-roles/missing.md does not exist" in problems


def test_solve_fast_forwards_the_sandbox_by_the_steps_settle_time(
    sandbox: Target, labs_home: Path, tmp_path: Path
) -> None:

    from cloudkata.engine import LabSession

    def settle_step_one(data: dict) -> None:
        data["steps"][0]["settle"] = 120

    catalogue = _copy_lab(tmp_path, settle_step_one)
    session = LabSession(catalogue.load("ecs-iam-roles"), sandbox, catalogue)

    def now() -> float:
        clock = manager.clock(sandbox.endpoint_url)
        assert clock is not None
        return float(clock["now"])

    before = now()
    assert all(result.ok for result in session.solve(session.lab.steps[0]))
    assert now() - before == 120
