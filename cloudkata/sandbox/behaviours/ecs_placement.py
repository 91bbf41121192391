"""Where ECS places a task, and what it says when a task fits nowhere.

A task goes to an ACTIVE container instance (of the service's capacity provider, if it uses
one) whose EC2 instance runs and that has the CPU, memory and ports it needs, chosen by the
placement strategy (spread by an attribute or instanceId, binpack by cpu/memory, random;
distinctInstance) or AWS's default spread across Availability Zones, then instances. Bridge
mode's dynamic host ports are taken here; awsvpc tasks get an ENI in a subnet of their
instance's zone, spread over the given subnets. Fargate tasks need no instance. When a task
fits nowhere, the closest instance's reason becomes AWS's service event ("... is already using a
port required by your task ..."), or RunTask's ``failures``. RunTask (standalone tasks) is
patched here, since placing is all it does that moto does not.
"""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from .. import patches
from .ecs_resources import (
    _bindings_in_use,
    _dynamic_port,
    _host_up,
    _Needs,
    _remaining,
    _reserve,
    _why_not,
)
from .ecs_state import _Context, _context_for
from .ecs_tasks import _prepare_task

DEFAULT_STRATEGY = [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                    {"type": "spread", "field": "instanceId"}]
TROUBLESHOOTING = ("For more information, see the Troubleshooting section of the Amazon ECS "
                   "Developer Guide.")

_RUN_TASK_FAILURES: list[dict[str, str]] = []
"""Failures of the RunTask being answered (requests are serialised by the plane's lock)."""


class _Placement:
    """Placed tasks, and why the others did not fit (per container instance)."""

    def __init__(self) -> None:
        self.tasks: list[Any] = []
        self.failures: dict[str, str] = {}
        self.closest: tuple[Any, str] | None = None
        self.no_instances = False
        self.in_capacity_provider = False
        self.error: str | None = None


def _closeness(reason: str) -> int:
    return {"RESOURCE:PORTS": 0, "RESOURCE:PORTS_UDP": 0, "RESOURCE:CPU": 1,
            "RESOURCE:MEMORY": 2, "AGENT": 3}.get(reason, 4)


def _attribute(instance: Any, field: str) -> str:
    if field in ("instanceId", "host"):
        return instance.ec2_instance_id
    if field.startswith("attribute:"):
        return str(instance.attributes.get(field[len("attribute:"):]))
    return ""


def _choose(candidates: list[Any], instances: list[Any], strategy: list[dict[str, Any]],
            group_tasks: list[Any]) -> Any:
    """The container instance the placement strategy picks among those the task fits on.
    Spread counts the group's tasks on every instance of the cluster (per AZ, per instance)."""
    hosts = {instance.container_instance_arn: instance for instance in instances}

    def score(position: int, instance: Any) -> tuple[Any, ...]:
        key: list[Any] = []
        for step in strategy:
            kind = (step.get("type") or "").lower()
            field = step.get("field") or ""
            if kind == "spread":
                value = _attribute(instance, field)
                key.append(sum(1 for t in group_tasks
                               if t.container_instance_arn in hosts
                               and _attribute(hosts[t.container_instance_arn], field) == value))
            elif kind == "binpack":
                name = "CPU" if field.lower() == "cpu" else "MEMORY"
                key.append(_remaining(instance, name))
            elif kind == "random":
                key.append(random.random())
        key.append(position)
        return tuple(key)

    return min(enumerate(candidates), key=lambda item: score(*item))[1]


