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
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import uuid
from typing import Any

from cloudkata.checks.aws_facts import DYNAMIC_PORTS

from .. import patches
from ..control import api, backends
from ..control.plane import ControlPlane, Request, reconciler

STATE = "ecs_scheduler"
START_SECONDS = 10.0
"""A task's simulated start (image pull, container start): PENDING this long, then RUNNING."""
STOPPED_TASK_RETENTION = 3600.0
"""AWS keeps stopped tasks describable for at least an hour."""
UNPLACED_EVENT_EVERY = 300.0
MAX_EVENTS = 100
DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
DEFAULT_STRATEGY = [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                    {"type": "spread", "field": "instanceId"}]
LIVE = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")
TROUBLESHOOTING = ("For more information, see the Troubleshooting section of the Amazon ECS "
                   "Developer Guide.")

_PLANE: list[ControlPlane] = []
"""The control plane, remembered so moto's patched methods (which moto calls without it) can
read the simulated clock and this module's state."""

_RUN_TASK_FAILURES: list[dict[str, str]] = []
"""Failures of the RunTask being answered (requests are serialised by the plane's lock)."""


# ---------------------------------------------------------------------------------------------
# clock and state


def _now() -> float:
    if _PLANE:
        return _PLANE[0].now()
    import time

    return time.time()  # only without a control plane (moto used directly)


def _state() -> dict[str, Any]:
    if not _PLANE:
        return {"tasks": {}, "services": {}}
    return _PLANE[0].module_state(STATE, lambda: {"tasks": {}, "services": {}})


def _task_info(task: Any) -> dict[str, Any]:
    return _state()["tasks"].setdefault(task.task_arn, {"targets": [], "released": False})


def _service_info(service: Any) -> dict[str, Any]:
    return _state()["services"].setdefault(service.arn, {"steady": False})


@api.before("ecs")
def _remember_plane(plane: ControlPlane, _: Request) -> api.Response | None:
    _PLANE[:] = [plane]
    return None


# ---------------------------------------------------------------------------------------------
# task definitions: what a task needs


def _units(value: Any, per_unit: int) -> int | None:
    """Task-level cpu/memory as AWS accepts them: "1024", 1024, "1 vCPU", "2 GB"."""
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    try:
        if text.endswith("vcpu"):
            return int(float(text[:-4]) * per_unit)
        if text.endswith("gb"):
            return int(float(text[:-2]) * per_unit)
        return int(float(text))
    except ValueError:
        return None


class _Needs:
    """CPU units, MiB and host ports one task of a task definition reserves on an instance."""

    def __init__(self, definition: Any) -> None:
        containers = definition.container_definitions
        self.cpu = _units(definition.cpu, 1024)
        if self.cpu is None:
            self.cpu = sum(int(c.get("cpu") or 0) for c in containers)
        self.memory = _units(definition.memory, 1024)
        if self.memory is None:
            self.memory = sum(int(c.get("memoryReservation") or c.get("memory") or 0)
                              for c in containers)
        self.mode = definition.network_mode or "bridge"
        self.fixed: list[tuple[str, int, int, str]] = []  # container, containerPort, host, proto
        self.dynamic: list[tuple[str, int, str]] = []  # container, containerPort, proto
        for container in containers:
            for mapping in container.get("portMappings") or []:
                port = mapping.get("containerPort")
                if not port:
                    continue
                protocol = (mapping.get("protocol") or "tcp").lower()
                host = mapping.get("hostPort")
                if self.mode == "host":
                    self.fixed.append((container["name"], int(port), int(host or port), protocol))
                elif self.mode == "bridge":
                    if host:
                        self.fixed.append((container["name"], int(port), int(host), protocol))
                    else:
                        self.dynamic.append((container["name"], int(port), protocol))

    def fixed_ports(self, protocol: str) -> list[int]:
        return [host for _, _, host, proto in self.fixed if proto == protocol]


