"""A read-only view of an AWS target, shared by one run of checks.

Read-only *by construction*: a botocore ``before-call`` hook refuses any operation whose name
does not start with a read verb, before a request is signed or sent. Grading a real account is
therefore safe even if a check has a bug. Calls are memoised for the lifetime of one run, so
checks stay pure functions of state and a whole step costs a handful of API calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Lookup", "Search")


class ReadOnlyViolation(PermissionError):
    """A check tried to call an operation that could change state."""


def is_read_operation(operation_name: str) -> bool:
    return operation_name.startswith(READ_PREFIXES)


def _refuse_writes(model: Any, **_: Any) -> None:
    if not is_read_operation(model.name):
        raise ReadOnlyViolation(
            f"{model.service_model.service_name}:{model.name} is not a read operation; "
            "checks may only Describe, List or Get."
        )


def make_read_only(session: boto3.Session) -> boto3.Session:
    """Install the write-refusing hook on every client this session will create."""
    session.events.register("before-call", _refuse_writes, unique_id="cloudkata-read-only")
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


class CachedClient:
    """A boto3 client whose read calls are memoised by operation and arguments."""

    def __init__(self, client: Any, cache: dict[tuple[str, str, str], Any]) -> None:
        self._client = client
        self._cache = cache
        self._service = client.meta.service_model.service_name

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name.startswith(("get_paginator", "get_waiter", "can_")):
            return method

        def call(**kwargs: Any) -> Any:
            key = (self._service, name, json.dumps(kwargs, sort_keys=True, default=str))
            if key not in self._cache:
                self._cache[key] = method(**kwargs)
            return self._cache[key]

        return call

    def paginate(self, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        """All items of a paginated list call, memoised like any other call."""
        key = (self._service, f"paginate:{operation}:{result_key}",
               json.dumps(kwargs, sort_keys=True, default=str))
        if key not in self._cache:
            items: list[Any] = []
            for page in self._client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(result_key, []))
            self._cache[key] = items
        return self._cache[key]


class ReadOnlyAws:
    """Lazily made, cached, read-only clients: ``aws.iam.get_role(RoleName=...)``."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None = None,
                 *, ignore_configured_endpoints: bool = False) -> None:
        self.session = make_read_only(session)
        self.endpoint_url = endpoint_url
        self._clients: dict[str, CachedClient] = {}
        self._cache: dict[tuple[str, str, str], Any] = {}
        self._config = Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=3,
            read_timeout=20,
            # real AWS must mean real AWS, even if the shell still exports AWS_ENDPOINT_URL
            ignore_configured_endpoint_urls=ignore_configured_endpoints,
        )

    def client(self, service: str) -> CachedClient:
        if service not in self._clients:
            raw = self.session.client(
                service, endpoint_url=self.endpoint_url, config=self._config
            )
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
