"""Shared pieces of the EKS behaviour: state layout, simulated timestamps, REST answers.

EKS speaks REST-JSON: every operation is a method and a path (``POST /clusters/{name}/addons``)
and errors carry their code in the ``x-amzn-ErrorType`` header with a JSON ``message``. The
modules ``eks``, ``eks_nodes``, ``eks_addons`` and ``eks_access`` share what is here. State moto
has no place for lives in ``plane.module_state("eks", dict)`` as plain data, keyed by
``account/region/cluster``, so it is saved with the sandbox snapshot and cleared on reset.

This module registers nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote

from ..control import api
from ..control.backends import find
from ..control.plane import ControlPlane, Request

STATE = "eks"
SECTIONS = ("clusters", "nodegroups", "fargate", "addons", "access", "pod_identity", "updates")
JSON = "application/json"

ERROR_STATUS = {
    "ResourceNotFoundException": 404,
    "ResourceInUseException": 409,
    "InvalidParameterException": 400,
    "InvalidRequestException": 400,
    "ResourceLimitExceededException": 400,
    "ClientException": 400,
    "ServerException": 500,
    "NotFoundException": 404,
    "BadRequestException": 400,
}


def state(plane: ControlPlane) -> dict[str, dict[str, Any]]:
    """The EKS module state, with every section present."""
    data: dict[str, dict[str, Any]] = plane.module_state(STATE, dict)
    for section in SECTIONS:
        data.setdefault(section, {})
    return data


def cluster_key(account: str, region: str, name: str) -> str:
    return f"{account}/{region}/{name}"


def sim_datetime(seconds: float) -> dt.datetime:
    """A naive UTC datetime, as moto keeps its timestamps, for a simulated epoch time."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def error(code: str, message: str, **fields: Any) -> api.Response:
    """An EKS error as botocore's REST-JSON parser reads it (header type, body message)."""
    body = {"message": message, **{k: v for k, v in fields.items() if v is not None}}
    return api.Response(ERROR_STATUS.get(code, 400), body, JSON, {"x-amzn-ErrorType": code})


def ok(body: dict[str, Any]) -> api.Response:
    return api.Response(200, body, JSON)


def eks_backend(request: Request) -> Any | None:
    """moto's EKS backend for the caller's account and region, if any request created it."""
    return find("eks", request.account_id, request.region)


def cluster_not_found(name: str) -> api.Response:
    return error("ResourceNotFoundException", f"No cluster found for name: {name}.",
                 clusterName=name)


def not_active(name: str) -> api.Response:
    """What EKS answers when a cluster is CREATING, UPDATING or DELETING."""
    return error("InvalidRequestException", f"Cluster '{name}' is not in ACTIVE status",
                 clusterName=name)


def get_cluster(request: Request, name: str) -> tuple[Any | None, api.Response | None]:
    """(cluster, None) or (None, the ResourceNotFoundException EKS answers)."""
    backend = eks_backend(request)
    cluster = backend.clusters.get(name) if backend is not None else None
    if cluster is None:
        return None, cluster_not_found(name)
    return cluster, None


def path_parts(request: Request) -> list[str]:
    """The decoded path segments (``/clusters/c/addons/a`` -> ``[clusters, c, addons, a]``)."""
    return [unquote(part) for part in request.path.strip("/").split("/")]


def param(request: Request, name: str, default: Any = None) -> Any:
    value = request.params.get(name, default)
    if isinstance(value, list) and name not in ("types", "publishers", "owners"):
        return value[0] if value else default
    return value


def paginate(items: list[Any], request: Request, limit: int = 100) -> tuple[list[Any], str | None]:
    """One page of ``items`` for maxResults/nextToken (tokens are plain offsets)."""
    try:
        size = int(param(request, "maxResults") or limit)
        start = int(param(request, "nextToken") or 0)
    except (TypeError, ValueError):
        size, start = limit, 0
    page = items[start:start + max(size, 1)]
    following = start + len(page)
    return page, (str(following) if following < len(items) else None)


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record without its private ``_`` bookkeeping fields."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def random_id(length: int = 17) -> str:
    """Lower-case letters and digits, as EKS's pod identity association ids use."""
    from moto.moto_api._internal import mock_random

    return mock_random.get_random_string(length, include_digits=True, lower_case=True)


def random_uuid() -> str:
    from moto.moto_api._internal import mock_random

    return str(mock_random.uuid4())


def record_update(plane: ControlPlane, key: str, update_type: str,
                  params: list[dict[str, str]], duration: float, *,
                  nodegroup: str | None = None, addon: str | None = None,
                  effect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keep an EKS update (DescribeUpdate/ListUpdates); it succeeds after ``duration``."""
    now = plane.now()
    update = {
        "id": random_uuid(),
        "status": "InProgress",
        "type": update_type,
        "params": params,
        "createdAt": now,
        "errors": [],
        "_finish": now + duration,
        "_nodegroup": nodegroup,
        "_addon": addon,
        "_effect": effect or {},
    }
    state(plane)["updates"].setdefault(key, {})[update["id"]] = update
    return update


def in_progress(plane: ControlPlane, key: str, *, nodegroup: str | None = None,
                addon: str | None = None) -> list[dict[str, Any]]:
    """Updates still running for the cluster (or one of its node groups or add-ons)."""
    return [u for u in state(plane)["updates"].get(key, {}).values()
            if u["status"] == "InProgress" and u["_nodegroup"] == nodegroup
            and u["_addon"] == addon]
