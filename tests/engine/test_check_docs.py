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


def test_dev_checks_lists_one_or_a_prefix_and_refuses_unknown_names() -> None:
    import json

    from click.testing import CliRunner

    from cloudkata.cli import main

    out = CliRunner().invoke(main, ["dev", "checks", "iam.role_trusts_service"]).output
    assert out.startswith("iam.role_trusts_service — The role trusts the right service")
    assert "reads: iam:GetRole" in out and "used by: ecs-iam-roles/instance-role" in out
    listed = json.loads(CliRunner().invoke(main, ["dev", "checks", "ecs.", "--json"]).output)
    assert listed and all(doc["id"].startswith("ecs.") for doc in listed)
    refused = CliRunner().invoke(main, ["dev", "checks", "nope"])
    assert refused.exit_code == 2 and "No check is named nope" in refused.output