def _place(ctx: _Context, cluster: Any, definition: Any, count: int, *, group: str,
           started_by: str, strategy: list[dict[str, Any]] | None,
           constraints: list[dict[str, Any]] | None, launch_type: str | None,
           network_configuration: dict[str, Any] | None, capacity_provider: str | None,
           overrides: dict[str, Any] | None = None, tags: list[dict[str, str]] | None = None,
           fargate: bool = False) -> _Placement:
    """Create up to ``count`` PENDING tasks where they fit, as ECS's placement engine would."""
    from moto.ecs.models import Task

    result = _Placement()
    ecs = ctx.ecs
    needs = _Needs(definition)
    tasks_of_cluster = ecs.tasks.setdefault(cluster.name, {})
    group_tasks = [t for t in tasks_of_cluster.values()
                   if t.group == group and t.last_status != "STOPPED"]
    if fargate:
        for _ in range(count):
            configuration = _rotated(network_configuration, len(group_tasks))
            try:
                task = Task(cluster, definition, None, None, backend=ecs, group=group,
                            launch_type=launch_type or "", overrides=overrides or {},
                            started_by=started_by, tags=tags or [],
                            networking_configuration=configuration,
                            capacity_provider_name=capacity_provider)
            except Exception as exc:  # noqa: BLE001 - e.g. a subnet that does not exist
                result.error = str(getattr(exc, "message", exc))
                break
            _prepare_task(ctx, task, definition, needs, {}, _subnet_zone(ctx, configuration),
                          {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []})
            tasks_of_cluster[task.task_arn] = task
            group_tasks.append(task)
            result.tasks.append(task)
        return result
    instances = [i for i in ecs.container_instances.get(cluster.name, {}).values()
                 if i.status == "ACTIVE"]
    if capacity_provider:
        # a capacity provider's tasks go only to the instances of its Auto Scaling group
        instances = [i for i in instances
                     if getattr(i, "capacity_provider_name", None) == capacity_provider]
        result.in_capacity_provider = True
    if not instances:
        result.no_instances = True
        return result
    distinct = any((c.get("type") or "") == "distinctInstance" for c in constraints or [])
    used = _bindings_in_use(ecs, cluster.name)
    down = {i.container_instance_arn for i in instances if not _host_up(ctx, i)}
    for _ in range(count):
        candidates = []
        for instance in instances:
            reason = "AGENT" if instance.container_instance_arn in down else _why_not(
                instance, needs, used.get(instance.container_instance_arn, set()))
            if reason is None and distinct and any(
                    t.container_instance_arn == instance.container_instance_arn
                    for t in group_tasks):
                reason = "DistinctInstance placement constraint unsatisfied."
            if reason is None:
                candidates.append(instance)
            else:
                result.failures[instance.container_instance_arn] = reason
                if result.closest is None or _closeness(reason) < _closeness(result.closest[1]):
                    result.closest = (instance, reason)
        if not candidates:
            break
        instance = _choose(candidates, instances, strategy or DEFAULT_STRATEGY, group_tasks)
        held = used.setdefault(instance.container_instance_arn, set())
        bindings: dict[str, list[dict[str, Any]]] = {}
        for name, container_port, host_port, protocol in needs.fixed:
            bindings.setdefault(name, []).append(
                {"bindIP": "0.0.0.0", "containerPort": container_port, "hostPort": host_port,
                 "protocol": protocol})
            held.add((host_port, protocol))
        for name, container_port, protocol in needs.dynamic:
            host_port = _dynamic_port(held, protocol)
            held.add((host_port, protocol))
            bindings.setdefault(name, []).append(
                {"bindIP": "0.0.0.0", "containerPort": container_port, "hostPort": host_port,
                 "protocol": protocol})
        requirements = {"CPU": needs.cpu, "MEMORY": needs.memory,
                        "PORTS": needs.fixed_ports("tcp"), "PORTS_UDP": needs.fixed_ports("udp")}
        zone = instance.attributes.get("ecs.availability-zone")
        try:
            task = Task(cluster, definition, instance.container_instance_arn, requirements,
                        backend=ecs, group=group, launch_type=launch_type or "",
                        overrides=overrides or {}, started_by=started_by, tags=tags or [],
                        networking_configuration=_in_zone(ctx, network_configuration, zone),
                        capacity_provider_name=capacity_provider)
        except Exception as exc:  # noqa: BLE001 - e.g. awsvpc without a network configuration
            result.error = str(getattr(exc, "message", exc))
            break
        _reserve(instance, requirements, 1)
        _prepare_task(ctx, task, definition, needs, bindings, zone, requirements)
        tasks_of_cluster[task.task_arn] = task
        group_tasks.append(task)
        result.tasks.append(task)
    return result


def _rotated(configuration: dict[str, Any] | None, offset: int) -> dict[str, Any] | None:
    """Spread awsvpc tasks over the given subnets (moto puts every ENI in the first one)."""
    if not configuration or "awsvpcConfiguration" not in configuration:
        return configuration
    subnets = list(configuration["awsvpcConfiguration"].get("subnets") or [])
    if len(subnets) < 2:
        return configuration
    shift = offset % len(subnets)
    rotated = json.loads(json.dumps(configuration))
    rotated["awsvpcConfiguration"]["subnets"] = subnets[shift:] + subnets[:shift]
    return rotated


