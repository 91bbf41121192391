"""Capacity-provider managed scaling: the Auto Scaling group grows when tasks cannot be placed.

On AWS, a capacity provider with managed scaling ENABLED publishes CapacityProviderReservation
and a target-tracking policy on its Auto Scaling group keeps it at targetCapacity: when a
service's tasks cannot be placed for lack of instances, the group scales out (by at least
minimumScalingStepSize, at most maximumScalingStepSize), and instances that run no tasks are
scaled in after about 15 minutes. moto stores the setting and does nothing; here we act on it,
one step per simulated minute, never beyond the group's MinSize/MaxSize, and never while
instances launched earlier are still booting (so one shortage does not launch twice).
"""

from __future__ import annotations

import math
from typing import Any

from ..control import api
from ..control.backends import find, loaded
from ..control.plane import ControlPlane, Request, reconciler

STATE = "ecs_managed_scaling"
EVALUATE_EVERY = 60.0
SCALE_IN_AFTER = 15 * 60.0


def _group_name(provider: Any) -> str:
    arn = provider.auto_scaling_group_provider.get("autoScalingGroupArn", "")
    return arn.split("autoScalingGroupName/")[-1]


def _memory(plane: ControlPlane) -> dict[str, Any]:
    return plane.module_state(STATE, lambda: {"providers": {}, "explicit": {}})


def _uses(service: Any, cluster: Any, provider_name: str, explicit_types: dict) -> bool:
    """A service uses the provider by its own strategy, or by the cluster's default when it
    named neither a strategy nor a launch type (moto fills in "EC2"; we remember who did)."""
    explicit = service.name in explicit_types.get(cluster.name, [])
    strategy = getattr(service, "capacity_provider_strategy", None) or (
        [] if explicit else (cluster.default_capacity_provider_strategy or []))
    return any(item.get("capacityProvider") == provider_name for item in strategy)


@api.after("ecs", action="CreateService")
def _remember_launch_type(plane: ControlPlane, request: Request, _: Any) -> None:
    if request.params.get("launchType"):
        cluster = str(request.params.get("cluster") or "default").rsplit("/", 1)[-1]
        _memory(plane)["explicit"].setdefault(cluster, []).append(
            str(request.params["serviceName"]))


def _shortfall(ecs: Any, provider: Any, explicit: dict) -> int:
    """Tasks that services on this provider want but that neither run nor wait to start."""
    missing = 0
    for cluster in ecs.clusters.values():
        if provider.name not in (cluster.capacity_providers or []):
            continue
        for service in ecs.services.values():
            if service.cluster_name != cluster.name or service.status != "ACTIVE":
                continue
            if _uses(service, cluster, provider.name, explicit):
                missing += max(0, service.desired_count - (service.running_count or 0)
                               - (service.pending_count or 0))
    return missing


def _registered(ecs: Any, instance_ids: set[str]) -> dict[str, Any]:
    found = {}
    for instances in ecs.container_instances.values():
        for instance in instances.values():
            if instance.ec2_instance_id in instance_ids and instance.status == "ACTIVE":
                found[instance.ec2_instance_id] = instance
    return found


def _live_instances(group: Any) -> set[str]:
    return {state.instance.id for state in group.instance_states
            if state.instance.state not in ("terminated", "shutting-down", "stopped")}


@reconciler(35)
def managed_scaling(plane: ControlPlane) -> None:
    memory = _memory(plane)
    now = plane.now()
    for account, region, ecs in loaded("ecs"):
        asg = find("autoscaling", account, region)
        if asg is None:
            continue
        for provider in list(ecs.capacity_providers.values()):
            scaling = provider.auto_scaling_group_provider.get("managedScaling") or {}
            if scaling.get("status") != "ENABLED":
                continue
            group = asg.autoscaling_groups.get(_group_name(provider))
            if group is None:
                continue
            seen = memory["providers"].setdefault(provider.capacity_provider_arn,
                                                  {"last": 0.0, "empty_since": {}})
            if now - seen["last"] < EVALUATE_EVERY:
                continue
            live = _live_instances(group)
            registered = _registered(ecs, live)
            booting = len(live) < (group.desired_capacity or 0) or len(registered) < len(live)
            missing = _shortfall(ecs, provider, memory["explicit"])
            step_min = int(scaling.get("minimumScalingStepSize") or 1)
            step_max = int(scaling.get("maximumScalingStepSize") or 10000)
            desired = group.desired_capacity or 0
            if missing and not booting and desired < group.max_size:
                per_instance = max(1, _tasks_per_instance(ecs, provider, registered,
                                                          memory["explicit"]))
                step = min(step_max, max(step_min, math.ceil(missing / per_instance)))
                group.set_desired_capacity(min(group.max_size, desired + step))
                seen["last"] = now
                continue
            empty = {iid for iid, instance in registered.items()
                     if not instance.running_tasks_count}
            since = seen["empty_since"]
            for iid in list(since):
                if iid not in empty:
                    del since[iid]
            for iid in empty:
                since.setdefault(iid, now)
            idle = [iid for iid, start in since.items() if now - start >= SCALE_IN_AFTER]
            target = int(scaling.get("targetCapacity") or 100)
            if idle and not missing and target == 100 and desired > group.min_size:
                group.set_desired_capacity(max(group.min_size, desired - max(step_min, 1)))
                seen["last"] = now
                since.clear()


def _tasks_per_instance(ecs: Any, provider: Any, registered: dict[str, Any],
                        explicit: dict) -> int:
    """How many of the waiting tasks one more instance would take, judged by memory."""
    sizes = [int(r.get("integerValue", 0)) for instance in registered.values()
             for r in instance.registered_resources if r.get("name") == "MEMORY"]
    capacity = max(sizes) if sizes else 982
    wanted = []
    for cluster in ecs.clusters.values():
        for service in ecs.services.values():
            if service.cluster_name == cluster.name and _uses(service, cluster, provider.name,
                                                              explicit):
                try:
                    definition = ecs.describe_task_definition(service.task_definition)
                except Exception:  # noqa: BLE001 - a deregistered revision: skip it
                    continue
                memory = getattr(definition, "memory", None) or sum(
                    int(c.get("memory") or c.get("memoryReservation") or 0)
                    for c in getattr(definition, "container_definitions", []))
                if memory:
                    wanted.append(int(memory))
    return capacity // max(wanted) if wanted else 1
