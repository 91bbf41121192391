"""Targets: the environment the learner's commands get, and one-sentence target errors."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from cloudkata.targets import Target, TargetError, localstack_endpoint, resolve_target

SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
           "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty AWS config and credentials file, and no AWS variables in the environment."""
    config = tmp_path / "config"
    credentials = tmp_path / "credentials"
    config.write_text("")
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    return config


def one_sentence(text: str) -> bool:
    return "\n" not in text and text.count(". ") == 0 and text.endswith((".", ")"))


# --- the environment of the learner's commands ---------------------------------------------


def test_sandbox_exports() -> None:
    target = Target("sandbox", "eu-west-1", "http://127.0.0.1:4599")
    assert target.exports() == {
        "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4599",
        "AWS_ACCESS_KEY_ID": "cloudkata", "AWS_SECRET_ACCESS_KEY": "cloudkata",
    }


def test_sandbox_env_replaces_the_users_aws_settings() -> None:
    base = {"PATH": "/usr/bin", "HOME": "/home/me", "AWS_PROFILE": "prod",
            "AWS_SESSION_TOKEN": "real-token", "AWS_ACCESS_KEY_ID": "AKIAREAL",
            "AWS_ENDPOINT_URL": "http://elsewhere"}
    env = Target("sandbox", "us-east-1", "http://127.0.0.1:4599").env(base)
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"
    assert env["AWS_ACCESS_KEY_ID"] == "cloudkata"
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["HOME"] == "/home/me"
    assert env["AWS_PAGER"] == ""
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    assert env["PATH"].endswith("/usr/bin")


def test_localstack_exports_use_its_test_keys() -> None:
    exports = Target("localstack", "us-east-1", "http://localhost:4566").exports()
    assert exports["AWS_ENDPOINT_URL"] == "http://localhost:4566"
    assert exports["AWS_ACCESS_KEY_ID"] == "test"


def test_aws_target_with_a_profile() -> None:
    base = {"PATH": "/usr/bin", "AWS_ACCESS_KEY_ID": "AKIAOTHER", "AWS_ENDPOINT_URL": "http://x"}
    target = Target("aws", "eu-west-2", None, "dev")
    env = target.env(base)
    assert env["AWS_PROFILE"] == "dev"
    assert env["AWS_REGION"] == "eu-west-2"
    # environment keys would beat AWS_PROFILE in the CLI; an endpoint would leave AWS
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_ENDPOINT_URL" not in env
    assert target.label() == "aws · profile dev · eu-west-2"


def test_aws_target_without_a_profile_keeps_the_users_credentials() -> None:
    """Checks use boto3's default chain; the learner's commands must use the same identity."""
    base = {"PATH": "/usr/bin", "AWS_PROFILE": "work", "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    env = Target("aws", "us-east-1").env(base)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN"):
        assert env[name] == base[name]


def test_label() -> None:
    target = Target("sandbox", "us-east-1", "http://127.0.0.1:4599", account_id="123456789012")
    assert target.label() == "sandbox · http://127.0.0.1:4599 · us-east-1 · account 123456789012"


# --- resolving targets ---------------------------------------------------------------------


def test_aws_target_with_a_missing_profile_is_one_sentence(aws_config: Path) -> None:
    with pytest.raises(TargetError) as caught:
        resolve_target("aws", profile="no-such-profile")
    message = str(caught.value)
    assert "no-such-profile" in message
    assert one_sentence(message), message
    with pytest.raises(TargetError) as again:
        Target("aws", "us-east-1", None, "no-such-profile").boto_session()
    assert str(again.value) == message


def test_aws_target_takes_the_profiles_region(aws_config: Path) -> None:
    aws_config.write_text("[profile dev]\nregion = eu-west-2\n")
    target = resolve_target("aws", profile="dev")
    assert (target.kind, target.region, target.profile) == ("aws", "eu-west-2", "dev")
    assert resolve_target("aws", profile="dev", region="ap-south-1").region == "ap-south-1"


def test_aws_target_refuses_an_endpoint(aws_config: Path) -> None:
    with pytest.raises(TargetError, match="emulators"):
        resolve_target("aws", endpoint_url="http://localhost:4566")


def test_unknown_target_kind() -> None:
    with pytest.raises(TargetError, match="Unknown target 'gcp'; choose one of sandbox"):
        resolve_target("gcp")


def test_region_from_the_environment(aws_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    target = resolve_target("sandbox", endpoint_url="http://127.0.0.1:1")
    assert target.region == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    assert resolve_target("localstack").region == "eu-north-1"


def test_localstack_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOCALSTACK_HOST", "AWS_ENDPOINT_URL", "USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    assert localstack_endpoint() == "http://localhost:4566"
    target = resolve_target("localstack")
    assert target.endpoint_url == "http://localhost:4566"
    assert target.exports()["AWS_ENDPOINT_URL"] == "http://localhost:4566"


def test_localstack_host_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALSTACK_HOST", "ls.internal:4510")
    assert resolve_target("localstack").endpoint_url == "http://ls.internal:4510"
    monkeypatch.setenv("LOCALSTACK_HOST", "dockerhost")
    assert resolve_target("localstack").endpoint_url == "http://dockerhost:4566"
    explicit = resolve_target("localstack", endpoint_url="http://127.0.0.1:9")
    assert explicit.endpoint_url == "http://127.0.0.1:9"


# --- identify ------------------------------------------------------------------------------


def test_identify_the_sandbox(sandbox: Target) -> None:
    identified = sandbox.identify()
    assert identified.account_id == "123456789012"
    assert identified == sandbox  # same target; the account is extra information
    assert identified.label().endswith("· account 123456789012")


def test_identify_an_unreachable_target_is_one_sentence() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(TargetError) as caught:
        Target("localstack", "us-east-1", endpoint).identify()
    assert endpoint in str(caught.value)
    assert "\n" not in str(caught.value)