def _in_zone(ctx: _Context, configuration: dict[str, Any] | None,
             zone: str | None) -> dict[str, Any] | None:
    """An awsvpc task on EC2 gets its ENI in a given subnet of its instance's zone."""
    subnets = ((configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
    if len(subnets) < 2 or ctx.ec2 is None or zone is None:
        return configuration
    for offset, subnet in enumerate(subnets):
        with contextlib.suppress(Exception):
            if ctx.ec2.get_subnet(subnet).availability_zone == zone:
                return _rotated(configuration, offset)
    return configuration


def _subnet_zone(ctx: _Context, configuration: dict[str, Any] | None) -> str | None:
    subnets = ((configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
    if not subnets or ctx.ec2 is None:
        return None
    try:
        return ctx.ec2.get_subnet(subnets[0]).availability_zone
    except Exception:  # noqa: BLE001
        return None


def _unplaced_message(service: Any, placement: _Placement) -> str:
    head = (f"service {service.name} was unable to place a task because no container instance "
            f"met all of its requirements.")
    if placement.no_instances:
        where = "capacity provider" if placement.in_capacity_provider else "cluster"
        return (f"{head} Reason: No Container Instances were found in your {where}. "
                f"{TROUBLESHOOTING}")
    if placement.closest is None:
        return f"{head} {TROUBLESHOOTING}"
    instance, reason = placement.closest
    closest = f"The closest matching container-instance {instance.id}"
    detail = {"RESOURCE:PORTS": "is already using a port required by your task",
              "RESOURCE:PORTS_UDP": "is already using a port required by your task",
              "RESOURCE:CPU": "has insufficient CPU units available",
              "RESOURCE:MEMORY": "has insufficient memory available",
              "AGENT": "has an agent that is disconnected"}.get(
        reason, "does not meet the task's placement constraints")
    return f"{head} {closest} {detail}. {TROUBLESHOOTING}"


# ---------------------------------------------------------------------------------------------
# moto patch: RunTask


def _patch_run_task() -> None:
    """RunTask on EC2: placed by CPU, memory and ports, dynamic host ports from 32768-60999 in
    networkBindings, PENDING then RUNNING; AWS's failures ("RESOURCE:MEMORY", "AGENT", ...)
    instead of moto's 500; "No Container Instances were found in your cluster." when empty."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    @patches.wrap(EC2ContainerServiceBackend, "run_task",
                  why="RunTask placed by CPU, memory and ports, with AWS's failures")
    def run_task(original: Any, self: Any, cluster_str: str, task_definition_str: str,
                 count: int, overrides: dict[str, Any] | None, started_by: str,
                 tags: list[dict[str, str]] | None, launch_type: str | None,
                 networking_configuration: dict[str, Any] | None = None,
                 group: str | None = None, platform_version: str | None = None,
                 capacity_provider_strategy: list[dict[str, Any]] | None = None) -> list[Any]:
        _RUN_TASK_FAILURES.clear()
        if launch_type and launch_type not in ["EC2", "FARGATE", "EXTERNAL"]:
            raise InvalidParameterException("launch type should be one of [EC2,FARGATE,EXTERNAL]")
        if launch_type and capacity_provider_strategy:
            raise InvalidParameterException(
                "Specify either Launch Type or Capacity Provider Strategy, but not both.")
        cluster = self._get_cluster(cluster_str)
        strategy = capacity_provider_strategy
        if not launch_type and not strategy:
            strategy = cluster.default_capacity_provider_strategy
        provider = strategy[0]["capacityProvider"] if strategy else None
        definition = self.describe_task_definition(task_definition_str)
        ctx = _context_for(self)
        if launch_type == "FARGATE" or provider in ("FARGATE", "FARGATE_SPOT"):
            tasks = original(self, cluster_str, task_definition_str, count, overrides,
                             started_by, tags, launch_type, networking_configuration, group,
                             platform_version, capacity_provider_strategy)
            needs = _Needs(definition)
            for task in tasks:
                _prepare_task(ctx, task, definition, needs, {},
                              _subnet_zone(ctx, networking_configuration),
                              {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []})
            return tasks
        placement = _place(ctx, cluster, definition, count,
                           group=group or f"family:{definition.family}",
                           started_by=started_by or "", strategy=None, constraints=None,
                           launch_type=launch_type or ("EC2" if not provider else None),
                           network_configuration=networking_configuration,
                           capacity_provider=provider, overrides=overrides, tags=tags)
        if placement.no_instances:
            raise InvalidParameterException("No Container Instances were found in your cluster.")
        if placement.error and not placement.tasks:
            raise InvalidParameterException(placement.error)
        if len(placement.tasks) < count:
            _RUN_TASK_FAILURES.extend({"arn": arn, "reason": reason}
                                      for arn, reason in placement.failures.items())
        return placement.tasks

    @patches.wrap(EC2ContainerServiceResponse, "run_task",
                  why="RunTask's answer lists the tasks that could not be placed")
    def run_task_response(original_response: Any, self: Any) -> Any:
        _RUN_TASK_FAILURES.clear()
        result = original_response(self)
        result.result["failures"] = list(_RUN_TASK_FAILURES)
        _RUN_TASK_FAILURES.clear()
        return result


_patch_run_task()
