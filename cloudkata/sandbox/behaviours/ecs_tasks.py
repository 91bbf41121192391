"""An ECS task's life cycle: created PENDING, started RUNNING, drained, STOPPED.

moto's tasks advance one state each time they are described; ECS moves them on its own clock.
Here a placed task (see ``ecs_placement``) is PENDING for ``START_SECONDS`` of simulated time,
then RUNNING, and a service's task then registers its targets - (instance, host port), or (ENI
address, container port) for awsvpc - in the service's target groups. Stopping deregisters
them; a task with targets is DEACTIVATING for the group's deregistration delay, then STOPPED,
its CPU, memory, ports and ENI given back. A task whose instance stops or leaves the cluster
stops with it. StopTask and ListTasks (serviceName, desiredStatus) answer as on AWS.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from .. import patches
from .ecs_resources import _host_up, _Needs, _reserve
from .ecs_state import _Context, _context_for, _event, _task_info

START_SECONDS = 10.0
"""A task's simulated start (image pull, container start): PENDING this long, then RUNNING."""
LIVE = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")
"""A task's lastStatus while it is wanted; ``LIVE[:3]`` counts as pending."""


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
        if group is None or elbv2 is None:
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
# moto patches: task status, stop, list; awsvpc ENIs


def _patch_task_status() -> None:
    """moto's tasks advance one state each time they are described, until STOPPED; ECS tasks
    change state only when ECS moves them (here: the scheduler, on the simulated clock)."""
    from moto.ecs.models import Task

    def get_status(self: Any) -> str | None:
        return self._status

    def set_status(self: Any, value: str) -> None:
        self._status = value

    patches.patch(Task, "status", property(get_status, set_status),
                  why="a task's status changes only when the scheduler moves it")


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


def _patch_awsvpc_tasks_in_vpcs_without_dns_hostnames() -> None:
    """moto's ECS gives every awsvpc task an ENI and reads its ``private_dns_name``, which moto
    sets only in VPCs with DNS hostnames enabled: in any other VPC (a learner's new VPC) every
    awsvpc task - every Fargate task - failed. AWS runs them; the name is simply absent."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    patches.add(NetworkInterface, "private_dns_name", None,
                why="awsvpc tasks run in VPCs without DNS hostnames (name absent)")


_patch_task_status()
_patch_awsvpc_tasks_in_vpcs_without_dns_hostnames()
_patch_stop_task()
_patch_list_tasks()
