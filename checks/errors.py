"""Turn exceptions from the environment into one readable sentence.

A check that raises is never shown as a traceback. Not-found becomes the learner's failure;
an unreachable endpoint, missing or expired credentials, throttling or a LocalStack edition
without the service becomes ``error`` or ``skipped`` — the environment, not the learner.
"""

from __future__ import annotations

import re

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    TokenRetrievalError,
)
from botocore.exceptions import (
    ConnectionClosedError as BotoConnectionClosed,
)

from .result import Result, error, failed, skipped
from .session import ReadOnlyViolation, is_not_found

CREDENTIAL_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
     "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
     "AuthFailure", "RequestExpired"}
)
THROTTLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException",
     "RequestLimitExceeded", "SlowDown"}
)
ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})

SERVICE_NAMES = {
    "ecs": "ECS", "ecr": "ECR", "eks": "EKS", "elbv2": "ELBv2", "iam": "IAM", "ec2": "EC2",
    "autoscaling": "Auto Scaling", "application-autoscaling": "Application Auto Scaling",
    "appautoscaling": "Application Auto Scaling", "compute": "EC2 Auto Scaling",
    "subnets": "VPC", "vpc": "VPC", "storage": "EFS/EBS", "manifests": "Kubernetes manifests",
    "ecs_services": "ECS",
    "efs": "EFS", "fsx": "FSx", "logs": "CloudWatch Logs", "cloudwatch": "CloudWatch",
    "sts": "STS", "ssm": "SSM",
}


def service_label(service: str | None) -> str:
    return SERVICE_NAMES.get(service or "", service or "AWS")


def describe_environment_error(exc: BaseException, endpoint: str | None = None) -> str | None:
    """One sentence for an environment failure, or None if ``exc`` is not one."""
    where = endpoint or "AWS"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | BotoConnectionClosed):
        hint = ("is the sandbox running? (`cloudkata sandbox status`)" if "127.0.0.1" in where
                else "is it running, and is this its address?")
        return f"Cannot reach {where}: {hint}"
    if isinstance(exc, ReadTimeoutError):
        return f"{where} did not answer in time; try again in a moment."
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | TokenRetrievalError):
        return "No usable AWS credentials: set a profile with --profile or run `aws configure`."
    if isinstance(exc, ProfileNotFound):
        profile = getattr(exc, "kwargs", {}).get("profile", "")
        return (f"The AWS profile {profile!r} could not be found: "
                "list yours with `aws configure list-profiles`.")
    if isinstance(exc, NoRegionError):
        return "No region is set: pass --region or set AWS_REGION."
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in CREDENTIAL_CODES:
            return f"The credentials were refused ({code}): they may have expired; refresh them."
        if code in THROTTLE_CODES:
            return f"AWS is throttling requests ({code}); wait a few seconds and check again."
        if code in ACCESS_CODES:
            return f"The grading credentials may not read this ({code}): {_message(exc)}"
        if status == 501 or "not included in your license" in _message(exc).lower():
            return None  # handled as skipped by result_for_exception
    return None


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def result_for_exception(
    exc: BaseException, *, service: str | None = None, endpoint: str | None = None
) -> Result:
    """Map anything a check raised to a Result a learner can read."""
    if isinstance(exc, ReadOnlyViolation):
        return error(f"Refused during checking (checks only read): {exc}")
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 501 or "not included in your license" in _message(exc).lower():
            return skipped(
                f"{service_label(service or _op_service(exc))} is not available in this "
                "LocalStack edition, so this check cannot be judged here."
            )
        if is_not_found(exc) and exc.response.get("Error", {}).get("Code") != "ValidationError":
            return failed(f"The resource does not exist: {_message(exc)}",
                          expected="the resource to exist", actual="not found")
    sentence = describe_environment_error(exc, endpoint)
    if sentence:
        return error(sentence)
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Error")
        return error(f"{service_label(service)} answered {code}: {_message(exc)}")
    return error(f"The check itself failed ({type(exc).__name__}: {exc}).")


_LOCALSTACK_SERVICE = re.compile(r"for service '?([A-Za-z0-9-]+)'?", re.IGNORECASE)


def _op_service(exc: ClientError) -> str | None:
    """The service LocalStack names in its "not included in your license plan" message."""
    match = _LOCALSTACK_SERVICE.search(_message(exc))
    return match.group(1).lower() if match else None