def _resource(instance: Any, name: str) -> dict[str, Any] | None:
    for resource in instance.remaining_resources:
        if resource.get("name") == name:
            return resource
    return None


def _remaining(instance: Any, name: str) -> int:
    resource = _resource(instance, name)
    return int(resource.get("integerValue") or 0) if resource else 0


def _ports_in_use(instance: Any, name: str) -> set[int]:
    resource = _resource(instance, name)
    ports = set()
    for port in (resource or {}).get("stringSetValue") or []:
        try:
            ports.add(int(port))
        except ValueError:
            continue
    return ports


def _reserve(instance: Any, requirements: dict[str, Any], sign: int) -> None:
    """Take (sign=1) or give back (sign=-1) a task's CPU, memory and fixed host ports."""
    for resource in instance.remaining_resources:
        name = resource.get("name")
        if name in ("CPU", "MEMORY"):
            resource["integerValue"] = int(resource.get("integerValue") or 0) - sign * int(
                requirements.get(name) or 0)
        elif name in ("PORTS", "PORTS_UDP"):
            ports = resource.setdefault("stringSetValue", [])
            for port in requirements.get(name) or []:
                if sign > 0 and str(port) not in ports:
                    ports.append(str(port))
                elif sign < 0 and str(port) in ports:
                    ports.remove(str(port))


def _patch_container_instance_resources() -> None:
    """moto's accounting raises on a port it did not reserve and ignores UDP ports; AWS keeps
    remainingResources exact. Task counts per instance are recomputed by the reconciler."""
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.replace(EC2ContainerServiceBackend, "update_container_instance_resources",
                     why="remainingResources kept exact, UDP ports too, never raising")
    def update_container_instance_resources(self: Any, container_instance: Any,
                                            task_resources: dict[str, Any],
                                            removing: bool = False) -> None:
        _reserve(container_instance, task_resources, -1 if removing else 1)


# ---------------------------------------------------------------------------------------------
# a context per (account, region) with lazy access to the other backends


class _Context:
    def __init__(self, ecs: Any, now: float) -> None:
        self.ecs = ecs
        self.now = now
        self._elbv2: list[Any] = []
        self._ec2: list[Any] = []
        self._hosts: dict[str, Any] | None = None

    @property
    def elbv2(self) -> Any | None:
        if not self._elbv2:
            self._elbv2.append(backends.find("elbv2", self.ecs.account_id, self.ecs.region_name))
        return self._elbv2[0]

    @property
    def ec2(self) -> Any | None:
        if not self._ec2:
            self._ec2.append(backends.find("ec2", self.ecs.account_id, self.ecs.region_name))
        return self._ec2[0]

    def host(self, instance_id: str) -> Any | None:
        """The EC2 instance (moto's lookup walks every reservation; done once per pass)."""
        if self._hosts is None:
            self._hosts = {}
            if self.ec2 is not None:
                for reservation in self.ec2.all_reservations():
                    for instance in reservation.instances:
                        self._hosts[instance.id] = instance
        return self._hosts.get(instance_id)

    def instance_of(self, task: Any) -> Any | None:
        if not task.container_instance_arn:
            return None
        return self.ecs.container_instances.get(task.cluster_name, {}).get(
            task.container_instance_arn.split("/")[-1])

    def service_of(self, task: Any) -> Any | None:
        group = task.group or ""
        if not group.startswith("service:"):
            return None
        return self.ecs.services.get(f"{task.cluster_name}:{group[len('service:'):]}")


def _definition(ecs: Any, arn: str) -> Any | None:
    try:
        return ecs.describe_task_definition(arn)
    except Exception:  # noqa: BLE001 - a deleted revision
        return None


# ---------------------------------------------------------------------------------------------
# tasks: creation, start, stop


