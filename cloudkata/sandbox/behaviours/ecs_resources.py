"""What a task needs and what a container instance has left: CPU, memory and host ports.

ECS places a task only where its CPU units, memory and host ports fit. A task definition's
needs (task-level cpu/memory as AWS accepts them, else the containers'; fixed and dynamic host
ports by network mode) are read by :class:`_Needs`; an instance's remainingResources are taken
and given back by :func:`_reserve`, which also replaces moto's own accounting (moto raises on
a port it did not reserve and ignores UDP). Dynamic host ports come from the range the checks
accept too (``cloudkata.checks.aws_facts.DYNAMIC_PORTS``), so a port the sandbox hands out is
never one a check refuses.
"""

from __future__ import annotations

from typing import Any

from cloudkata.checks.aws_facts import DYNAMIC_PORTS

from .. import patches
from .ecs_state import _Context

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
        cpu = _units(definition.cpu, 1024)
        if cpu is None:
            cpu = sum(int(c.get("cpu") or 0) for c in containers)
        self.cpu = cpu
        memory = _units(definition.memory, 1024)
        if memory is None:
            memory = sum(int(c.get("memoryReservation") or c.get("memory") or 0)
                         for c in containers)
        self.memory = memory
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
# fitting a task on an instance


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


def _dynamic_port(used: set[tuple[int, str]], protocol: str) -> int:
    taken = {port for port, proto in used if proto == protocol}
    for port in range(DYNAMIC_PORTS[0], DYNAMIC_PORTS[1] + 1):
        if port not in taken:
            return port
    raise RuntimeError("no free dynamic port")  # _why_not checked there is one


_patch_container_instance_resources()
