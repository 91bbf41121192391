"""A read-only view of an AWS target, shared by one run of checks.

Read-only *by construction*: two botocore hooks on the session refuse every call a grader must
not make. ``before-call`` refuses it before the request is even signed; ``before-send`` refuses
it again at the last moment before bytes leave the process, so what gets past the first (a
client whose first gate was unregistered, a hand-built request, a handler that rewrote the
parameters) still stops at the second. Both are registered on the session, so every client
made from it -- ours, one a check makes itself from ``aws.session``, and the paginators,
waiters and resources built on those clients -- carries them. (A client made some other way,
``boto3.client(...)``, would carry none; tests/checks/test_read_only_recording.py fails any
check module that makes one.) Grading a real account is therefore safe even if a check has a
bug.

What may be sent: operations named ``Describe*``, ``List*``, ``Get*`` or ``BatchGet*``, minus
the reads that mint credentials or reveal secrets (``sts:AssumeRole``,
``secretsmanager:GetSecretValue``, a decrypting ``ssm:GetParameter``...): a grader judges
configuration and never needs a credential or a secret value, and holding one would be a leak
waiting to happen. Calls are memoised for the lifetime of one run, so checks stay pure
functions of state and a whole step costs a handful of API calls.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

READ_VERBS = ("Describe", "List", "Get", "BatchGet")
"""The only verbs a check may call. ``Lookup*``/``Search*`` are left out: no check needs one
(tests/checks/test_read_only_recording.py lists every operation the checks send), and e.g.
``cloudtrail:LookupEvents`` reads other people's activity, which is not a lab's state."""

_MINTS = "it mints temporary credentials"
_SECRET = "it returns a secret's plaintext value"
_DECRYPT = "it returns plaintext that KMS decrypts"
NEVER: Mapping[tuple[str, str], str] = {
    # who may act as whom: a grader acts as itself only (sts:GetCallerIdentity is allowed)
    ("sts", "AssumeRole"): _MINTS,
    ("sts", "AssumeRoleWithSAML"): _MINTS,
    ("sts", "AssumeRoleWithWebIdentity"): _MINTS,
    ("sts", "AssumeRoot"): _MINTS,
    ("sts", "GetSessionToken"): _MINTS,
    ("sts", "GetFederationToken"): _MINTS,
    ("sts", "GetDelegatedAccessToken"): _MINTS,
    ("sts", "GetScopedCredentials"): _MINTS,
    ("sts", "GetWebIdentityToken"): "it mints a signed identity token",
    ("eks-auth", "AssumeRoleForPodIdentity"): _MINTS,
    ("sso", "GetRoleCredentials"): _MINTS,
    ("cognito-identity", "GetCredentialsForIdentity"): _MINTS,
    ("cognito-identity", "GetOpenIdToken"): "it mints an OpenID token for an identity",
    ("cognito-identity", "GetOpenIdTokenForDeveloperIdentity"):
        "it mints an OpenID token for an identity",
    ("cognito-identity", "GetId"): "despite its name it creates an identity in the pool",
    ("redshift", "GetClusterCredentials"): "it mints database credentials",
    ("redshift", "GetClusterCredentialsWithIAM"): "it mints database credentials",
    ("redshift-serverless", "GetCredentials"): "it mints database credentials",
    # registries: a login token is a credential, a layer URL a pre-signed one
    ("ecr", "GetAuthorizationToken"): "it mints a registry login token",
    ("ecr-public", "GetAuthorizationToken"): "it mints a registry login token",
    ("codeartifact", "GetAuthorizationToken"): "it mints a repository login token",
    ("ecr", "GetDownloadUrlForLayer"): "it returns a pre-signed URL to an image layer",
    # secret stores and keys
    ("secretsmanager", "GetSecretValue"): _SECRET,
    ("secretsmanager", "BatchGetSecretValue"): _SECRET,
    ("ssm", "GetAccessToken"): _MINTS,
    ("kms", "Decrypt"): _DECRYPT,
    ("kms", "GenerateDataKey"): "it returns a new plaintext data key",
    ("kms", "GenerateDataKeyPair"): "it returns a new plaintext private key",
    ("kms", "GetParametersForImport"): "it issues a key-material import token",
    ("ec2", "GetPasswordData"): "it returns an instance's encrypted administrator password",
    ("apigateway", "GetApiKey"): "it can return the API key's value",
    ("apigateway", "GetApiKeys"): "it can return API key values",
    ("lightsail", "GetRelationalDatabaseMasterUserPassword"): "it returns a database password",
}
"""Reads a grader must never send, and why (one clause each). Most are also caught by
:data:`SECRET_NAME`; listing them gives the learner a precise reason."""

DECRYPTING: Mapping[tuple[str, str], str] = {
    ("ssm", "GetParameter"): "WithDecryption",
    ("ssm", "GetParameters"): "WithDecryption",
    ("ssm", "GetParametersByPath"): "WithDecryption",
    ("ssm", "GetParameterHistory"): "WithDecryption",
}
"""Reads that are fine unless asked to decrypt: SecureString values are secrets, while the
public parameters checks read (e.g. the EKS-optimised AMI ids) are not."""

SECRET_NAME = re.compile(
    r"Credential(?!Report)|Token(?!s?Status|Balance|Issuer)|SecretValue|Password(?!Policy)"
    r"|Decrypt|Presigned|SignedU|Api[Kk]ey|StreamKey"
)
"""Any other read whose name says it hands out credentials, tokens, keys or secrets, in any
service: a grader never needs one, and refusing a harmless look-alike costs nothing."""


class ReadOnlyViolation(PermissionError):
    """A check tried to call an operation a grader must not send."""

    def __init__(self, message: str, *, service: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.service = service
        self.operation = operation


def _key(service: str) -> str:
    """One spelling for a service: client name (secretsmanager) and service id
    (secrets-manager, which is all ``before-send`` knows) meet here."""
    return re.sub(r"[^a-z0-9]", "", service.lower())


_NEVER = {(_key(service), operation): reason for (service, operation), reason in NEVER.items()}
_DECRYPTING = {(_key(service), operation): field for (service, operation), field in
               DECRYPTING.items()}
_NAMES = {_key(service): service for service, _ in [*NEVER, *DECRYPTING]}


def is_read_operation(operation_name: str) -> bool:
    """Whether the name is one of the read verbs (secrets are judged by :func:`refusal`)."""
    return operation_name.startswith(READ_VERBS)


def refusal(service: str, operation: str, params: Mapping[str, Any] | None = None) -> str | None:
    """The one sentence saying why ``service:operation`` must not be sent, or None.

    ``params`` are the call's parameters; None means unknown, which refuses any call whose
    verdict depends on them (a decrypting read we cannot rule out is refused).
    """
    key = (_key(service), operation)
    name = f"{_NAMES.get(key[0], service)}:{operation}"
    if key in _NEVER:  # before the verb rule: "mints credentials" says more than "not a read"
        return f"{name} is refused because {_NEVER[key]}, and a grader never needs that."
    if not is_read_operation(operation):
        return f"{name} is not a read operation; checks may only Describe, List or Get."
    field = _DECRYPTING.get(key)
    if field is not None and (params is None or params.get(field)):
        return (f"{name} is refused with {field} because it would return decrypted secrets; "
                "checks read parameters without decryption.")
    if SECRET_NAME.search(operation):
        return (f"{name} is refused because its name says it hands out credentials, tokens, "
                "keys or secret values, and a grader never needs those.")
    return None


def _json_params(body: Any) -> dict[str, Any] | None:
    """A JSON-protocol body as the parameters it carries; None when it cannot be read."""
    if body is None or body in (b"", ""):
        return {}
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _params_if_needed(service: str, operation: str, body: Any) -> dict[str, Any] | None:
    """Parameters for the calls whose verdict depends on them (all JSON protocol); others {}."""
    if (_key(service), operation) in _DECRYPTING:
        return _json_params(body)
    return {}


def _refuse(service: str, operation: str, body: Any) -> None:
    reason = refusal(service, operation, _params_if_needed(service, operation, body))
    if reason is not None:
        raise ReadOnlyViolation(reason, service=service, operation=operation)


def _refuse_before_call(model: Any, params: Mapping[str, Any], **_: Any) -> None:
    """First gate: before the request is built into bytes and signed."""
    _refuse(model.service_model.service_name, model.name, params.get("body"))


def _refuse_before_send(request: Any, event_name: str, **_: Any) -> None:
    """Last gate: the bytes about to leave. The event is ``before-send.<service-id>.<Op>``."""
    _, service_id, operation = event_name.split(".", 2)  # type: ignore[assignment]  # `_` also names **_
    _refuse(service_id, operation, request.body)


_HOOKS = (("before-call", _refuse_before_call, "cloudkata-read-only"),
          ("before-send", _refuse_before_send, "cloudkata-read-only-send"))


def _install(events: Any) -> None:
    """Put both gates first in line on an event emitter (a second install is a no-op)."""
    for event, handler, unique_id in _HOOKS:
        events.register_first(event, handler, unique_id=unique_id)


def make_read_only(session: boto3.Session) -> boto3.Session:
    """Install both gates on the session, so every client it makes afterwards carries them.

    A client copies the session's handlers when it is made: one made *before* this call would
    not be guarded, which is why :class:`ReadOnlyAws` calls it first and also installs the
    gates on each client it makes (belt and braces; the unique ids keep it to one of each).
    """
    _install(session.events)
    return session


NOT_FOUND_CODES = frozenset(
    {
        "NoSuchEntity", "NotFound", "NotFoundException", "ResourceNotFoundException",
        "ClusterNotFoundException", "ServiceNotFoundException", "TargetGroupNotFound",
        "LoadBalancerNotFound", "ListenerNotFound", "InvalidGroup.NotFound",
        "ValidationError", "InvalidParameterException", "FileSystemNotFound",
        "AccessPointNotFound", "MountTargetNotFound",
    }
)


def is_not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in NOT_FOUND_CODES or code.endswith(".NotFound")


class CallCache:
    """Answers of read calls by (service, operation, arguments), safe to share across threads.

    A whole-lab check runs its checks concurrently; two checks asking for the same resource
    at once must cause one request, not two. The first asker makes the call, the others wait
    for its future. An error (say, not found) goes to those already waiting but is not kept.
    """

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str, str], Future[Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._answers)

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        with self._lock:
            return iter(list(self._answers))

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def get(self, key: tuple[str, str, str], fetch: Callable[[], Any]) -> Any:
        with self._lock:
            future = self._answers.get(key)
            owner = future is None
            if future is None:
                future = self._answers[key] = Future()
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:  # noqa: BLE001 - handed to those already waiting
                with self._lock:  # but not remembered: a missing role may exist next call
                    self._answers.pop(key, None)
                future.set_exception(exc)
        return future.result()


class CachedClient:
    """A boto3 client whose read calls are memoised by operation and arguments."""

    def __init__(self, client: Any, cache: CallCache) -> None:
        self._client = client
        self._cache = cache
        self._service = client.meta.service_model.service_name

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name.startswith(("get_paginator", "get_waiter", "can_")):
            return method

        def call(**kwargs: Any) -> Any:
            key = (self._service, name, json.dumps(kwargs, sort_keys=True, default=str))
            return self._cache.get(key, lambda: method(**kwargs))

        return call

    def paginate(self, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        """All items of a paginated list call, memoised like any other call."""
        key = (self._service, f"paginate:{operation}:{result_key}",
               json.dumps(kwargs, sort_keys=True, default=str))

        def fetch() -> list[Any]:
            items: list[Any] = []
            for page in self._client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(result_key, []))
            return items

        return self._cache.get(key, fetch)


class ReadOnlyAws:
    """Lazily made, cached, read-only clients: ``aws.iam.get_role(RoleName=...)``."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None = None,
                 *, ignore_configured_endpoints: bool = False) -> None:
        self.session = make_read_only(session)
        self.endpoint_url = endpoint_url
        self._clients: dict[str, CachedClient] = {}
        self._cache = CallCache()
        self._clients_lock = threading.Lock()  # boto3 sessions make clients one at a time
        self._config = Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=3,
            read_timeout=20,
            # real AWS must mean real AWS, even if the shell still exports AWS_ENDPOINT_URL
            ignore_configured_endpoint_urls=ignore_configured_endpoints,
        )

    def client(self, service: str) -> CachedClient:
        found = self._clients.get(service)
        if found is not None:
            return found
        with self._clients_lock:
            if service not in self._clients:
                raw = self.session.client(
                    service, endpoint_url=self.endpoint_url, config=self._config
                )
                _install(raw.meta.events)
                self._clients[service] = CachedClient(raw, self._cache)
            return self._clients[service]

    def __getattr__(self, service: str) -> CachedClient:
        if service.startswith("_"):
            raise AttributeError(service)
        return self.client(service)

    def clear_cache(self) -> None:
        """Forget every memoised answer (before re-checking after a command)."""
        self._cache.clear()

    @property
    def account_id(self) -> str:
        return self.sts.get_caller_identity()["Account"]

    @property
    def region(self) -> str:
        return self.session.region_name or "us-east-1"

    def iter_pages(self, service: str, operation: str, result_key: str,
                   **kwargs: Any) -> Iterator[Any]:
        yield from self.client(service).paginate(operation, result_key, **kwargs)
