"""The ECS requests AWS refuses and moto accepts, refused with AWS's error and words.

A task definition for FARGATE without awsvpc or task-level cpu and memory; awsvpc or host mode
with a hostPort other than its containerPort; a service whose loadBalancers entry names a
container or port the task definition lacks, or a target group that does not exist, has no
load balancer or has the wrong target type; FARGATE with a task definition not compatible with
it; awsvpc without a network configuration; a grace period without a load balancer; a capacity
provider whose Auto Scaling group does not exist. Accepting these would let a learner's mistake
pass in the sandbox and fail on AWS.
"""

from __future__ import annotations

from typing import Any

from ..control import api, backends
from ..control.plane import ControlPlane, Request
from .ecs_state import _definition


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
