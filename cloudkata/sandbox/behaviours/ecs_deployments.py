"""ECS services: desired count, rolling deployments, circuit breaker, steady state, events.

moto stores a service and does nothing more; update-service makes no new deployment, so ``aws
ecs wait services-stable`` never returns. Here each pass of the scheduler keeps desiredCount
tasks of an ACTIVE service (DAEMON: one per ACTIVE container instance): it stops tasks the load
balancer finds unhealthy after the grace period, scales in newest first, starts what is missing
within maximumPercent, and stops old tasks while minimumHealthyPercent stays met. Deployments
are PRIMARY and ACTIVE with rolloutState IN_PROGRESS -> COMPLETED (or FAILED by the circuit
breaker, with rollback to the last revision that completed), and the service events AWS
writes, down to "(service NAME) has reached a steady state.". CreateService, UpdateService and
DeleteService are patched to keep what moto drops and to make deployments as AWS does.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

from .. import patches
from .ecs_placement import _place, _unplaced_message
from .ecs_state import _Context, _definition, _event, _now, _service_info, _state, _task_info
from .ecs_tasks import LIVE, _stop

UNPLACED_EVENT_EVERY = 300.0
"""How often an unchanged "unable to place a task" event is repeated."""
DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def _new_deployment(service: Any, now: float) -> dict[str, Any]:
    identifier = f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"
    deployment: dict[str, Any] = {
        "id": identifier, "status": "PRIMARY", "taskDefinition": service.task_definition,
        "desiredCount": service.desired_count, "pendingCount": 0, "runningCount": 0,
        "failedTasks": 0, "createdAt": now, "updatedAt": now,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {identifier} in progress.",
    }
    if getattr(service, "capacity_provider_strategy", None):
        deployment["capacityProviderStrategy"] = service.capacity_provider_strategy
    else:
        deployment["launchType"] = service.launch_type
    if service.network_configuration:
        deployment["networkConfiguration"] = service.network_configuration
    if service.launch_type == "FARGATE":
        deployment["platformVersion"] = service.platform_version or "1.4.0"
        deployment["platformFamily"] = "Linux"
    return deployment


def _adopt(service: Any, now: float, given: dict[str, Any] | None = None) -> None:
    """Give a service what AWS shows and moto drops; once, at creation (or first sight, for
    services moto made itself, e.g. from CloudFormation)."""
    state = _state()["services"]
    if given is None and (service.arn in state or getattr(service, "created_at", None)):
        state.setdefault(service.arn, {"steady": False})  # e.g. state restored without it
        return
    given = given or {}
    configuration = json.loads(json.dumps(DEFAULT_DEPLOYMENT_CONFIGURATION))
    if service.scheduling_strategy == "DAEMON":
        configuration.update(maximumPercent=100, minimumHealthyPercent=0)
    configuration.update(given.get("deploymentConfiguration") or {})
    service.deployment_configuration = configuration
    grace = given.get("healthCheckGracePeriodSeconds")
    service.health_check_grace_period_seconds = (
        int(grace) if grace is not None else (0 if service.load_balancers else None))
    service.placement_strategy = given.get("placementStrategy") or []
    service.placement_constraints = given.get("placementConstraints") or []
    if given.get("capacityProviderStrategy"):
        service.capacity_provider_strategy = given["capacityProviderStrategy"]
        service.launch_type = None
    for name, attribute in (("enableECSManagedTags", "enable_ecs_managed_tags"),
                            ("enableExecuteCommand", "enable_execute_command")):
        if name in given:
            setattr(service, attribute, bool(given[name]))
    service.created_at = now
    service.running_count = 0
    service.pending_count = 0
    service.deployments = ([_new_deployment(service, now)]
                           if service.deployment_controller.get("type", "ECS") == "ECS" else [])
    state[service.arn] = {"steady": False}


def _service_tasks(ecs: Any, service: Any) -> list[Any]:
    group = f"service:{service.name}"
    return [t for t in ecs.tasks.get(service.cluster_name, {}).values() if t.group == group]


def _target_states(ctx: _Context, task: Any) -> list[tuple[str, str]]:
    elbv2 = ctx.elbv2
    states = []
    for arn, target_id, port in _task_info(task).get("targets", []):
        group = elbv2.target_groups.get(arn) if elbv2 else None
        if group is None:
            continue
        status = group.health_for({"Id": target_id, "Port": port}, ctx.ec2)
        states.append((arn, status.status))
    return states


def _healthy(ctx: _Context, service: Any, task: Any) -> bool:
    if task.last_status != "RUNNING" or task.desired_status != "RUNNING":
        return False
    if not any(b.get("targetGroupArn") for b in service.load_balancers):
        return True
    states = _target_states(ctx, task)
    return bool(states) and all(state == "healthy" for _, state in states)


def _newest_first(tasks: list[Any]) -> list[Any]:
    return sorted(tasks, key=lambda t: (t.last_status == "RUNNING",
                                        -float(getattr(t, "created_at", 0) or 0)))


def _reconcile_service(ctx: _Context, service: Any) -> None:
    ecs = ctx.ecs
    info = _service_info(service)
    if info.get("desired") != service.desired_count:
        info["desired"], info["steady"] = service.desired_count, False
    tasks = _service_tasks(ecs, service)
    live = [t for t in tasks if t.desired_status == "RUNNING" and t.last_status != "STOPPED"]
    if service.status in ("INACTIVE", "DRAINING"):
        for task in live:
            _stop(ctx, task, "Service deleted")  # AWS: the service's tasks stop with it
        remaining = [t for t in tasks if t.last_status != "STOPPED"]
        service.status = "DRAINING" if remaining else "INACTIVE"
        service.desired_count = 0
        _count(service, [])
        return
    if service.deployment_controller.get("type", "ECS") != "ECS" or not service.deployments:
        return
    primary = service.deployments[0]
    cluster = ecs.clusters.get(service.cluster_name)
    definition = _definition(ecs, service.task_definition) if service.task_definition else None
    if cluster is None or definition is None:
        return

    # 1. tasks the load balancer finds unhealthy, after the grace period
    grace = float(getattr(service, "health_check_grace_period_seconds", None) or 0)
    for task in live:
        if task.last_status != "RUNNING":
            continue
        if ctx.now < float(getattr(task, "started_at", ctx.now) or ctx.now) + grace:
            continue
        for arn, state in _target_states(ctx, task):
            if state == "unhealthy":
                _event(ctx, service, f"(service {service.name}) (task {task.id}) failed ELB "
                                     f"health checks in (target-group {arn})")
                _stop(ctx, task, f"Task failed ELB health checks in (target-group {arn})")
                for deployment in service.deployments:
                    if deployment["id"] == task.started_by:
                        deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1
                break
    live = [t for t in live if t.desired_status == "RUNNING"]

    desired = int(service.desired_count or 0)
    if service.scheduling_strategy == "DAEMON":  # one task per ACTIVE container instance
        desired = service.desired_count = sum(
            1 for i in ecs.container_instances.get(cluster.name, {}).values()
            if i.status == "ACTIVE")
    configuration = getattr(service, "deployment_configuration", None) or {}
    maximum = int(configuration.get("maximumPercent", 200))
    minimum = int(configuration.get("minimumHealthyPercent", 100))
    new = [t for t in live if t.started_by == primary["id"]]
    old = [t for t in live if t.started_by != primary["id"]]

    # 2. scale in: the newest tasks go first
    for task in _newest_first(new)[:max(0, len(new) - desired)]:
        _stop(ctx, task, f"Scaling activity initiated by (deployment {primary['id']})")
    new = [t for t in new if t.desired_status == "RUNNING"]

    # 3. start what is missing, within maximumPercent while old tasks still run
    missing = desired - len(new)
    if old:
        missing = min(missing, math.floor(desired * maximum / 100) - len(new) - len(old))
    if missing > 0:
        placement = _place(
            ctx, cluster, definition, missing, group=f"service:{service.name}",
            started_by=primary["id"], strategy=service.placement_strategy or None,
            constraints=service.placement_constraints, launch_type=service.launch_type,
            network_configuration=service.network_configuration or None,
            capacity_provider=_capacity_provider(service),
            fargate=_uses_fargate(service), tags=_propagated_tags(service, definition))
        if placement.tasks:
            info["steady"] = False
            names = " ".join(f"(task {t.id})" for t in placement.tasks)
            _event(ctx, service, f"(service {service.name}) has started "
                                 f"{len(placement.tasks)} tasks: {names}.")
            new.extend(placement.tasks)
        if len(placement.tasks) < missing:
            message = (placement.error if placement.error and not placement.closest
                       else _unplaced_message(service, placement))
            if (info.get("unplaced") != message
                    or ctx.now - float(info.get("unplaced_at") or 0) >= UNPLACED_EVENT_EVERY):
                _event(ctx, service, message)
                info["unplaced"], info["unplaced_at"] = message, ctx.now

    # 4. stop old tasks while minimumHealthyPercent stays met (unhealthy ones first)
    healthy = sum(1 for t in new + old if _healthy(ctx, service, t))
    budget = healthy - math.ceil(desired * minimum / 100)
    stopped = []
    for task in sorted(_newest_first(old), key=lambda t: _healthy(ctx, service, t)):
        if _healthy(ctx, service, task):
            if budget <= 0:
                continue
            budget -= 1
        deployment = task.started_by or primary["id"]
        _stop(ctx, task, f"Scaling activity initiated by (deployment {deployment})")
        stopped.append(task)
    if stopped:
        names = " ".join(f"(task {t.id})" for t in stopped)
        _event(ctx, service, f"(service {service.name}) has stopped {len(stopped)} running "
                             f"tasks: {names}.")

    _count(service, tasks + [t for t in new if t not in tasks], ctx.now)
    _circuit_breaker(ctx, service, desired)
    _steady(ctx, service, desired, new)


def _circuit_breaker(ctx: _Context, service: Any, desired: int) -> None:
    """deploymentCircuitBreaker: once a deployment's failed tasks reach the threshold (half the
    desired count, at least 3 and at most 200) the rollout FAILED; with rollback, a new
    deployment returns to the last task definition that completed."""
    breaker = (getattr(service, "deployment_configuration", None) or {}).get(
        "deploymentCircuitBreaker") or {}
    primary = service.deployments[0]
    if not breaker.get("enable") or primary.get("rolloutState") != "IN_PROGRESS":
        return
    threshold = min(200, max(3, math.ceil(desired * 0.5)))
    if int(primary.get("failedTasks") or 0) < threshold:
        return
    primary["rolloutState"] = "FAILED"
    primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    primary["updatedAt"] = ctx.now
    _event(ctx, service, f"(service {service.name}) (deployment {primary['id']}) deployment "
                         f"failed: tasks failed to start.")
    info = _service_info(service)
    completed = info.get("completed_task_definition")
    if breaker.get("rollback") and completed and completed != primary["taskDefinition"]:
        service.task_definition = completed
        for deployment in service.deployments:
            deployment["status"] = "ACTIVE"
        rollback = _new_deployment(service, ctx.now)
        service.deployments.insert(0, rollback)
        _event(ctx, service, f"(service {service.name}) rolling back to deployment "
                             f"{rollback['id']}.")


def _count(service: Any, tasks: list[Any], now: float | None = None) -> None:
    """runningCount/pendingCount of the service and of each deployment; drained-out deployments
    leave the list."""
    live = [t for t in tasks if t.desired_status == "RUNNING"]
    service.running_count = sum(1 for t in live if t.last_status == "RUNNING")
    service.pending_count = sum(1 for t in live if t.last_status in LIVE[:3])
    kept = []
    for position, deployment in enumerate(service.deployments):
        mine = [t for t in tasks if t.started_by == deployment["id"]]
        running = sum(1 for t in mine if t.desired_status == "RUNNING"
                      and t.last_status == "RUNNING")
        pending = sum(1 for t in mine if t.desired_status == "RUNNING"
                      and t.last_status in LIVE[:3])
        if (deployment.get("runningCount"), deployment.get("pendingCount")) != (running,
                                                                                pending):
            deployment["runningCount"], deployment["pendingCount"] = running, pending
            if now is not None:
                deployment["updatedAt"] = now
        if position == 0:
            deployment["desiredCount"] = service.desired_count
            kept.append(deployment)
            continue
        deployment["status"] = "ACTIVE"
        deployment["desiredCount"] = running + pending
        if any(t.last_status != "STOPPED" for t in mine):
            kept.append(deployment)
    service.deployments[:] = kept


def _steady(ctx: _Context, service: Any, desired: int, new: list[Any]) -> None:
    info = _service_info(service)
    primary = service.deployments[0]
    steady = (len(service.deployments) == 1 and service.pending_count == 0
              and service.running_count == desired
              and sum(1 for t in new if t.desired_status == "RUNNING") == desired
              and all(_healthy(ctx, service, t) for t in new if t.desired_status == "RUNNING"))
    if steady and not info.get("steady"):
        info["completed_task_definition"] = primary["taskDefinition"]
        if primary.get("rolloutState") == "IN_PROGRESS":
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = ctx.now
            _event(ctx, service, f"(service {service.name}) (deployment {primary['id']}) "
                                 f"deployment completed.")
        _event(ctx, service, f"(service {service.name}) has reached a steady state.")
    info["steady"] = steady


def _uses_fargate(service: Any) -> bool:
    if service.launch_type == "FARGATE":
        return True
    return _capacity_provider(service) in ("FARGATE", "FARGATE_SPOT")


def _capacity_provider(service: Any) -> str | None:
    strategy = getattr(service, "capacity_provider_strategy", None) or []
    return strategy[0].get("capacityProvider") if strategy else None


def _propagated_tags(service: Any, definition: Any) -> list[dict[str, str]]:
    if service.propagate_tags == "SERVICE":
        return list(service.tags or [])
    if service.propagate_tags == "TASK_DEFINITION":
        return list(definition.tags or [])
    return []


# ---------------------------------------------------------------------------------------------
# moto patches: create, update, delete service


def _patch_create_service() -> None:
    """CreateService keeps deploymentConfiguration, healthCheckGracePeriodSeconds,
    placementStrategy/Constraints and capacityProviderStrategy (moto drops them) and answers
    like AWS: runningCount 0, pendingCount 0, one PRIMARY deployment IN_PROGRESS."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    @patches.wrap(EC2ContainerServiceResponse, "create_service",
                  why="CreateService keeps what moto drops and answers like AWS")
    def create_service(original: Any, self: Any) -> Any:
        result = original(self)
        given = {name: self._get_param(name) for name in (
            "deploymentConfiguration", "healthCheckGracePeriodSeconds", "placementStrategy",
            "placementConstraints", "capacityProviderStrategy")}
        for name in ("enableECSManagedTags", "enableExecuteCommand"):
            if self._get_param(name) is not None:
                given[name] = self._get_param(name)
        _adopt(result.result["service"], _now(), given)
        return result