def _make_containers(ctx: _Context, task: Any, definition: Any,
                     bindings: dict[str, list[dict[str, Any]]]) -> list[Any]:
    """One container per container definition (moto makes one, from the first), with its
    networkBindings and the task's own ARN."""
    from moto.ecs.models import Container

    containers = []
    address = _task_address(task)
    for spec in definition.container_definitions:
        container = Container(definition)
        container.container_arn = (
            f"arn:aws:ecs:{ctx.ecs.region_name}:{ctx.ecs.account_id}:container/"
            f"{task.cluster_name}/{task.id}/{uuid.uuid4()}")
        container.task_arn = task.task_arn
        container.name = spec.get("name")
        container.image = spec.get("image")
        container.cpu = str(spec.get("cpu") or 0)
        container.memory = str(spec["memory"]) if spec.get("memory") else None
        container.memory_reservation = (str(spec["memoryReservation"])
                                        if spec.get("memoryReservation") else None)
        container.environment = spec.get("environment")
        container.last_status = "PENDING"
        container.exitCode = None
        container.health_status = "UNKNOWN"
        container.network_bindings = bindings.get(spec.get("name"), [])
        container.network_interfaces = ([{"attachmentId": task.attachments[0]["id"],
                                          "privateIpv4Address": address}]
                                        if address and task.attachments else [])
        containers.append(container)
    return containers


def _task_address(task: Any) -> str | None:
    for attachment in task.attachments or []:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return detail.get("value")
    return None


def _address_in_subnet(ctx: _Context, task: Any) -> None:
    """An awsvpc task's ENI takes the next free address of its subnet, as on AWS (moto draws a
    random 10.x address, outside the learner's VPC)."""
    for attachment in task.attachments or []:
        details = {d.get("name"): d for d in attachment.get("details", [])}
        eni_id = (details.get("networkInterfaceId") or {}).get("value")
        eni = ctx.ec2.enis.get(eni_id) if ctx.ec2 is not None and eni_id else None
        if eni is None or eni.subnet is None:
            continue
        try:
            address = eni.subnet.get_available_subnet_ip(eni)
        except Exception:  # noqa: BLE001 - a full subnet keeps moto's address
            continue
        eni.private_ip_address = address
        eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": address}]
        if "privateIPv4Address" in details:
            details["privateIPv4Address"]["value"] = address


def _prepare_task(ctx: _Context, task: Any, definition: Any, needs: _Needs,
                  bindings: dict[str, list[dict[str, Any]]], availability_zone: str | None,
                  requirements: dict[str, Any]) -> None:
    """What AWS shows of a task it has just placed: PENDING, with its containers and bindings."""
    task.last_status = "PENDING"
    task.created_at = ctx.now
    task.connectivity = "CONNECTED"
    task.connectivity_at = ctx.now
    task.cpu = str(needs.cpu)
    task.memory = str(needs.memory)
    task.availability_zone = availability_zone
    task.health_status = "UNKNOWN"
    task.version = 1
    task.resource_requirements = requirements
    _address_in_subnet(ctx, task)
    task.containers = _make_containers(ctx, task, definition, bindings)
    if not task.launch_type and not task.capacity_provider_name:
        task.launch_type = "EC2"
    info = _task_info(task)
    info.update(targets=[], released=task.container_instance_arn is None)


def _start(ctx: _Context, task: Any) -> None:
    """PENDING -> RUNNING after the simulated start; a service task joins its target groups."""
    task.last_status = "RUNNING"
    task.pull_started_at = task.created_at
    task.pull_stopped_at = ctx.now
    task.started_at = ctx.now
    task.version = int(getattr(task, "version", 1) or 1) + 1
    for container in task.containers:
        container.last_status = "RUNNING"
    service = ctx.service_of(task)
    if service is not None and service.load_balancers:
        _register_targets(ctx, service, task)


