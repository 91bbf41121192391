"""`cloudkata dev checks` is generated from the registry, the checks' source and the labs."""

from __future__ import annotations

from cloudkata.check_docs import check_docs, reads_of, render_text
from cloudkata.checks import all_checks
from cloudkata.checks.session import READ_VERBS
from cloudkata.labs import Catalogue


def test_every_check_is_documented_with_what_it_reads_and_an_example() -> None:
    docs = {doc.id: doc for doc in check_docs(Catalogue.default())}
    assert set(docs) == set(all_checks())
    role = docs["iam.role_trusts_service"]
    assert [p.name for p in role.params][:2] == ["role", "service"]
    assert "iam:GetRole" in role.reads
    assert role.example and "use: iam.role_trusts_service" in role.example
    assert "ecs-iam-roles/instance-role" in role.used_by
    for doc in docs.values():
        assert doc.example and f"use: {doc.id}" in doc.example
        for read in doc.reads:
            operation = read.split(":", 1)[1]
            assert operation.startswith(READ_VERBS), f"{doc.id} reads with {read}"


def test_reads_follow_helpers_across_modules() -> None:
    """The check calls a helper that lists the attached policies."""
    spec = all_checks()["iam.role_has_managed_policy"]
    assert "iam:ListAttachedRolePolicies" in reads_of(spec.function)


def test_the_text_names_parameters_defaults_and_reads() -> None:
    text = render_text(check_docs(Catalogue.default()))
    assert "iam.role_trusts_service — " in text
    assert "  reads: " in text and "  example:" in text
