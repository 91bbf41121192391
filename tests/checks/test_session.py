"""ReadOnlyAws: writes are refused before anything is sent; reads are memoised per run."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from cloudkata.checks.session import ReadOnlyAws, ReadOnlyViolation, is_read_operation
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
     ("BatchGetImage", True), ("LookupEvents", True), ("SearchResources", True),
     ("CreateRole", False), ("PutRolePolicy", False), ("DeleteRole", False),
     ("TagResource", False), ("AssumeRole", False)],
)
def test_is_read_operation(name: str, read: bool) -> None:
    assert is_read_operation(name) is read