def _target_of(ctx: _Context, task: Any, container_name: str,
               container_port: int) -> tuple[str, int] | None:
    address = _task_address(task)
    if address:
        return address, int(container_port)
    instance = ctx.instance_of(task)
    if instance is None:
        return None
    for container in task.containers:
        if container.name != container_name:
            continue
        for binding in getattr(container, "network_bindings", None) or []:
            if int(binding.get("containerPort") or 0) == int(container_port):
                return instance.ec2_instance_id, int(binding["hostPort"])
    return None


def _register_targets(ctx: _Context, service: Any, task: Any) -> None:
    elbv2 = ctx.elbv2
    if elbv2 is None:
        return
    info = _task_info(task)
    registered: dict[str, int] = {}
    for balancer in service.load_balancers:
        arn = balancer.get("targetGroupArn")
        if not arn or arn not in elbv2.target_groups:
            continue
        target = _target_of(ctx, task, balancer.get("containerName"),
                            balancer.get("containerPort") or 0)
        if target is None:
            continue
        try:
            elbv2.register_targets(arn, [{"Id": target[0], "Port": target[1]}])
        except Exception:  # noqa: BLE001 - e.g. the instance is no longer running
            continue
        info["targets"].append([arn, target[0], target[1]])
        registered[arn] = registered.get(arn, 0) + 1
    for arn, count in registered.items():
        _event(ctx, service, f"(service {service.name}) registered {count} targets in "
                             f"(target-group {arn})")


def _deregister_targets(ctx: _Context, task: Any) -> float:
    """Deregister a task's targets; returns how long they drain (0 when none)."""
    info = _task_info(task)
    elbv2 = ctx.elbv2
    longest = 0.0
    service = ctx.service_of(task)
    for arn, target_id, port in info.get("targets", []):
        group = elbv2.target_groups.get(arn) if elbv2 else None
        if group is None:
            continue
        try:
            elbv2.deregister_targets(arn, [{"Id": target_id, "Port": port}])
        except Exception:  # noqa: BLE001 - already gone (instance terminated)
            continue
        if group.targets.get(f"{target_id}:{port}") is not None:
            try:
                delay = float(group.attributes.get("deregistration_delay.timeout_seconds", 300))
            except (TypeError, ValueError):
                delay = 300.0
            longest = max(longest, delay)
        if service is not None:
            _event(ctx, service, f"(service {service.name}) deregistered 1 targets in "
                                 f"(target-group {arn})")
    info["targets"] = []
    return longest


def _stop(ctx: _Context, task: Any, reason: str, stop_code: str = "ServiceSchedulerInitiated",
          drain: bool = True) -> None:
    """StopTask as ECS does it: desiredStatus STOPPED; a load-balanced task drains first."""
    if task.last_status == "STOPPED":
        return
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = stop_code
    task.stopping_at = ctx.now
    drain_for = _deregister_targets(ctx, task)
    if drain and drain_for > 0 and task.last_status == "RUNNING":
        task.last_status = "DEACTIVATING"
        task.version = int(getattr(task, "version", 1) or 1) + 1
        _task_info(task)["drain_until"] = ctx.now + drain_for
        service = ctx.service_of(task)
        if service is not None:
            _event(ctx, service, f"(service {service.name}) has begun draining connections on "
                                 f"1 tasks.")
        return
    _finish(ctx, task)


