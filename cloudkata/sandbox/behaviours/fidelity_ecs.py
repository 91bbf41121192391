"""ECS answers AWS gives and moto does not: refusals with AWS's codes and words, never a crash.

Measured over HTTP against moto 5.2.5 (shared/design/sandbox-fidelity.md):

* ``DeleteCluster`` marked any cluster INACTIVE, even with services, running tasks or
  registered container instances. AWS refuses, with ``ClusterContainsServicesException``
  ("The Cluster cannot be deleted while Services are active."),
  ``ClusterContainsTasksException`` ("... while Tasks are active.") or
  ``ClusterContainsContainerInstancesException`` ("... while Container Instances are active or
  draining."): a teardown must delete services and let instances go first.
* ``DescribeCapacityProviders`` without names crashed (AWS lists every provider, including
  the ``FARGATE`` and ``FARGATE_SPOT`` providers every account has); naming ``FARGATE`` said
  MISSING.
* ``DeleteCapacityProvider`` of an unknown provider crashed (AWS: ClientException);
  ``CreateCapacityProvider`` without ``autoScalingGroupProvider`` crashed;
  ``DescribeContainerInstances`` in a cluster that never had an instance crashed (AWS: the
  instances are failures, reason MISSING).
* ``RunTask`` crashed for a task definition whose containers give no memory of their own
  (usual for Fargate, where ``memory`` is set at task level); AWS runs it.
* ``RunTask`` and ``CreateService`` with an ``awsvpcConfiguration`` without
  ``securityGroups`` crashed (KeyError); AWS uses the VPC's default security group.

Request hooks answer before moto where AWS would refuse, and otherwise let moto answer; two
patches fix the crashes. The refusals
``ecs_refusals`` makes (task definitions, services) stay there; these are the cluster- and
account-level ones.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import patches
from ..control import api, backends
from ..control.plane import ControlPlane, Request

JSON_11 = "application/x-amz-json-1.1"
BUILTIN_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
"""Capacity providers every account has (AWS lists them; nobody creates or deletes them)."""
LIVE_TASK_STATES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
                    "STOPPING", "DEPROVISIONING")


def _error(code: str, message: str) -> api.Response:
    return api.aws_error(code, message, content_type=JSON_11)


def _ecs(request: Request) -> Any | None:
    return backends.find("ecs", request.account_id, request.region)


def _short(reference: Any) -> str:
    """A cluster's or provider's name from its name or ARN."""
    return str(reference or "").rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- DeleteCluster


def cluster_blockers(ecs: Any, cluster_name: str) -> tuple[str, str] | None:
    """(error code, message) AWS answers to DeleteCluster for this cluster, or None."""
    services = [s for s in list(ecs.services.values())
                if s.cluster_name == cluster_name and s.status == "ACTIVE"]
    if services:
        return ("ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active.")
    tasks = [t for t in list(ecs.tasks.get(cluster_name, {}).values())
             if (t.last_status or "PENDING") in LIVE_TASK_STATES]
    if tasks:
        return ("ClusterContainsTasksException",
                "The Cluster cannot be deleted while Tasks are active.")
    instances = [c for c in list(ecs.container_instances.get(cluster_name, {}).values())
                 if c.status in ("ACTIVE", "DRAINING")]
    if instances:
        return ("ClusterContainsContainerInstancesException",
                "The Cluster cannot be deleted while Container Instances are active or "
                "draining.")
    return None


@api.before("ecs", action="DeleteCluster")
def refuse_delete_of_a_busy_cluster(plane: ControlPlane, request: Request) -> api.Response | None:
    """AWS keeps a cluster that still has active services, live tasks or registered
    instances; moto marked it INACTIVE under them."""
    ecs = _ecs(request)
    name = _short(request.params.get("cluster"))
    if ecs is None or not name or name not in ecs.clusters:
        return None  # moto answers ClusterNotFoundException
    blocker = cluster_blockers(ecs, name)
    return _error(*blocker) if blocker else None


# --------------------------------------------------------------------------- capacity providers


def _provider_arn(ecs: Any, name: str) -> str:
    return f"arn:aws:ecs:{ecs.region_name}:{ecs.account_id}:capacity-provider/{name}"


def _builtin(ecs: Any, name: str) -> dict[str, Any]:
    return {"capacityProviderArn": _provider_arn(ecs, name), "name": name, "status": "ACTIVE",
            "tags": []}


def _provider_json(provider: Any, with_tags: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"capacityProviderArn": provider.capacity_provider_arn,
                              "name": provider.name, "status": provider.status}
    if provider.auto_scaling_group_provider:
        answer["autoScalingGroupProvider"] = provider.auto_scaling_group_provider
    if provider.update_status:
        answer["updateStatus"] = provider.update_status
    answer["tags"] = list(provider.tags or []) if with_tags else []
    return answer


@api.before("ecs", action="DescribeCapacityProviders")
def describe_capacity_providers(plane: ControlPlane, request: Request) -> api.Response:
    """No names: every provider, then FARGATE and FARGATE_SPOT, 10 to a page unless
    ``maxResults`` says otherwise (AWS's default). Named ones: found, or MISSING failures."""
    ecs = _ecs(request) or backends.backend("ecs", request.account_id, request.region)
    params = request.params
    with_tags = "TAGS" in (params.get("include") or [])
    names = params.get("capacityProviders")
    if names:
        found, failures = [], []
        for reference in names:
            name = _short(reference)
            provider = ecs._get_provider(reference) or ecs._get_provider(name)
            if provider is not None:
                found.append(_provider_json(provider, with_tags))
            elif name in BUILTIN_PROVIDERS:
                found.append(_builtin(ecs, name))
            else:
                arn = reference if str(reference).startswith("arn:") else _provider_arn(
                    ecs, name)
                failures.append({"arn": arn, "reason": "MISSING"})
        return api.Response(200, {"capacityProviders": found, "failures": failures}, JSON_11)
    every = [_provider_json(p, with_tags) for p in list(ecs.capacity_providers.values())]
    every += [_builtin(ecs, name) for name in BUILTIN_PROVIDERS]
    try:
        limit = int(params.get("maxResults") or 10)
        start = int(params.get("nextToken") or 0)
    except (TypeError, ValueError):
        return _error("InvalidParameterException", "The specified nextToken is not valid.")
    if not 1 <= limit <= 10:
        return _error("InvalidParameterException", "maxResults must be between 1 and 10.")
    body: dict[str, Any] = {"capacityProviders": every[start:start + limit], "failures": []}
    if start + limit < len(every):
        body["nextToken"] = str(start + limit)
    return api.Response(200, body, JSON_11)


@api.before("ecs", action="DeleteCapacityProvider")
def refuse_delete_of_an_unknown_provider(plane: ControlPlane,
                                         request: Request) -> api.Response | None:
    ecs = _ecs(request)
    reference = str(request.params.get("capacityProvider") or "")
    if ecs is None or not reference or ecs._get_provider(reference) is not None:
        return None
    return _error("ClientException",
                  "The specified capacity provider does not exist. Specify a valid name or "
                  "ARN and try again.")


@api.before("ecs", action="CreateCapacityProvider")
def refuse_a_provider_without_capacity(plane: ControlPlane,
                                       request: Request) -> api.Response | None:
    params = request.params
    if params.get("autoScalingGroupProvider") or params.get("managedInstancesProvider"):
        return None
    return _error("ClientException",
                  "One of autoScalingGroupProvider or managedInstancesProvider must be "
                  "specified.")


# --------------------------------------------------------------------------- container instances


@api.before("ecs", action="DescribeContainerInstances")
def describe_instances_of_an_empty_cluster(plane: ControlPlane,
                                           request: Request) -> api.Response | None:
    """moto keys container instances by cluster and fails (KeyError) for a cluster that never
    had one; give the cluster its empty entry so moto answers MISSING, as AWS does."""
    ecs = _ecs(request)
    name = _short(request.params.get("cluster") or "default")
    if ecs is not None and name in ecs.clusters:
        ecs.container_instances.setdefault(name, {})
    return None


# --------------------------------------------------------------------------- task memory

_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")


def _has_memory(container: dict[str, Any]) -> bool:
    return any(container.get(key) is not None for key in _MEMORY_KEYS)


def _patch_container_memory_may_be_task_level() -> None:
    """Restore: a container without memory or memoryReservation (the task definition gives
    task-level memory, as Fargate's do) reserves no memory of its own instead of crashing
    moto's RunTask with a TypeError."""
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.wrap(EC2ContainerServiceBackend, "_calculate_task_resource_requirements",
                  why="containers without their own memory (task-level memory) count 0 MiB "
                      "instead of crashing RunTask")
    def _calculate_task_resource_requirements(original: Any, self: Any,
                                              task_definition: Any) -> Any:
        containers = list(task_definition.container_definitions or [])
        if all(_has_memory(container) for container in containers):
            return original(task_definition)
        clone = copy.copy(task_definition)
        clone.container_definitions = [c if _has_memory(c) else {**c, "memory": 0}
                                       for c in containers]
        return original(clone)


_patch_container_memory_may_be_task_level()


# --------------------------------------------------------------------------- awsvpc defaults


def with_default_security_group(account_id: str, region: str,
                                configuration: Any) -> Any:
    """An awsvpc network configuration with the VPC's default security group when it names
    none ("If you don't specify a security group, the default security group for the VPC is
    used", AwsVpcConfiguration)."""
    if not isinstance(configuration, dict):
        return configuration
    vpc_config = configuration.get("awsvpcConfiguration")
    if not isinstance(vpc_config, dict) or vpc_config.get("securityGroups"):
        return configuration
    subnets = vpc_config.get("subnets") or []
    ec2 = backends.find("ec2", account_id, region)
    groups: list[str] = []
    if ec2 is not None and subnets:
        try:
            subnet = ec2.get_subnet(subnets[0])
            default = ec2.get_default_security_group(subnet.vpc_id)
            groups = [default.id] if default is not None else []
        except Exception:  # noqa: BLE001 - a wrong subnet is moto's to report
            groups = []
    return {**configuration, "awsvpcConfiguration": {**vpc_config, "securityGroups": groups}}


def _patch_awsvpc_without_security_groups() -> None:
    """Restore: awsvpc tasks and services without securityGroups get the VPC's default
    security group (moto: KeyError)."""
    from moto.ecs.models import Service, Task

    @patches.wrap(Task, "__init__",
                  why="an awsvpc task without securityGroups gets the VPC's default group")
    def __init__(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        backend = kwargs.get("backend")
        cluster = kwargs.get("cluster")
        if kwargs.get("networking_configuration") and backend is not None and cluster:
            kwargs["networking_configuration"] = with_default_security_group(
                backend.account_id, cluster.region_name, kwargs["networking_configuration"])
        original(self, *args, **kwargs)

    @patches.wrap(Service, "_validate_network",
                  why="an awsvpc service without securityGroups gets the VPC's default group")
    def _validate_network(original: Any, self: Any, configuration: Any) -> Any:
        return original(self, with_default_security_group(self._account_id, self.region_name,
                                                          configuration))


_patch_awsvpc_without_security_groups()
