"""Unit tests for the pure IAM policy evaluator (no server, no boto3)."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote

import pytest

from cloudkata.checks.policy import (
    Decision,
    Evaluation,
    broad_grants,
    evaluate,
    matches,
    parse_document,
    resource_breadth,
)

BUCKET = "arn:aws:s3:::kata-bucket"

TIGHT_S3 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET},
    ],
}

# AWS managed policy AmazonEC2ContainerServiceforEC2Role (v10), as shipped with moto.
ECS_FOR_EC2_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeTags",
                "ecs:CreateCluster",
                "ecs:DeregisterContainerInstance",
                "ecs:DiscoverPollEndpoint",
                "ecs:Poll",
                "ecs:RegisterContainerInstance",
                "ecs:StartTelemetrySession",
                "ecs:UpdateContainerInstancesState",
                "ecs:Submit*",
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"ecs:CreateAction": ["CreateCluster", "RegisterContainerInstance"]}
            },
        },
        {
            "Effect": "Allow",
            "Action": ["ecs:ListTagsForResource"],
            "Resource": [
                "arn:aws:ecs:*:*:task/*/*",
                "arn:aws:ecs:*:*:container-instance/*/*",
            ],
        },
    ],
}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: object) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}]}


def deny(action: str | list[str], resource: str | list[str] = "*") -> dict:
    return {"Statement": [{"Effect": "Deny", "Action": action, "Resource": resource}]}


# --- matches ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "s3:GetObject", True),
        ("*", "", True),
        ("s3:*", "s3:GetObject", True),
        ("s3:*", "s3:", True),
        ("s3:*", "ec2:DescribeTags", False),
        ("ecr:Batch*", "ecr:BatchGetImage", True),
        ("ecr:Batch*", "ecr:GetDownloadUrlForLayer", False),
        ("ecs:Submit*", "ecs:SubmitTaskStateChange", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:Getbject", False),
        ("s3:Get?bject", "s3:GetXXbject", False),
        ("s3:GetObject", "s3:GetObjectAcl", False),
        ("s3:Get.bject", "s3:GetObject", False),
        ("ecs:*Task*", "ecs:RunTask", True),
        ("?", "", False),
    ],
)
def test_matches_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value, case_sensitive=False) is expected


def test_star_crosses_colons_and_slashes() -> None:
    pattern = "arn:aws:s3:::my-bucket/*"
    assert matches(pattern, "arn:aws:s3:::my-bucket/a/b/c.txt", case_sensitive=True)
    assert matches(pattern, "arn:aws:s3:::my-bucket/", case_sensitive=True)
    assert not matches(pattern, "arn:aws:s3:::my-bucket", case_sensitive=True)
    assert not matches(pattern, "arn:aws:s3:::other-bucket/key", case_sensitive=True)
    task = "arn:aws:ecs:eu-west-1:123456789012:task/kata/abc"
    assert matches("arn:aws:ecs:*:*:task/*", task, case_sensitive=True)


def test_case_rules() -> None:
    assert matches("S3:getobject", "s3:GetObject", case_sensitive=False)
    assert not matches("S3:getobject", "s3:GetObject", case_sensitive=True)
    assert not matches("arn:aws:s3:::Kata-Bucket", BUCKET, case_sensitive=True)


def test_question_mark_is_exactly_one_character() -> None:
    assert matches("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-1", case_sensitive=True)
    assert not matches("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-12", case_sensitive=True)
    assert not matches("arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-", case_sensitive=True)


# --- evaluate --------------------------------------------------------------------------------


def test_allow_names_the_deciding_statement() -> None:
    result = evaluate([("ReadOnly", allow("s3:GetObject"))], "s3:GetObject")
    assert result == Evaluation(Decision.ALLOWED, "policy ReadOnly, statement 1")
    assert result.allowed


def test_action_comparison_is_case_insensitive() -> None:
    assert evaluate([("p", allow("S3:GETOBJECT"))], "s3:GetObject").allowed
    assert evaluate([("p", allow("s3:getobject"))], "S3:GetObject").allowed


def test_implicit_deny_when_nothing_matches() -> None:
    result = evaluate([("ReadOnly", allow("s3:GetObject"))], "s3:PutObject")
    assert result == Evaluation(Decision.IMPLICIT_DENY, None)
    assert not result.allowed


def test_no_policies_is_implicit_deny() -> None:
    assert evaluate([], "ecs:Poll").decision is Decision.IMPLICIT_DENY


def test_explicit_deny_beats_allow_in_any_order() -> None:
    policies = [("AllowAll", allow("*")), ("NoDelete", deny("s3:Delete*"))]
    for ordered in (policies, list(reversed(policies))):
        result = evaluate(ordered, "s3:DeleteObject")
        assert result == Evaluation(Decision.EXPLICIT_DENY, "policy NoDelete, statement 1")
        assert not result.allowed
    assert evaluate(policies, "s3:GetObject").allowed


def test_explicit_deny_within_one_document() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
            {"Sid": "NoDeregister", "Effect": "Deny", "Action": "ecs:Deregister*", "Resource": "*"},
        ]
    }
    result = evaluate([("Inline", document)], "ecs:DeregisterContainerInstance")
    assert result.decision is Decision.EXPLICIT_DENY
    assert result.matched == "policy Inline, statement 2 (NoDeregister)"


def test_decision_strings_read_as_words() -> None:
    assert str(Decision.ALLOWED) == "allowed"
    assert f"{Decision.EXPLICIT_DENY}" == "explicitly denied"
    assert Decision.IMPLICIT_DENY == "not allowed"


def test_resource_arn_with_wildcard() -> None:
    policies = [("S3", TIGHT_S3)]
    assert evaluate(policies, "s3:GetObject", f"{BUCKET}/reports/q1.csv").allowed
    assert evaluate(policies, "s3:ListBucket", BUCKET).allowed
    assert not evaluate(policies, "s3:GetObject", BUCKET).allowed
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::other-bucket/key").allowed
    assert not evaluate(policies, "s3:ListBucket", "arn:aws:s3:::KATA-BUCKET").allowed


def test_default_resource_is_literal_star() -> None:
    # A resource-scoped grant does not grant the action on every resource.
    assert not evaluate([("S3", TIGHT_S3)], "s3:GetObject").allowed
    assert evaluate([("S3", allow("s3:GetObject", "*"))], "s3:GetObject").allowed


def test_not_action_allows_everything_not_listed() -> None:
    document = {"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}
    assert evaluate([("p", document)], "s3:GetObject").allowed
    assert not evaluate([("p", document)], "iam:CreateUser").allowed
    assert not evaluate([("p", document)], "IAM:CreateUser").allowed


def test_not_action_deny() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": ["ecs:*", "ecr:*"], "Resource": "*"},
        ]
    }
    assert evaluate([("p", document)], "ecr:BatchGetImage").allowed
    assert evaluate([("p", document)], "s3:GetObject").decision is Decision.EXPLICIT_DENY


def test_not_resource() -> None:
    document = {
        "Statement": {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "NotResource": ["arn:aws:s3:::secrets/*", "arn:aws:s3:::vault/*"],
        }
    }
    policies = [("p", document)]
    assert evaluate(policies, "s3:GetObject", f"{BUCKET}/key").allowed
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::secrets/key").allowed
    assert not evaluate(policies, "s3:GetObject", "arn:aws:s3:::vault/deep/key").allowed


def test_not_resource_deny_fences_a_bucket() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"]},
        ]
    }
    assert evaluate([("p", document)], "s3:PutObject", f"{BUCKET}/k").allowed
    denied = evaluate([("p", document)], "s3:PutObject", "arn:aws:s3:::elsewhere/k")
    assert denied.decision is Decision.EXPLICIT_DENY


def test_string_and_list_forms_are_equivalent() -> None:
    as_strings = {"Statement": {"Effect": "Allow", "Action": "ecs:Poll", "Resource": "*"}}
    as_lists = {"Statement": [{"Effect": "Allow", "Action": ["ecs:Poll"], "Resource": ["*"]}]}
    for document in (as_strings, as_lists):
        assert evaluate([("p", document)], "ecs:Poll").allowed
        assert not evaluate([("p", document)], "ecs:RunTask").allowed


def test_action_list_matches_any_entry() -> None:
    document = allow(["ecr:GetAuthorizationToken", "ecr:Batch*"])
    assert evaluate([("p", document)], "ecr:BatchCheckLayerAvailability").allowed
    assert evaluate([("p", document)], "ecr:GetAuthorizationToken").allowed
    assert not evaluate([("p", document)], "ecr:PutImage").allowed


def test_condition_is_treated_as_applying() -> None:
    document = allow("ecs:TagResource", Condition={"StringEquals": {"ecs:CreateAction": "X"}})
    assert evaluate([("p", document)], "ecs:TagResource").allowed


def test_statement_without_resource_or_action_matches_nothing() -> None:
    no_resource = {"Statement": [{"Effect": "Allow", "Action": "*"}]}
    no_action = {"Statement": [{"Effect": "Allow", "Resource": "*"}]}
    assert not evaluate([("a", no_resource), ("b", no_action)], "s3:GetObject").allowed


def test_unknown_effect_grants_nothing() -> None:
    document = {"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}
    assert not evaluate([("p", document)], "s3:GetObject").allowed


def test_documents_may_be_json_or_url_encoded_strings() -> None:
    text = json.dumps(allow("logs:PutLogEvents"))
    for document in (text, quote(text)):
        result = evaluate([("Logs", document)], "logs:PutLogEvents")
        assert result == Evaluation(Decision.ALLOWED, "policy Logs, statement 1")


def test_realistic_managed_policy() -> None:
    policies = [("AmazonEC2ContainerServiceforEC2Role", ECS_FOR_EC2_ROLE)]
    registered = evaluate(policies, "ecs:RegisterContainerInstance")
    assert registered.allowed
    assert registered.matched == "policy AmazonEC2ContainerServiceforEC2Role, statement 1"
    assert evaluate(policies, "ecs:SubmitContainerStateChange").allowed
    assert evaluate(policies, "ecr:BatchGetImage").allowed
    assert evaluate(policies, "logs:PutLogEvents").allowed
    assert evaluate(policies, "ECR:batchgetimage").allowed
    assert evaluate(policies, "ecs:TagResource").matched.endswith("statement 2")
    task = "arn:aws:ecs:us-east-1:123456789012:task/kata/abc123"
    assert evaluate(policies, "ecs:ListTagsForResource", task).allowed
    assert not evaluate(policies, "ecs:ListTagsForResource").allowed
    s3 = evaluate(policies, "s3:GetObject", f"{BUCKET}/key")
    assert s3 == Evaluation(Decision.IMPLICIT_DENY, None)
    assert not evaluate(policies, "ecs:RunTask").allowed


def test_realistic_managed_policy_plus_inline_deny() -> None:
    inline = {
        "Statement": [{"Sid": "NoLogs", "Effect": "Deny", "Action": "logs:*", "Resource": "*"}]
    }
    policies = [("AmazonEC2ContainerServiceforEC2Role", ECS_FOR_EC2_ROLE), ("guard", inline)]
    result = evaluate(policies, "logs:PutLogEvents")
    assert result == Evaluation(Decision.EXPLICIT_DENY, "policy guard, statement 1 (NoLogs)")


# --- parse_document --------------------------------------------------------------------------


def test_parse_document_accepts_dict_json_and_url_encoded() -> None:
    document = {"Version": "2012-10-17", "Statement": []}
    text = json.dumps(document)
    assert parse_document(document) is document
    assert parse_document(text) == document
    assert parse_document(quote(text)) == document
    assert parse_document(f"  {text}\n") == document


def test_parse_document_keeps_percent_signs_in_plain_json() -> None:
    text = json.dumps(allow("s3:GetObject", "arn:aws:s3:::b/100%25-done"))
    parsed = parse_document(text)
    assert parsed["Statement"][0]["Resource"] == "arn:aws:s3:::b/100%25-done"


@pytest.mark.parametrize(
    "bad",
    ["{not json", "", "   ", quote("{not json"), "[1, 2]", '"a string"', "%7B%22Version"],
)
def test_parse_document_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="policy document"):
        parse_document(bad)


def test_bad_json_message_is_readable() -> None:
    with pytest.raises(ValueError, match=r"not valid JSON: .*\(line 1, column \d+\)"):
        parse_document('{"Statement": [}')


def test_evaluate_raises_value_error_for_bad_json() -> None:
    with pytest.raises(ValueError):
        evaluate([("broken", "{oops")], "s3:GetObject")


def test_malformed_statements_raise_value_error() -> None:
    with pytest.raises(ValueError, match="Statement"):
        evaluate([("p", {"Statement": "Allow everything"})], "s3:GetObject")
    with pytest.raises(ValueError, match="statement 1"):
        evaluate([("p", {"Statement": ["Allow"]})], "s3:GetObject")
    with pytest.raises(ValueError, match='"Action"'):
        evaluate([("p", allow(42))], "s3:GetObject")  # type: ignore[arg-type]


# --- broad_grants ----------------------------------------------------------------------------


def test_broad_grants_every_action() -> None:
    assert broad_grants(allow("*", BUCKET)) == [
        "Statement 1 allows *, which grants every action of every AWS service "
        f"({ALL_ACTIONS:,} actions in {ALL_SERVICES} services) on {BUCKET}"
    ]


def test_broad_grants_whole_service_lists_access_levels() -> None:
    [finding] = broad_grants(allow(["s3:GetObject", "s3:*"], f"{BUCKET}/*"))
    assert finding.startswith("Statement 1 allows s3:*, which grants every s3 action (")
    assert "Read" in finding and "Write" in finding and "Permissions management" in finding
    assert finding.endswith(f") on {BUCKET}/*")


def test_broad_grants_partial_action_wildcard_names_what_it_grants() -> None:
    """Regression: s3:*Object on arn:aws:s3:::* used to pass (only "s3:*" and "*" counted)."""
    document = {"Statement": [{"Sid": "S3", "Effect": "Allow", "Action": "s3:*Object",
                               "Resource": "arn:aws:s3:::*"}]}
    assert broad_grants(document) == [
        "Statement 'S3' allows s3:*Object, which grants 5 actions (s3:DeleteObject, "
        "s3:GetObject, s3:PutObject, ...; 1 Read, 4 Write) on arn:aws:s3:::* (every bucket)"
    ]


def test_broad_grants_pass_star_is_pass_role() -> None:
    """Regression: iam:Pass* used to pass; it grants iam:PassRole, a permissions-management
    action, even on one named role."""
    role = "arn:aws:iam::123456789012:role/app"
    assert broad_grants(allow("iam:Pass*", role)) == [
        "Statement 1 allows iam:Pass*, which grants 1 action (iam:PassRole; "
        f"1 Permissions management) on {role}"
    ]


def test_broad_grants_question_mark_is_a_wildcard() -> None:
    assert broad_grants(allow("s3:Get?bject", f"{BUCKET}/*")) == [
        f"Statement 1 allows s3:Get?bject, which grants 1 action (s3:GetObject; 1 Read) "
        f"on {BUCKET}/*"
    ]


def test_broad_grants_every_resource() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
        ]
    }
    assert broad_grants(document) == [
        "Statement 'List' allows s3:ListBucket on * (every resource)"
    ]


def test_broad_grants_not_action() -> None:
    document = {"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": BUCKET}}
    [finding] = broad_grants(document)
    assert finding.startswith("Statement 1 allows every action except iam:* (NotAction), "
                              "which grants ")
    assert f"of AWS's {ALL_ACTIONS:,} actions on {BUCKET}" in finding


def test_broad_grants_not_resource() -> None:
    document = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": BUCKET}}
    assert broad_grants(document) == [
        f"Statement 1 allows s3:GetObject on every resource except {BUCKET} (NotResource)"
    ]


def test_broad_grants_combines_actions_and_resources_in_one_finding() -> None:
    [finding] = broad_grants(allow("*", "*"))
    assert finding.startswith("Statement 1 allows *, which grants every action")
    assert finding.endswith("on * (every resource)")


def test_broad_grants_tight_policy_has_none() -> None:
    assert broad_grants(TIGHT_S3) == []
    assert broad_grants(json.dumps(TIGHT_S3)) == []


def test_broad_grants_names_each_statement_by_sid_or_number() -> None:
    document = {"Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
        {"Effect": "Allow", "Action": "ecr:Batch*", "Resource": "*"},
        {"Sid": "Logs", "Effect": "Allow", "Action": "logs:PutLogEvents",
         "Resource": "arn:aws:logs:*:123456789012:log-group:/ecs/app:*"},
    ]}
    first, second = broad_grants(document)
    assert first.startswith("Statement 2 allows ecr:Batch*, which grants ")
    assert "ecr:BatchGetImage" in first
    assert second == ("Statement 'Logs' allows logs:PutLogEvents on "
                      "arn:aws:logs:*:123456789012:log-group:/ecs/app:* (in every region)")


def test_broad_grants_unknown_service_and_no_match_are_still_wildcards() -> None:
    assert broad_grants(allow(["kata:Get*", "s3:Frobnicate*"], BUCKET)) == [
        "Statement 1 allows kata:Get* (a wildcard over kata, a service AWS's action catalogue "
        "does not list), and s3:Frobnicate* (a wildcard that matches no s3 action today, but "
        f"would match one AWS adds later) on {BUCKET}"
    ]


def test_broad_grants_wildcard_service() -> None:
    [finding] = broad_grants(allow("*:GetObject", BUCKET))
    assert "*:GetObject, which grants 5 actions in 5 services (" in finding
    assert "mediastore:GetObject" in finding


def test_broad_grants_ignores_deny_statements() -> None:
    document = {
        "Statement": [
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": "s3:*", "NotResource": BUCKET},
        ]
    }
    assert broad_grants(document) == []


def test_broad_grants_on_managed_policy() -> None:
    findings = broad_grants(ECS_FOR_EC2_ROLE)
    assert len(findings) == 3
    assert findings[0].startswith("Statement 1 allows ecs:Submit*, which grants ")
    assert findings[0].endswith("on * (every resource)")
    assert findings[1] == "Statement 2 allows ecs:TagResource on * (every resource)"
    assert findings[2] == (
        "Statement 3 allows ecs:ListTagsForResource on arn:aws:ecs:*:*:task/*/* (every task, "
        "in every region and every account), arn:aws:ecs:*:*:container-instance/*/* (every "
        "container-instance, in every region and every account)"
    )


# --- resource_breadth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "breadth"),
    [
        ("arn:aws:s3:::kata-bucket", None),
        ("arn:aws:s3:::kata-bucket/*", None),  # the objects of one named bucket
        ("arn:aws:s3:::kata-bucket/reports/*", None),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/app:*", None),  # its streams
        ("arn:aws:ecs:us-east-1:123456789012:task/kata-cluster/*", None),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/Orders/index/*", None),
        ("*", "every resource"),
        ("arn:aws:s3:::*", "every bucket"),
        ("arn:aws:s3:::*/reports/*", "every bucket"),
        ("arn:aws:s3:::kata-*", "every bucket whose name starts with kata-"),
        ("arn:aws:s3:::kata-bucke?", "every bucket whose name matches kata-bucke?"),
        ("arn:aws:ecr:us-east-1:123456789012:repository/*", "every repository"),
        ("arn:aws:iam::123456789012:role/*", "every role"),
        ("arn:aws:logs:us-east-1:123456789012:log-group:*", "every log-group"),
        ("arn:aws:logs:us-east-1:123456789012:*", "every logs resource"),
        ("arn:aws:sqs:us-east-1:123456789012:kata-*", "every queue whose name starts with kata-"),
        ("arn:aws:ecs:*:*:task/*/*", "every task, in every region and every account"),
        ("arn:aws:ecr:us-*:123456789012:repository/app",
         "in every region matching us-*"),
        ("arn:aws:*:us-east-1:123456789012:thing", "resources of any service"),
        ("arn:aws:kata:us-east-1:123456789012:thing/*", "any resource matching thing/*"),
        ("kata-*", "a wildcard outside any resource ARN"),
    ],
)
def test_resource_breadth(resource: str, breadth: str | None) -> None:
    assert resource_breadth(resource) == breadth


def test_policy_sentry_is_imported_only_when_a_wildcard_is_judged() -> None:
    """It loads a 13 MB catalogue: importing the checks (or evaluating) must not pay for it."""
    code = ("import sys; from cloudkata.checks import all_checks; "
            "from cloudkata.checks.policy import broad_grants, evaluate; all_checks(); "
            "evaluate([('p', {'Statement': []})], 's3:GetObject'); "
            "broad_grants({'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', "
            "'Resource': 'arn:aws:s3:::b'}]}); "
            "print(any(m.startswith('policy_sentry') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def _catalogue_size() -> tuple[int, int]:
    from policy_sentry.querying.all import get_all_actions

    actions = get_all_actions()
    return len(actions), len({action.split(":", 1)[0] for action in actions})


ALL_ACTIONS, ALL_SERVICES = _catalogue_size()
