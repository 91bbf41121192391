"""The eks-storage lab: sound on paper, and on the sandbox from the eks-cluster end state.

The prerequisite state is built with boto3 (``build_eks``), which is much faster than
fast-forwarding the eks-cluster lab; ``test_every_lab_in_the_catalogue_is_sound`` runs the
real ``dev check`` with the prerequisite lab as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudkata.checks import Status
from cloudkata.devcheck import static_problems
from cloudkata.engine import LabSession, check_step
from cloudkata.labs import Catalogue
from cloudkata.targets import Target
from tests.checks.test_storage import build_eks

LAB = "eks-storage"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.default()


def test_the_lab_is_sound_on_paper(catalogue: Catalogue) -> None:
    lab = catalogue.load(LAB)
    assert static_problems(catalogue, lab) == []
    assert lab.requires == ["eks-cluster"]
    assert [s.id for s in lab.steps] == ["ebs-csi", "ebs-volume", "efs-file-system", "efs-csi",
                                         "efs-dynamic", "fargate-static"]
    assert all(len(step.hints) >= 2 for step in lab.steps)
    assert 4 <= len(lab.quiz) <= 8
    assert len({q.answer for q in lab.quiz}) > 1, "every answer in the same place teaches nothing"


def test_the_lab_shares_the_eks_cluster_labs_names(catalogue: Catalogue) -> None:
    if "eks-cluster" not in catalogue.ids():
        pytest.skip("eks-cluster is not in the catalogue yet")
    mine, theirs = catalogue.load(LAB).variables, catalogue.load("eks-cluster").variables
    for name in ("cluster", "node_role", "fargate_profile"):
        assert mine[name] == theirs[name], name
    assert mine["fargate_namespace"] == theirs.get("namespace", mine["fargate_namespace"])


def test_each_step_fails_before_and_passes_after_its_solution(
    sandbox: Target, labs_home: Path, catalogue: Catalogue
) -> None:
    """Also: the workspace drafts carry the lab's typical mistakes, and the checks name them
    before the steps that fix them."""
    build_eks(sandbox)
    session = LabSession(catalogue.load(LAB), sandbox, catalogue, in_process_aws=True)
    session.reset_workspace()
    drafts: dict[str, str] = {}
    for step in session.lab.steps:
        before = check_step(session.aws, step)
        assert [r.status for r in before.results] == [Status.FAILED] * len(before.results), (
            step.id, [r.message for r in before.results])
        drafts.update({r.check_id: r.message for r in before.results})
        for result in session.solve(step):
            assert result.ok, (step.id, result.command, result.output[-500:])
        after = check_step(session.aws, step)
        assert after.passed, (step.id, [r.message for r in after.results if not r.passed])
    assert "in-tree provisioner" in drafts["k8s.ebs_storage_class"]
    assert "fs-0123456789abcdef0, which does not exist" in drafts["k8s.efs_storage_class"]
    assert "EBS-backed" in drafts["k8s.fargate_storage"]
    for result in session.teardown():
        assert result.ok, (result.command, result.output[-500:])
    aws = session.aws
    aws.clear_cache()
    assert aws.efs.describe_file_systems()["FileSystems"] == []
    assert aws.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    roles = {r["RoleName"] for r in aws.iam.list_roles()["Roles"]}
    assert not roles & {"kataEbsCsiRole", "kataEfsCsiRole"}
    groups = aws.ec2.describe_security_groups()["SecurityGroups"]
    assert "kata-efs-sg" not in {g["GroupName"] for g in groups}
