"""The service-autoscaling lab as content: sound on its own, and its solutions really scale.

The live test starts from the state the prerequisite labs leave (built with boto3 here, so it
does not depend on them: kata-cluster with two container instances, kata-web, service web
with 4 tasks behind kata-web-tg), then runs each step as ``dev check`` does: its checks fail
before the solution and pass after it, with the step's settle time fast-forwarded.
``cloudkata sandbox load`` in the solutions finds this worker's sandbox through CLOUDKATA_HOME.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudkata.devcheck import static_problems
from cloudkata.labs import Catalogue

LAB = "service-autoscaling"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


def test_the_lab_is_statically_sound(catalogue: Catalogue) -> None:
    lab = catalogue.load(LAB)
    problems = [p for p in static_problems(catalogue, lab)
                if "which is not in the catalogue" not in p]  # prerequisites are other labs
    assert problems == []
    assert lab.requires == ["alb-service"]


def test_steps_quiz_and_teardown_follow_the_contract(catalogue: Catalogue) -> None:
    lab = catalogue.load(LAB)
    assert [s.id for s in lab.steps] == ["scalable-target", "target-tracking", "step-scaling",
                                         "scheduled", "apply-load", "remove-load"]
    assert 4 <= len(lab.quiz) <= 8
    for step in lab.steps:
        assert 2 <= len(step.hints) <= 4, step.id
        assert step.checks and step.solution
    checks = {ref.use for step in lab.steps for ref in step.checks}
    assert {"appautoscaling.scalable_target", "appautoscaling.target_tracking_policy",
            "appautoscaling.step_scaling_policy", "cloudwatch.alarm_watches_metric",
            "cloudwatch.alarm_triggers_policy", "appautoscaling.scheduled_action",
            "appautoscaling.scaled_out", "appautoscaling.scaled_in"} == checks
    load = lab.step("apply-load")
    assert "cloudkata sandbox load {service} --cluster {cluster} --cpu 85" in load.solution
    assert any("--cpu 10" in line for line in lab.step("remove-load").solution)
    # teardown: scheduled actions and the alarm before the policies, the target last
    teardown = " ".join(lab.teardown)
    assert teardown.index("delete-alarms") < teardown.index("delete-scaling-policy")
    assert lab.teardown[-1].startswith("aws application-autoscaling deregister-scalable-target")
    assert not any("cloudkata sandbox" in line for line in lab.teardown)  # fair on AWS


def test_every_content_file_names_only_known_variables(catalogue: Catalogue) -> None:
    lab = catalogue.load(LAB)
    known = set(lab.variables) | {"region", "account_id"}
    folder = Path(catalogue.content_path("service-autoscaling/concepts.md")).parent
    for path in folder.glob("*.md"):
        names = set(re.findall(r"(?<!\$)\{([a-z_]+)\}", path.read_text()))
        assert names <= known, (path.name, names - known)
