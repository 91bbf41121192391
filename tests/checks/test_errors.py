"""Exceptions become one readable sentence: the environment's fault is ERROR or SKIPPED, the
learner's missing resource is FAILED. Real failures are provoked where we can."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.checks import ReadOnlyAws, Status
from cloudkata.checks.errors import describe_environment_error, result_for_exception
from cloudkata.checks.session import ReadOnlyViolation
from cloudkata.targets import Target

LOCALSTACK_MESSAGE = (
    "The API for service 'ecs' is either not included in your current license plan or has not "
    "yet been emulated by LocalStack. Please refer to "
    "https://docs.localstack.cloud/references/coverage for more details."
)


def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x",
                         region_name="us-east-1")


def sentences(text: str) -> int:
    """Rough sentence count: full stops that end a sentence (not inside URLs or versions)."""
    return sum(1 for i, c in enumerate(text) if c in ".?!" and (i + 1 == len(text)
                                                              or text[i + 1] == " "))


def client_error(code: str, message: str, status: int = 400,
                 operation: str = "GetRole") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@pytest.fixture
def closed_endpoint() -> str:
    """An endpoint on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_endpoint_down_is_an_error_naming_the_endpoint(closed_endpoint: str) -> None:
    aws = ReadOnlyAws(session(), closed_endpoint)
    with pytest.raises(Exception) as caught:
        aws.iam.get_role(RoleName="ecsInstanceRole")
    result = result_for_exception(caught.value, service="iam", endpoint=closed_endpoint)
    assert result.status is Status.ERROR
    assert closed_endpoint in result.message
    assert "\n" not in result.message
    assert "Traceback" not in result.message


def test_no_credentials_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Target
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws = ReadOnlyAws(boto3.Session(region_name="us-east-1"), sandbox.endpoint_url)
    with pytest.raises(Exception) as caught:
        aws.sts.get_caller_identity()
    result = result_for_exception(caught.value, service="sts", endpoint=sandbox.endpoint_url)
    assert result.status is Status.ERROR
    assert "credentials" in result.message
    assert sentences(result.message) == 1


def test_throttling_is_an_error() -> None:
    exc = client_error("ThrottlingException", "Rate exceeded")
    result = result_for_exception(exc, service="iam")
    assert result.status is Status.ERROR
    assert "throttling" in result.message and "ThrottlingException" in result.message


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId"])
def test_refused_credentials_are_an_error(code: str) -> None:
    result = result_for_exception(client_error(code, "bad token", 403), service="iam")
    assert result.status is Status.ERROR
    assert code in result.message and "expired" in result.message


def test_access_denied_is_an_error_not_a_failure() -> None:
    exc = client_error("AccessDenied", "User is not authorized to perform iam:GetRole", 403)
    result = result_for_exception(exc, service="iam")
    assert result.status is Status.ERROR
    assert "iam:GetRole" in result.message


def test_no_such_entity_is_the_learners_failure(sandbox: Target) -> None:
    aws = sandbox.read_only()
    with pytest.raises(ClientError) as caught:
        aws.iam.get_role(RoleName="ecsInstanceRole")
    result = result_for_exception(caught.value, service="iam", endpoint=sandbox.endpoint_url)
    assert result.status is Status.FAILED
    assert "ecsInstanceRole" in result.message
    assert result.actual == "not found"


def test_validation_error_is_not_called_missing() -> None:
    exc = client_error("ValidationError", "1 validation error detected: roleName")
    result = result_for_exception(exc, service="iam")
    assert result.status is Status.ERROR
    assert "IAM answered ValidationError" in result.message


def test_read_only_violation_is_an_error() -> None:
    result = result_for_exception(ReadOnlyViolation("iam:CreateRole is not a read operation"))
    assert result.status is Status.ERROR
    assert "iam:CreateRole" in result.message


def test_a_bug_in_a_check_is_an_error_not_a_traceback() -> None:
    result = result_for_exception(KeyError("Roles"), service="iam")
    assert result.status is Status.ERROR
    assert "KeyError" in result.message


def test_not_an_environment_error() -> None:
    assert describe_environment_error(ValueError("x")) is None
    assert describe_environment_error(client_error("NoSuchEntity", "gone", 404)) is None


# --- LocalStack without the service --------------------------------------------------------


class LocalStackLicenceHandler(BaseHTTPRequestHandler):
    """Answers every request the way LocalStack community answers ECS: 501 InternalFailure."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"__type": "InternalFailure", "message": LOCALSTACK_MESSAGE}).encode()
        self.send_response(501)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-errortype", "InternalFailure")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def localstack_without_ecs() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LocalStackLicenceHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("service", ["ecs", None])
def test_localstack_licence_501_is_skipped_naming_the_service(
    localstack_without_ecs: str, service: str | None
) -> None:
    aws = ReadOnlyAws(session(), localstack_without_ecs)
    with pytest.raises(ClientError) as caught:
        aws.ecs.list_clusters()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    result = result_for_exception(caught.value, service=service,
                                  endpoint=localstack_without_ecs)
    assert result.status is Status.SKIPPED
    assert result.message.startswith("ECS is not available in this LocalStack edition")
    assert sentences(result.message) == 1