def _finish(ctx: _Context, task: Any) -> None:
    """The task is gone: resources back to the instance, its ENI deleted, STOPPED."""
    info = _task_info(task)
    if info.get("targets"):
        _deregister_targets(ctx, task)
    task.desired_status = "STOPPED"
    task.last_status = "STOPPED"
    task.stopped_at = ctx.now
    task.execution_stopped_at = ctx.now
    if not getattr(task, "stopping_at", None):
        task.stopping_at = ctx.now
    task.version = int(getattr(task, "version", 1) or 1) + 1
    for container in task.containers:
        container.last_status = "STOPPED"
        if getattr(container, "exitCode", None) is None:
            container.exitCode = 0
    if not info.get("released"):
        instance = ctx.instance_of(task)
        if instance is not None and task.resource_requirements:
            _reserve(instance, task.resource_requirements, -1)
        info["released"] = True
    for attachment in task.attachments or []:
        for detail in attachment.get("details", []):
            if detail.get("name") == "networkInterfaceId" and ctx.ec2 is not None:
                eni = ctx.ec2.enis.get(detail.get("value"))
                with contextlib.suppress(Exception):  # already deleted
                    if eni is not None and eni.subnet is not None:
                        eni.subnet.del_subnet_ip(eni.private_ip_address)
                    ctx.ec2.delete_network_interface(detail.get("value"))
        attachment["status"] = "DELETED"


def _progress_task(ctx: _Context, task: Any) -> None:
    """Move one task on to ``ctx.now``: start, finish draining, or stop with its host."""
    if task.last_status == "STOPPED":
        return
    if task.container_instance_arn:
        instance = ctx.instance_of(task)
        host_id = instance.ec2_instance_id if instance is not None else None
        host = ctx.host(host_id) if host_id else None
        if instance is None or not _host_up(ctx, instance):
            verb = "stopped" if host is not None and host.state in ("stopping",
                                                                     "stopped") else "terminated"
            ident = host_id or task.container_instance_arn.split("/")[-1]
            task.stopped_reason = f"Host EC2 (instance {ident}) {verb}."
            _finish(ctx, task)
            return
    if task.desired_status == "STOPPED":
        if task.last_status == "DEACTIVATING":
            if ctx.now >= _task_info(task).get("drain_until", 0):
                _finish(ctx, task)
        else:
            _finish(ctx, task)
        return
    if task.last_status in ("PROVISIONING", "PENDING", "ACTIVATING"):
        created = getattr(task, "created_at", None)
        if created is None:
            task.created_at = created = ctx.now
        if ctx.now >= created + START_SECONDS:
            _start(ctx, task)


# ---------------------------------------------------------------------------------------------
# placement


class _Placement:
    """Placed tasks, and why the others did not fit (per container instance)."""

    def __init__(self) -> None:
        self.tasks: list[Any] = []
        self.failures: dict[str, str] = {}
        self.closest: tuple[Any, str] | None = None
        self.no_instances = False
        self.in_capacity_provider = False
        self.error: str | None = None


def _bindings_in_use(ecs: Any, cluster_name: str) -> dict[str, set[tuple[int, str]]]:
    """container-instance ARN -> host ports (port, protocol) held by its not-STOPPED tasks."""
    used: dict[str, set[tuple[int, str]]] = {}
    for task in ecs.tasks.get(cluster_name, {}).values():
        if task.last_status == "STOPPED" or not task.container_instance_arn:
            continue
        ports = used.setdefault(task.container_instance_arn, set())
        for container in task.containers:
            for binding in getattr(container, "network_bindings", None) or []:
                ports.add((int(binding["hostPort"]), binding.get("protocol", "tcp")))
    return used


def _why_not(instance: Any, needs: _Needs, used: set[tuple[int, str]]) -> str | None:
    """AWS's failure reason for this instance, or None when the task fits."""
    if not instance.agent_connected:
        return "AGENT"
    if needs.cpu > _remaining(instance, "CPU"):
        return "RESOURCE:CPU"
    if needs.memory > _remaining(instance, "MEMORY"):
        return "RESOURCE:MEMORY"
    for protocol, name in (("tcp", "PORTS"), ("udp", "PORTS_UDP")):
        taken = _ports_in_use(instance, name) | {p for p, proto in used if proto == protocol}
        if any(port in taken for port in needs.fixed_ports(protocol)):
            return "RESOURCE:PORTS" if protocol == "tcp" else "RESOURCE:PORTS_UDP"
    free = (DYNAMIC_PORTS[1] - DYNAMIC_PORTS[0] + 1) - sum(
        1 for p, _ in used if DYNAMIC_PORTS[0] <= p <= DYNAMIC_PORTS[1])
    if len(needs.dynamic) > free:
        return "RESOURCE:PORTS"
    return None


