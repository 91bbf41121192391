"""The ECS service scheduler: tasks placed, started, load-balanced, rolled and replaced as on AWS.

moto stores an ECS service and does nothing more: runningCount stays 0 and pendingCount N, no
task starts, no target registers, update-service makes no new deployment, so ``aws ecs wait
services-stable`` never returns. Its run_task treats hostPort 0 as a literal port, sets no
networkBindings and fails with a 500 on an empty cluster. Here, on the simulated clock:

- Each ACTIVE service keeps desiredCount tasks (DAEMON: one per ACTIVE container instance):
  placed on ACTIVE container instances (of its capacity provider, if it uses one) whose EC2
  instance runs and that have enough remaining CPU, memory and ports (task-level cpu/memory,
  else the containers'), following the service's placementStrategy (spread by an attribute or
  instanceId, binpack by cpu/memory, random; distinctInstance) or AWS's default spread across
  Availability Zones, then instances.
- Bridge mode with hostPort 0 (or none) takes a free host port from 32768-60999 per task; a
  fixed hostPort fits one task per instance and the rest stay unplaced, with AWS's service
  event ("... is already using a port required by your task ..."). awsvpc tasks (EC2 or
  FARGATE) get their ENI and need no host port.
- Tasks are PENDING for ``START_SECONDS``, then RUNNING; each service task then registers as a
  target (instance, hostPort) - or (ENI address, containerPort) for awsvpc - in the service's
  target groups, and drains from them when it stops (lastStatus DEACTIVATING for the group's
  deregistration delay, then STOPPED). Scaling in stops the newest tasks first.
- Deployments: PRIMARY, and ACTIVE for the one being replaced; update-service with a new task
  definition revision (or forceNewDeployment, a new network or load balancer configuration)
  starts a rolling replacement within deploymentConfiguration's minimumHealthyPercent and
  maximumPercent; rolloutState IN_PROGRESS -> COMPLETED, and the service events AWS writes,
  down to "(service NAME) has reached a steady state.". With deploymentCircuitBreaker enabled a
  rollout whose tasks keep failing is FAILED and, with rollback, returns to the last revision
  that completed.
- Tasks whose targets the load balancer finds unhealthy are stopped after the health-check grace
  period ("Task failed ELB health checks in (target-group ARN)") and replaced. Tasks on an
  instance that stops or leaves the cluster are stopped ("Host EC2 (instance ID) terminated.").
- deploymentConfiguration, healthCheckGracePeriodSeconds, placementStrategy and
  placementConstraints are kept and described; list-tasks honours serviceName and, like AWS,
  lists only desiredStatus RUNNING unless asked for STOPPED; stopped tasks stay describable for
  an hour.
- Refused like AWS: a loadBalancers entry naming a container or port the task definition lacks,
  or a target group that does not exist, has no load balancer, or has the wrong target type;
  awsvpc/host mode with a hostPort other than the containerPort; FARGATE without task-level cpu
  and memory or without awsvpc; a capacity provider whose Auto Scaling group does not exist.

AWS-visible fields live on moto's models (so moto's serializer answers them); the scheduler's
own bookkeeping (targets each task registered, drain deadlines, steady flags, event throttling)
lives in ``plane.module_state("ecs_scheduler")``.

This module is the scheduler's pass (the reconciler) and its entry point; the behaviour is split
by responsibility, each module depending only on those above it in this list:

- ``ecs_state``: the remembered control plane, the clock, the bookkeeping, a pass's context.
- ``ecs_resources``: CPU, memory and host ports a task needs and an instance has left.
- ``ecs_tasks``: a task's life cycle, PENDING to STOPPED, its targets; StopTask, ListTasks.
- ``ecs_placement``: which instance a task goes to, and why not; RunTask.
- ``ecs_deployments``: services, deployments, steady state; Create/Update/DeleteService.
- ``ecs_refusals``: the requests AWS refuses and moto accepts.
"""

from __future__ import annotations

from typing import Any

from ..control import backends
from ..control.plane import ControlPlane, reconciler
from . import ecs_refusals  # noqa: F401 - its request hooks are part of this behaviour
from .ecs_deployments import _adopt, _reconcile_service, _service_tasks
from .ecs_state import _PLANE, _Context, _state
from .ecs_tasks import LIVE, _progress_task

STOPPED_TASK_RETENTION = 3600.0
"""AWS keeps stopped tasks describable for at least an hour."""


def _refresh_counts(ecs: Any) -> None:
    """Cluster and container-instance counters, from the tasks themselves."""
    for name, cluster in ecs.clusters.items():
        tasks = [t for t in ecs.tasks.get(name, {}).values() if t.desired_status == "RUNNING"]
        cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
        cluster.pending_tasks_count = sum(1 for t in tasks if t.last_status in LIVE[:3])
        cluster.active_services_count = sum(
            1 for s in ecs.services.values() if s.cluster_name == name and s.status == "ACTIVE")
        for instance in ecs.container_instances.get(name, {}).values():
            mine = [t for t in tasks if t.container_instance_arn == instance.container_instance_arn]
            instance.running_tasks_count = sum(1 for t in mine if t.last_status == "RUNNING")
            instance.pending_tasks_count = sum(1 for t in mine if t.last_status in LIVE[:3])


@reconciler(30)
def ecs_service_scheduler(plane: ControlPlane) -> None:
    """Start, stop and replace tasks; roll deployments; keep counts and events, as ECS does."""
    _PLANE[:] = [plane]
    now = plane.now()
    state = _state()
    for _, _, ecs in backends.loaded("ecs"):
        if not ecs.tasks and not ecs.services:
            continue
        ctx = _Context(ecs, now)
        for tasks in list(ecs.tasks.values()):
            for arn, task in list(tasks.items()):
                _progress_task(ctx, task)
                stopped_at = getattr(task, "stopped_at", None)
                if (task.last_status == "STOPPED" and stopped_at is not None
                        and now - float(stopped_at) > STOPPED_TASK_RETENTION):
                    del tasks[arn]
                    state["tasks"].pop(arn, None)
        for service in list(ecs.services.values()):
            _adopt(service, now)
            _reconcile_service(ctx, service)
        _refresh_counts(ecs)


def service_tasks(ecs: Any, service: Any) -> list[Any]:
    """The tasks a service started (any status); for other behaviours (e.g. metrics)."""
    return _service_tasks(ecs, service)
