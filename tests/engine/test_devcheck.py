"""``dev check`` proves content both ways, and catches a lab that cannot fail or leaks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cloudkata.devcheck import dev_check
from cloudkata.labs import Catalogue
from cloudkata.sandbox import manager
from cloudkata.targets import Target

ROOT = Path(__file__).resolve().parents[2]


def _families() -> list[list[str]]:
    """Labs grouped by prerequisites (connected components), so each family runs on one
    worker and reuses its own end states, while families run in parallel."""
    labs = {lab.id: lab for lab in Catalogue.default().load_all()}
    family_of = {lab_id: {lab_id} for lab_id in labs}
    for lab in labs.values():
        for required in lab.requires:
            merged = family_of[lab.id] | family_of.get(required, set())
            for member in merged:
                family_of[member] = merged
    families = {frozenset(family) for family in family_of.values()}
    return sorted(sorted(family) for family in families)


@pytest.mark.parametrize("family", _families(), ids=lambda family: "+".join(family))
def test_every_lab_in_the_catalogue_is_sound(family: list[str], sandbox: Target,
                                             labs_home: Path) -> None:
    verdicts = dev_check(Catalogue.default(), family, sandbox)
    assert {v.lab_id: v.problems for v in verdicts} == {lab_id: [] for lab_id in family}


def test_the_catalogue_is_not_empty() -> None:
    assert "ecs-iam-roles" in [lab_id for family in _families() for lab_id in family]


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


def test_a_teardown_that_leaks_is_reported(sandbox: Target, labs_home: Path,
                                           tmp_path: Path) -> None:
    def forget_the_task_role(data: dict) -> None:
        data["teardown"] = [line for line in data["teardown"] if "kata-app-task-role" not in line
                            and "{task_role}" not in line]

    verdicts = dev_check(_copy_lab(tmp_path, forget_the_task_role), None, sandbox)
    assert any("teardown left behind: iam role kata-app-task-role" in problem
               for problem in verdicts[0].problems), verdicts[0].problems


def test_static_problems_name_the_missing_check_and_file(tmp_path: Path) -> None:
    def break_references(data: dict) -> None:
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