def _host_up(ctx: _Context, instance: Any) -> bool:
    """An instance that is not running has no agent to start tasks (AWS: "AGENT")."""
    host = ctx.host(instance.ec2_instance_id)
    return host is None or host.state in ("pending", "running")


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


def _dynamic_port(used: set[tuple[int, str]], protocol: str) -> int:
    taken = {port for port, proto in used if proto == protocol}
    for port in range(DYNAMIC_PORTS[0], DYNAMIC_PORTS[1] + 1):
        if port not in taken:
            return port
    raise RuntimeError("no free dynamic port")  # _why_not checked there is one


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
# services


def _event(ctx: _Context, service: Any, message: str) -> None:
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": ctx.now,
                              "message": message})
    del service.events[MAX_EVENTS:]


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


# ---------------------------------------------------------------------------------------------
# moto patches: tasks, run/stop/list, create/update/delete service


def _patch_task_status() -> None:
    """moto's tasks advance one state each time they are described, until STOPPED; ECS tasks
    change state only when ECS moves them (here: this module, on the simulated clock)."""
    from moto.ecs.models import Task

    def get_status(self: Any) -> str | None:
        return self._status

    def set_status(self: Any, value: str) -> None:
        self._status = value

    patches.patch(Task, "status", property(get_status, set_status),
                  why="a task's status changes only when the scheduler moves it")


def _context_for(ecs: Any) -> _Context:
    return _Context(ecs, _now())


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


def _patch_stop_task() -> None:
    """StopTask: desiredStatus STOPPED, drained from its target groups first, resources back;
    an unknown task is AWS's InvalidParameterException, not moto's 500."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.replace(EC2ContainerServiceBackend, "stop_task",
                     why="StopTask drains and frees the task; unknown ones are AWS's error")
    def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        cluster = self._get_cluster(cluster_str)
        task_id = task_str.split("/")[-1]
        for arn, task in self.tasks.get(cluster.name, {}).items():
            if arn.split("/")[-1] == task_id:
                _stop(_context_for(self), task, reason or "Task stopped by user",
                      stop_code="UserInitiated")
                return task
        raise InvalidParameterException("The referenced task was not found.")


def _patch_list_tasks() -> None:
    """ListTasks filters by serviceName (moto ignores it) and, like AWS, lists only tasks whose
    desiredStatus is RUNNING unless desiredStatus=STOPPED is asked for."""
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.replace(EC2ContainerServiceBackend, "list_tasks",
                     why="ListTasks honours serviceName and desiredStatus")
    def list_tasks(self: Any, cluster_str: str | None = None,
                   container_instance: str | None = None, family: str | None = None,
                   started_by: str | None = None, service_name: str | None = None,
                   desiredStatus: str | None = None) -> list[Any]:  # noqa: N803 - moto's name
        cluster = self._get_cluster(cluster_str or "default")
        tasks = list(self.tasks.get(cluster.name, {}).values())
        if container_instance:
            wanted = container_instance.split("/")[-1]
            tasks = [t for t in tasks if t.container_instance_arn
                     and t.container_instance_arn.split("/")[-1] == wanted]
        if family:
            tasks = [t for t in tasks
                     if t.task_definition_arn.split("/")[-1].rsplit(":", 1)[0] == family]
        if started_by:
            tasks = [t for t in tasks if t.started_by == started_by]
        if service_name:
            group = f"service:{service_name.split('/')[-1]}"
            tasks = [t for t in tasks if t.group == group]
        status = (desiredStatus or "RUNNING").upper()
        return [t for t in tasks if t.desired_status == status]


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


def _patch_awsvpc_tasks_in_vpcs_without_dns_hostnames() -> None:
    """moto's ECS gives every awsvpc task an ENI and reads its ``private_dns_name``, which moto
    sets only in VPCs with DNS hostnames enabled: in any other VPC (a learner's new VPC) every
    awsvpc task - every Fargate task - failed. AWS runs them; the name is simply absent."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    patches.add(NetworkInterface, "private_dns_name", None,
                why="awsvpc tasks run in VPCs without DNS hostnames (name absent)")