_REDEPLOY_ON = ("network_configuration", "load_balancers", "placement_strategy",
                "placement_constraints", "capacity_provider_strategy", "platform_version",
                "service_registries")


def _patch_update_service() -> None:
    """UpdateService: a new task definition revision (or forceNewDeployment, or new network,
    load balancer, placement or capacity settings) makes a new PRIMARY deployment and the old one
    ACTIVE; desiredCount changes the target, not runningCount (moto sets runningCount to it);
    deploymentConfiguration merges into the one kept."""
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.wrap(EC2ContainerServiceBackend, "update_service",
                  why="UpdateService makes deployments; desiredCount is a target")
    def update_service(original: Any, self: Any, service_properties: dict[str, Any]) -> Any:
        given = dict(service_properties)
        service = self._get_service(given.get("cluster") or "default",
                                    str(given.get("service", "")).split("/")[-1])
        now = _now()
        _adopt(service, now)
        before = {name: json.dumps(getattr(service, name, None), sort_keys=True, default=str)
                  for name in _REDEPLOY_ON}
        definition_before = service.task_definition
        configuration = dict(getattr(service, "deployment_configuration", None) or {})
        desired_before = service.desired_count
        deployments = json.loads(json.dumps(service.deployments))
        result = original(self, service_properties)
        service.deployments[:] = deployments  # moto renames the PRIMARY on forceNewDeployment
        if given.get("task_definition"):
            service.task_definition = self.describe_task_definition(
                given["task_definition"]).arn
        if given.get("deployment_configuration"):
            configuration.update(given["deployment_configuration"])
        service.deployment_configuration = configuration or json.loads(
            json.dumps(DEFAULT_DEPLOYMENT_CONFIGURATION))
        if given.get("capacity_provider_strategy"):
            service.launch_type = None
        changed = service.task_definition != definition_before or bool(
            given.get("force_new_deployment")) or any(
            given.get(name) is not None
            and json.dumps(getattr(service, name, None), sort_keys=True, default=str)
            != before[name] for name in _REDEPLOY_ON)
        if changed and service.deployments:
            for deployment in service.deployments:
                deployment["status"] = "ACTIVE"
                deployment["updatedAt"] = now
            service.deployments.insert(0, _new_deployment(service, now))
        if changed or service.desired_count != desired_before:
            _service_info(service)["steady"] = False
        _count(service, _service_tasks(self, service), now)
        return result


def _patch_delete_service() -> None:
    """DeleteService: status DRAINING while its tasks stop, then INACTIVE; desiredCount 0."""
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.wrap(EC2ContainerServiceBackend, "delete_service",
                  why="DeleteService: DRAINING while tasks stop, desiredCount 0")
    def delete_service(original: Any, self: Any, cluster_name: str, service_name: str,
                       force: bool) -> Any:
        service = original(self, cluster_name, service_name, force)
        live = [t for t in _service_tasks(self, service) if t.last_status != "STOPPED"]
        service.desired_count = 0
        if live:
            service.status = "DRAINING"
        return service


_patch_create_service()
_patch_update_service()
_patch_delete_service()
