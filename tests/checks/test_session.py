"""ReadOnlyAws: writes and secret reads are refused before anything is sent; reads are memoised."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.waiter import WaiterModel, create_waiter_with_client

from cloudkata.checks.session import (
    DECRYPTING,
    NEVER,
    ReadOnlyAws,
    ReadOnlyViolation,
    is_read_operation,
    refusal,
)
from cloudkata.targets import Target

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def client(sandbox: Target, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def count_requests(aws: ReadOnlyAws, service: str) -> list[str]:
    """Operation names that actually reached the wire (botocore's before-send event)."""
    sent: list[str] = []
    raw = aws.client(service)._client
    raw.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    return sent


@pytest.mark.parametrize(
    ("service", "operation", "kwargs"),
    [
        ("iam", "create_role", {"RoleName": "sneaky", "AssumeRolePolicyDocument": TRUST}),
        ("ecs", "create_cluster", {"clusterName": "sneaky"}),
    ],
)
def test_writes_are_refused_before_sending(
    sandbox: Target, service: str, operation: str, kwargs: dict[str, Any]
) -> None:
    aws = sandbox.read_only()
    sent = count_requests(aws, service)
    with pytest.raises(ReadOnlyViolation, match="not a read operation"):
        getattr(aws.client(service), operation)(**kwargs)
    assert sent == []
    if service == "iam":
        assert client(sandbox, "iam").list_roles()["Roles"] == []
    else:
        assert client(sandbox, "ecs").list_clusters()["clusterArns"] == []


def test_the_hook_also_guards_clients_made_from_the_session(sandbox: Target) -> None:
    """Even a check that bypasses the cached wrapper cannot write."""
    aws = sandbox.read_only()
    raw = aws.session.client("iam", endpoint_url=sandbox.endpoint_url)
    with pytest.raises(ReadOnlyViolation):
        raw.delete_role(RoleName="anything")


def test_reads_work(sandbox: Target) -> None:
    client(sandbox, "iam").create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    aws = sandbox.read_only()
    assert aws.iam.get_role(RoleName="app")["Role"]["RoleName"] == "app"
    assert [r["RoleName"] for r in aws.iam.paginate("list_roles", "Roles")] == ["app"]
    assert aws.ecs.list_clusters()["clusterArns"] == []
    assert aws.account_id == "123456789012"
    assert aws.region == "us-east-1"


def test_identical_calls_are_sent_once(sandbox: Target) -> None:
    client(sandbox, "iam").create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    aws = sandbox.read_only()
    sent = count_requests(aws, "iam")
    first = aws.iam.get_role(RoleName="app")
    second = aws.iam.get_role(RoleName="app")
    assert second is first
    assert len(sent) == 1
    aws.iam.get_role(RoleName="app")  # still memoised
    aws.iam.list_roles()  # a different call is sent
    assert len(sent) == 2


def test_paginate_is_memoised(sandbox: Target) -> None:
    aws = sandbox.read_only()
    sent = count_requests(aws, "iam")
    first = aws.iam.paginate("list_roles", "Roles")
    assert aws.iam.paginate("list_roles", "Roles") is first
    assert list(aws.iter_pages("iam", "list_roles", "Roles")) == first
    assert len(sent) == 1


def test_clear_cache_forgets_answers(sandbox: Target) -> None:
    iam = client(sandbox, "iam")
    aws = sandbox.read_only()
    sent = count_requests(aws, "iam")
    assert aws.iam.paginate("list_roles", "Roles") == []
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    assert aws.iam.paginate("list_roles", "Roles") == []  # memoised: the old answer
    aws.clear_cache()
    assert [r["RoleName"] for r in aws.iam.paginate("list_roles", "Roles")] == ["app"]
    assert len(sent) == 2


def test_errors_are_not_memoised(sandbox: Target) -> None:
    """A role missing now may exist after the learner's next command; never cache failure."""
    aws = sandbox.read_only()
    with pytest.raises(aws.iam.exceptions.NoSuchEntityException):
        aws.iam.get_role(RoleName="later")
    client(sandbox, "iam").create_role(RoleName="later", AssumeRolePolicyDocument=TRUST)
    assert aws.iam.get_role(RoleName="later")["Role"]["RoleName"] == "later"


@pytest.mark.parametrize(
    ("name", "read"),
    [("GetRole", True), ("ListRoles", True), ("DescribeClusters", True),
     ("BatchGetImage", True), ("LookupEvents", False), ("SearchResources", False),
     ("CreateRole", False), ("PutRolePolicy", False), ("DeleteRole", False),
     ("TagResource", False), ("AssumeRole", False)],
)
def test_is_read_operation(name: str, read: bool) -> None:
    """Only the four read verbs; Lookup and Search are not needed by any check."""
    assert is_read_operation(name) is read


# --- reads that mint credentials or reveal secrets -----------------------------------------

SECRET_READS = [
    ("sts", "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/x",
                            "RoleSessionName": "grader"}, "sts:AssumeRole"),
    ("sts", "get_session_token", {}, "sts:GetSessionToken"),
    ("sts", "get_federation_token", {"Name": "grader"}, "sts:GetFederationToken"),
    ("secretsmanager", "get_secret_value", {"SecretId": "db"}, "secretsmanager:GetSecretValue"),
    ("secretsmanager", "batch_get_secret_value", {"SecretIdList": ["db"]},
     "secretsmanager:BatchGetSecretValue"),
    ("ssm", "get_parameter", {"Name": "/db/password", "WithDecryption": True},
     "ssm:GetParameter"),
    ("ssm", "get_parameters", {"Names": ["/db/password"], "WithDecryption": True},
     "ssm:GetParameters"),
    ("ssm", "get_parameters_by_path", {"Path": "/db", "WithDecryption": True},
     "ssm:GetParametersByPath"),
    ("ecr", "get_authorization_token", {}, "ecr:GetAuthorizationToken"),
    ("ecr-public", "get_authorization_token", {}, "ecr-public:GetAuthorizationToken"),
    ("codeartifact", "get_authorization_token", {"domain": "kata"},
     "codeartifact:GetAuthorizationToken"),
    ("kms", "decrypt", {"CiphertextBlob": b"x"}, "kms:Decrypt"),
    ("kms", "generate_data_key", {"KeyId": "alias/x"}, "kms:GenerateDataKey"),
    ("sso", "get_role_credentials", {"roleName": "r", "accountId": "123456789012",
                                     "accessToken": "t"}, "sso:GetRoleCredentials"),
    ("cognito-identity", "get_credentials_for_identity", {"IdentityId": "us-east-1:x"},
     "cognito-identity:GetCredentialsForIdentity"),
    ("cognito-identity", "get_open_id_token", {"IdentityId": "us-east-1:x"},
     "cognito-identity:GetOpenIdToken"),
    ("eks-auth", "assume_role_for_pod_identity", {"clusterName": "c", "token": "t"},
     "eks-auth:AssumeRoleForPodIdentity"),
    ("ec2", "get_password_data", {"InstanceId": "i-0123456789abcdef0"}, "ec2:GetPasswordData"),
]


