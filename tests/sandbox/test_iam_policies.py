"""Malformed trust policies are refused as AWS refuses them."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.targets import Target

GOOD = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def _iam(sandbox: Target):
    return boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="k", aws_secret_access_key="s")


@pytest.mark.parametrize(("document", "message"), [
    ('{"Version": "2012-10-17", "Statement": [', "This policy contains invalid Json"),
    (json.dumps({**GOOD, "Statement": [{**GOOD["Statement"][0], "Resource": "*"}]}),
     "Has prohibited field Resource"),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole"}]}), "Missing required field Principal"),
])
def test_a_broken_trust_policy_is_refused(sandbox: Target, document: str, message: str) -> None:
    iam = _iam(sandbox)
    with pytest.raises(ClientError) as caught:
        iam.create_role(RoleName="broken", AssumeRolePolicyDocument=document)
    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert caught.value.response["Error"]["Message"] == message
    assert "broken" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_a_good_trust_policy_and_an_update(sandbox: Target) -> None:
    iam = _iam(sandbox)
    iam.create_role(RoleName="fine", AssumeRolePolicyDocument=json.dumps(GOOD))
    with pytest.raises(ClientError, match="invalid Json"):
        iam.update_assume_role_policy(RoleName="fine", PolicyDocument="{nope")