_patch_task_status()
_patch_awsvpc_tasks_in_vpcs_without_dns_hostnames()
_patch_container_instance_resources()
_patch_run_task()
_patch_stop_task()
_patch_list_tasks()
_patch_create_service()
_patch_update_service()
_patch_delete_service()


# ---------------------------------------------------------------------------------------------
# refusals AWS makes and moto does not


def _ecs_error(code: str, message: str) -> api.Response:
    return api.aws_error(code, message)


def _invalid(message: str) -> api.Response:
    return _ecs_error("InvalidParameterException", message)


def _ecs_backend(request: Request) -> Any | None:
    return backends.find("ecs", request.account_id, request.region)


@api.before("ecs", action="RegisterTaskDefinition")
def _refuse_bad_task_definition(plane: ControlPlane, request: Request) -> api.Response | None:
    """FARGATE needs awsvpc and task-level cpu and memory; awsvpc and host modes need each
    hostPort to equal its containerPort (or be omitted)."""
    params = request.params
    compatibilities = params.get("requiresCompatibilities") or []
    mode = params.get("networkMode")
    if "FARGATE" in compatibilities:
        if mode != "awsvpc":
            return _ecs_error("ClientException", "Fargate only supports network mode ‘awsvpc’.")
        if not params.get("cpu"):
            return _ecs_error("ClientException",
                              "Fargate requires that 'cpu' be defined at the task level.")
        if not params.get("memory"):
            return _ecs_error("ClientException",
                              "Fargate requires that 'memory' be defined at the task level.")
    if mode in ("awsvpc", "host"):
        for container in params.get("containerDefinitions") or []:
            for mapping in container.get("portMappings") or []:
                if "hostPort" in mapping and mapping.get("hostPort") != mapping.get(
                        "containerPort"):
                    return _ecs_error(
                        "ClientException",
                        f"When networkMode={mode}, the host ports and container ports in port "
                        f"mappings must match.")
    return None


def _load_balancer_problem(request: Request, definition: Any,
                           balancers: list[dict[str, Any]]) -> str | None:
    elbv2 = backends.find("elbv2", request.account_id, request.region)
    usage: dict[str, list[Any]] = {}
    if elbv2 is not None:
        from .elb_health import forwarding_load_balancers

        usage = forwarding_load_balancers(elbv2)
    containers = {c.get("name"): c for c in definition.container_definitions}
    for balancer in balancers:
        arn = balancer.get("targetGroupArn")
        if arn:
            group = elbv2.target_groups.get(arn) if elbv2 is not None else None
            if group is None:
                return f"The target group with targetGroupArn {arn} does not exist."
            if not usage.get(arn):
                return (f"The target group with targetGroupArn {arn} does not have an "
                        f"associated load balancer.")
            if definition.network_mode == "awsvpc" and group.target_type == "instance":
                return (f"The provided target group {arn} has target type instance, which is "
                        f"incompatible with the awsvpc network mode specified in the task "
                        f"definition.")
        name = balancer.get("containerName")
        port = balancer.get("containerPort")
        if name is None and port is None:
            continue
        container = containers.get(name)
        if container is None:
            return f"The container {name} does not exist in the task definition."
        ports = {int(m.get("containerPort") or 0) for m in container.get("portMappings") or []}
        if port is None or int(port) not in ports:
            return f"The container {name} did not have a container port {port} defined."
    return None


