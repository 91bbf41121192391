"""Where commands run and checks read: the embedded sandbox, a LocalStack, or real AWS."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from cloudkata.checks.errors import describe_environment_error
from cloudkata.checks.session import ReadOnlyAws

from .sandbox import manager

TargetKind = Literal["sandbox", "localstack", "aws"]
TARGET_KINDS: tuple[str, ...] = ("sandbox", "localstack", "aws")
DEFAULT_REGION = "us-east-1"
EMULATOR_KEYS = {"sandbox": ("cloudkata", "cloudkata"), "localstack": ("test", "test")}


class TargetError(RuntimeError):
    """The target cannot be used; the message is one sentence for the learner."""


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    profile: str | None = None
    account_id: str | None = field(default=None, compare=False)

    @property
    def is_emulator(self) -> bool:
        return self.kind != "aws"

    def boto_session(self) -> boto3.Session:
        if self.is_emulator:
            key, secret = EMULATOR_KEYS[self.kind]
            return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                 region_name=self.region, botocore_session=_botocore_session())
        try:
            session = boto3.Session(profile_name=self.profile, region_name=self.region,
                                    botocore_session=_botocore_session())
            if self.profile and self.profile not in session.available_profiles:
                # botocore resolves a profile lazily; say so now, not on the first call
                raise ProfileNotFound(profile=self.profile)
            return session
        except BotoCoreError as exc:
            raise TargetError(describe_environment_error(exc) or str(exc)) from None

    def read_only(self) -> ReadOnlyAws:
        return ReadOnlyAws(self.boto_session(), self.endpoint_url,
                           ignore_configured_endpoints=not self.is_emulator)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for the learner's ``aws`` commands: endpoint, region, credentials."""
        env = dict(os.environ if base is None else base)
        env.pop("AWS_ENDPOINT_URL", None)
        if self.is_emulator or self.profile:
            # Our keys or profile replace the user's. Without a profile the aws target keeps
            # them: checks use boto3's default chain, so commands must act as the same identity.
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID",
                         "AWS_SECRET_ACCESS_KEY"):
                env.pop(name, None)
        env.update(self.exports())
        bin_dir = os.path.dirname(sys.executable)  # the venv's own `aws`, activated or not
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env.setdefault("AWS_PAGER", "")
        return env

    def exports(self) -> dict[str, str]:
        values = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.is_emulator:
            key, secret = EMULATOR_KEYS[self.kind]
            values |= {"AWS_ENDPOINT_URL": self.endpoint_url or "",
                       "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
        elif self.profile:
            values["AWS_PROFILE"] = self.profile
        return values

    def label(self) -> str:
        where = self.endpoint_url or f"profile {self.profile or 'default'}"
        account = f" · account {self.account_id}" if self.account_id else ""
        return f"{self.kind} · {where} · {self.region}{account}"

    def identify(self) -> Target:
        """Ask STS who we are; a target that cannot answer raises TargetError."""
        try:
            identity = self.read_only().sts.get_caller_identity()
        except (BotoCoreError, ClientError) as exc:
            sentence = describe_environment_error(exc, self.endpoint_url)
            raise TargetError(sentence or f"The {self.kind} target failed: {exc}") from None
        return Target(self.kind, self.region, self.endpoint_url, self.profile,
                      identity["Account"])


def localstack_endpoint() -> str:
    """LocalStack's edge endpoint by localstack-client's conventions (LOCALSTACK_HOST...)."""
    from localstack_client.config import get_service_endpoint

    return get_service_endpoint("sts") or "http://localhost:4566"


def _botocore_session() -> botocore.session.Session:
    """A new botocore session that shares one loader with every other in this process.

    Each check run makes a fresh session (credentials and hooks of its own), and each fresh
    botocore session would parse the services' model JSON again (~20 ms per service and run);
    the loader only caches those read-only models, so sharing it is safe.
    """
    session = botocore.session.get_session()
    session.register_component("data_loader", _shared_loader())
    return session


@functools.cache
def _shared_loader() -> Any:
    return botocore.session.get_session().get_component("data_loader")


def resolve_target(
    kind: str = "sandbox",
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    port: int = manager.DEFAULT_PORT,
    announce: Callable[[str], None] | None = None,
) -> Target:
    """Build the target the user asked for, starting the sandbox when it is needed."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if kind == "sandbox":
        if not endpoint_url:
            try:
                endpoint_url = manager.ensure_running(port, announce).endpoint
            except manager.SandboxError as exc:
                raise TargetError(str(exc)) from None
        return Target("sandbox", region or DEFAULT_REGION, endpoint_url)
    if kind == "localstack":
        return Target("localstack", region or DEFAULT_REGION,
                      endpoint_url or localstack_endpoint())
    if kind == "aws":
        if endpoint_url:
            raise TargetError("--endpoint-url is for emulators; the aws target talks to AWS.")
        session_region = region or _profile_region(profile) or DEFAULT_REGION
        return Target("aws", session_region, None, profile)
    raise TargetError(f"Unknown target {kind!r}; choose one of {', '.join(TARGET_KINDS)}.")


def _profile_region(profile: str | None) -> str | None:
    try:
        return boto3.Session(profile_name=profile).region_name
    except BotoCoreError as exc:
        raise TargetError(describe_environment_error(exc) or str(exc)) from None
