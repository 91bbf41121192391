"""The eks-storage lab on paper. On the sandbox it is proven, step by step and with the
mistakes its workspace drafts carry, by its family's dev check in
``tests/checks/test_read_only_recording.py`` (one solve of eks-cluster + eks-storage).
"""

from __future__ import annotations

import pytest

from cloudkata.devcheck import static_problems
from cloudkata.labs import Catalogue

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