@api.before("ecs", action="CreateService")
@api.before("ecs", action="UpdateService")
def _refuse_bad_service(plane: ControlPlane, request: Request) -> api.Response | None:
    """loadBalancers must name a container and port of the task definition and a target group
    that exists and a load balancer uses; FARGATE needs a FARGATE-compatible task definition;
    awsvpc needs a network configuration; a grace period needs a load balancer."""
    ecs = _ecs_backend(request)
    if ecs is None:
        return None
    params = request.params
    service = None
    if request.action == "UpdateService":
        try:
            service = ecs._get_service(params.get("cluster") or "default",
                                       str(params.get("service", "")).split("/")[-1])
        except Exception:  # noqa: BLE001 - let moto give its own not-found answer
            return None
    reference = params.get("taskDefinition") or (service.task_definition if service else None)
    if not reference:
        return None
    definition = _definition(ecs, reference)
    if definition is None:
        return None
    balancers = params.get("loadBalancers")
    if balancers is None and service is not None and params.get("taskDefinition"):
        balancers = service.load_balancers
    if balancers:
        problem = _load_balancer_problem(request, definition, balancers)
        if problem:
            return _invalid(problem)
    if request.action == "CreateService":
        if params.get("healthCheckGracePeriodSeconds") is not None and not balancers:
            return _invalid("Health check grace period is only valid for services configured "
                            "to use load balancers")
        launch = params.get("launchType")
        providers = [s.get("capacityProvider") for s in
                     params.get("capacityProviderStrategy") or []]
        if (launch == "FARGATE" or "FARGATE" in providers) and \
                "FARGATE" not in definition.compatibilities:
            return _invalid("Task definition does not support launch_type FARGATE.")
        if definition.network_mode == "awsvpc" and not params.get("networkConfiguration"):
            return _invalid("Network Configuration must be provided when networkMode 'awsvpc' "
                            "is specified.")
    return None


@api.before("ecs", action="RunTask")
def _refuse_bad_run_task(plane: ControlPlane, request: Request) -> api.Response | None:
    """A FARGATE task needs a FARGATE-compatible task definition."""
    ecs = _ecs_backend(request)
    params = request.params
    if ecs is None or params.get("launchType") != "FARGATE":
        return None
    definition = _definition(ecs, params.get("taskDefinition") or "")
    if definition is not None and "FARGATE" not in definition.compatibilities:
        return _invalid("Task definition does not support launch_type FARGATE.")
    return None


@api.before("ecs", action="CreateCapacityProvider")
def _refuse_capacity_provider_without_group(plane: ControlPlane,
                                            request: Request) -> api.Response | None:
    """The Auto Scaling group (ARN or name) must exist; managed termination protection needs
    the group's scale-in protection for new instances."""
    provider = request.params.get("autoScalingGroupProvider") or {}
    reference = str(provider.get("autoScalingGroupArn") or "")
    if not reference:
        return None
    name = reference.split("autoScalingGroupName/")[-1] if reference.startswith("arn:") \
        else reference
    autoscaling = backends.find("autoscaling", request.account_id, request.region)
    group = autoscaling.autoscaling_groups.get(name) if autoscaling is not None else None
    if group is None or (reference.startswith("arn:") and getattr(group, "arn", reference)
                         != reference):
        return _invalid(f"The specified Auto Scaling group ARN {reference} does not exist or "
                        f"is not valid.")
    if (provider.get("managedTerminationProtection") == "ENABLED"
            and not getattr(group, "new_instances_protected_from_scale_in", False)):
        return _ecs_error(
            "ClientException",
            "The managed termination protection setting for the capacity provider is invalid. "
            "To enable managed termination protection for a capacity provider, the Auto "
            "Scaling group must have instance protection from scale in enabled.")
    return None


def service_tasks(ecs: Any, service: Any) -> list[Any]:
    """The tasks a service started (any status); for other behaviours (e.g. metrics)."""
    return _service_tasks(ecs, service)