@pytest.mark.parametrize(("service", "operation", "kwargs", "named"), SECRET_READS,
                         ids=[named for *_, named in SECRET_READS])
def test_reads_that_mint_credentials_or_reveal_secrets_are_refused(
    sandbox: Target, service: str, operation: str, kwargs: dict[str, Any], named: str
) -> None:
    aws = sandbox.read_only()
    sent = count_requests(aws, service)
    with pytest.raises(ReadOnlyViolation) as caught:
        getattr(aws.client(service), operation)(**kwargs)
    message = str(caught.value)
    assert message.startswith(f"{named} ")
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence, saying why
    assert "because" in message or "not a read operation" in message
    assert sent == []


def test_secrets_do_not_leak_from_the_sandbox(sandbox: Target) -> None:
    """With a real secret and SecureString there: the values never come back."""
    client(sandbox, "secretsmanager").create_secret(Name="db", SecretString="hunter2")
    client(sandbox, "ssm").put_parameter(Name="/db/password", Value="hunter2",
                                         Type="SecureString")
    aws = sandbox.read_only()
    with pytest.raises(ReadOnlyViolation, match="secretsmanager:GetSecretValue"):
        aws.secretsmanager.get_secret_value(SecretId="db")
    with pytest.raises(ReadOnlyViolation, match="ssm:GetParameter is refused with "
                                                "WithDecryption"):
        aws.ssm.get_parameter(Name="/db/password", WithDecryption=True)
    # without decryption the reads a check needs still work (the value stays ciphertext)
    assert aws.secretsmanager.describe_secret(SecretId="db")["Name"] == "db"
    plain = aws.ssm.get_parameter(Name="/db/password")["Parameter"]
    assert plain["Value"] != "hunter2"
    assert aws.ssm.get_parameters(Names=["/db/password"], WithDecryption=False)["Parameters"]


def test_get_caller_identity_is_allowed() -> None:
    assert refusal("sts", "GetCallerIdentity", {}) is None
    assert refusal("sts", "GetAccessKeyInfo", {}) is None


def test_unknown_decryption_counts_as_decrypting() -> None:
    """No parameters to look at (a body we cannot read) is refused, not waved through."""
    assert refusal("ssm", "GetParameters", None) is not None
    assert refusal("ssm", "GetParameters", {"Names": ["x"]}) is None
    assert refusal("ssm", "GetParameters", {"Names": ["x"], "WithDecryption": False}) is None


def test_any_other_service_handing_out_credentials_is_refused_by_its_name() -> None:
    for service, operation in [("redshift", "GetClusterCredentials"),
                               ("lakeformation", "GetTemporaryGlueTableCredentials"),
                               ("wafv2", "GetDecryptedAPIKey"),
                               ("bedrock-agentcore", "GetWorkloadAccessToken"),
                               ("storagegateway", "DescribeChapCredentials")]:
        reason = refusal(service, operation, {})
        assert reason is not None and reason.startswith(f"{service}:{operation} ")


@pytest.mark.parametrize("entry", sorted([*NEVER, *DECRYPTING]), ids=":".join)
def test_every_refused_entry_is_a_real_operation(entry: tuple[str, str]) -> None:
    """A typo here would silently allow the real operation; the service id must also match,
    since the before-send gate only knows ``secrets-manager``, not ``secretsmanager``."""
    service, operation = entry
    model = botocore.session.get_session().get_service_model(service)
    assert operation in model.operation_names
    assert refusal(model.service_id.hyphenize(), operation, None) is not None
    assert refusal(service, operation, None) is not None


# --- nothing gets around the gates ---------------------------------------------------------


def test_the_last_gate_holds_when_the_first_is_removed(sandbox: Target) -> None:
    """before-send refuses what before-call would have: a check that unregisters one gate,
    or a request built without the client method, still sends nothing."""
    aws = sandbox.read_only()
    raw = aws.iam._client
    raw.meta.events.unregister("before-call", unique_id="cloudkata-read-only")
    with pytest.raises(ReadOnlyViolation, match="iam:CreateRole is not a read operation"):
        raw.create_role(RoleName="sneaky", AssumeRolePolicyDocument=TRUST)
    with pytest.raises(ReadOnlyViolation, match="ssm:GetParameter is refused"):
        ssm = aws.ssm._client
        ssm.meta.events.unregister("before-call", unique_id="cloudkata-read-only")
        ssm.get_parameter(Name="/db/password", WithDecryption=True)
    assert client(sandbox, "iam").list_roles()["Roles"] == []


def test_paginators_and_waiters_are_guarded(sandbox: Target) -> None:
    aws = sandbox.read_only()
    pages = aws.ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/db", WithDecryption=True)
    with pytest.raises(ReadOnlyViolation, match="ssm:GetParametersByPath"):
        list(pages)
    assert list(aws.ssm.get_paginator("get_parameters_by_path").paginate(Path="/db"))
    sneaky = WaiterModel({"version": 2, "waiters": {"SecretThere": {
        "operation": "GetSecretValue", "delay": 1, "maxAttempts": 1,
        "acceptors": [{"state": "success", "matcher": "status", "expected": 200}]}}})
    waiter = create_waiter_with_client("SecretThere", sneaky, aws.secretsmanager._client)
    with pytest.raises(ReadOnlyViolation, match="secretsmanager:GetSecretValue"):
        waiter.wait(SecretId="db")


def test_clients_and_resources_made_from_the_session_are_guarded(sandbox: Target) -> None:
    aws = sandbox.read_only()
    session = aws.session
    with pytest.raises(ReadOnlyViolation, match="sts:AssumeRole"):
        session.client("sts", endpoint_url=sandbox.endpoint_url).assume_role(
            RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="grader")
    with pytest.raises(ReadOnlyViolation, match="iam:CreateRole"):
        session.resource("iam", endpoint_url=sandbox.endpoint_url).create_role(
            RoleName="sneaky", AssumeRolePolicyDocument=TRUST)
    assert client(sandbox, "iam").list_roles()["Roles"] == []
