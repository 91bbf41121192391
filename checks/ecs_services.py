"""ECS service checks: load balancer wiring, deployment configuration, desired and running
counts, and the targets a service's tasks register (one per task, each on its own host port).

A service is found by name; else, by discovery, as the one service of the cluster whose
loadBalancers point at the lab's target group (found by name or through the listener), so a
service whose name CloudFormation generated passes too. Discovery never takes a service the
lab names as another of its services, takes nothing when two services share the group, and
names what it took; the service is then judged in full like one found by name.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .aws_facts import DYNAMIC_PORTS
from .elbv2 import TargetGroupRef
from .registry import check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found


def _describe(aws: ReadOnlyAws, cluster: str, names: list[str]) -> list[dict[str, Any]]:
    try:
        return aws.ecs.describe_services(cluster=cluster, services=names)["services"]
    except ClientError as exc:
        if is_not_found(exc) or "ClusterNotFound" in str(exc):
            return []
        raise


def cluster_services(aws: ReadOnlyAws, cluster: str) -> list[dict[str, Any]]:
    try:
        arns = aws.ecs.paginate("list_services", "serviceArns", cluster=cluster)
    except ClientError as exc:
        if is_not_found(exc) or "ClusterNotFound" in str(exc):
            return []
        raise
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), 10):
        found += _describe(aws, cluster, arns[start:start + 10])
    return [s for s in found if s.get("status") == "ACTIVE"]


def locate_service(aws: ReadOnlyAws, cluster: str, name: str,
                   group: dict[str, Any] | None = None, others: tuple[str, ...] = ()
                   ) -> tuple[dict[str, Any] | None, str]:
    """(service, how it was found): the ACTIVE service by name; else, by discovery, the one
    ACTIVE service whose load balancer entry names ``group``, unless it is one of the lab's
    ``others``. ``how`` is "" for the lab's name, else words naming what discovery took."""
    for service in _describe(aws, cluster, [name]):
        if service.get("status") == "ACTIVE":
            return service, ""
    if group is None:
        return None, ""
    behind = [s for s in cluster_services(aws, cluster)
              if any(lb.get("targetGroupArn") == group["TargetGroupArn"]
                     for lb in s.get("loadBalancers") or [])]
    if len(behind) != 1 or behind[0]["serviceName"] in others:
        return None, ""
    return behind[0], (f" (found by discovery: there is no service {name}; "
                       f"{behind[0]['serviceName']} is the one service behind target group "
                       f"{group['TargetGroupName']})")


def find_service(aws: ReadOnlyAws, cluster: str, name: str,
                 target_group: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The ACTIVE service by name; else by discovery (see ``locate_service``)."""
    return locate_service(aws, cluster, name, target_group)[0]


class ServiceRef(TargetGroupRef):
    """A service by name, discoverable through its target group (also named here)."""

    cluster: str
    service: str
    other_services: list[str] = Field(
        default_factory=list,
        description="discovery: the lab's other services, never taken for this one")

    def find_service(self, aws: ReadOnlyAws) -> tuple[dict[str, Any] | None,
                                                      dict[str, Any] | None, str]:
        """(service, its target group, how discovery found the service or group: "" when
        both have the lab's names)."""
        group, group_how = self.locate(aws) if self.target_group else (None, "")
        service, how = locate_service(aws, self.cluster, self.service, group,
                                      tuple(self.other_services))
        return service, group, how or group_how


def _missing_service(aws: ReadOnlyAws, cluster: str, name: str) -> Result:
    others = [s["serviceName"] for s in cluster_services(aws, cluster)]
    return failed(f"Service {name} does not exist in cluster {cluster} (or is not ACTIVE).",
                  expected=f"an ACTIVE service named {name}",
                  actual=("services: " + ", ".join(others)) if others else "no services")


def _task_definition(aws: ReadOnlyAws, reference: str) -> dict[str, Any] | None:
    try:
        return aws.ecs.describe_task_definition(taskDefinition=reference)["taskDefinition"]
    except ClientError as exc:
        if is_not_found(exc) or exc.response.get("Error", {}).get("Code") == "ClientException":
            return None
        raise


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# load balancer wiring


class LoadBalancerWiringParams(ServiceRef):
    container: str
    container_port: int
    grace_period: int = Field(default=0, ge=0,
                              description="minimum healthCheckGracePeriodSeconds")


def _wiring_problems(aws: ReadOnlyAws, service: dict[str, Any], group: dict[str, Any],
                     p: LoadBalancerWiringParams) -> list[tuple[str, str, str]]:
    entries = service.get("loadBalancers") or []
    entry = next((e for e in entries if e.get("targetGroupArn") == group["TargetGroupArn"]),
                 None)
    gname = group["TargetGroupName"]
    if entry is None:
        named = ", ".join(str(e.get("targetGroupArn", "?/?")).split("/")[1]
                          for e in entries) or "no load balancer"
        return [(f"it is not behind target group {gname} (its loadBalancers name {named})",
                 f"loadBalancers entry for {gname}", f"loadBalancers: {named}")]
    problems = []
    if entry.get("containerName") != p.container or entry.get("containerPort") != p.container_port:
        problems.append((f"its load balancer entry sends traffic to container "
                         f"{entry.get('containerName')} port {entry.get('containerPort')}",
                         f"container {p.container} port {p.container_port}",
                         f"container {entry.get('containerName')} port "
                         f"{entry.get('containerPort')}"))
    definition = _task_definition(aws, service.get("taskDefinition", ""))
    if definition is not None:
        containers = {c["name"]: c for c in definition.get("containerDefinitions") or []}
        container = containers.get(entry.get("containerName"))
        ports = sorted({m.get("containerPort") for m in (container or {}).get("portMappings")
                        or [] if m.get("containerPort")})
        family = _short(definition["taskDefinitionArn"])
        if container is None:
            problems.append((f"task definition {family} has no container "
                             f"{entry.get('containerName')} (it has {', '.join(containers)})",
                             "a container of the task definition",
                             f"containers: {', '.join(containers)}"))
        elif entry.get("containerPort") not in ports:
            problems.append((f"container {entry.get('containerName')} in {family} maps "
                             f"container port(s) {', '.join(map(str, ports)) or 'none'}, not "
                             f"{entry.get('containerPort')}",
                             f"containerPort one of {ports}",
                             f"containerPort {entry.get('containerPort')}"))
        mode = definition.get("networkMode") or "bridge"
        kind = group.get("TargetType")
        if (mode in ("bridge", "host") and kind == "ip") or (mode == "awsvpc"
                                                            and kind == "instance"):
            needed = "ip" if mode == "awsvpc" else "instance"
            problems.append((f"{family} uses {mode} networking but {gname} has target type "
                             f"{kind}: {mode} tasks register as "
                             f"{'an IP address' if mode == 'awsvpc' else 'instance ID + port'}, "
                             f"so the group must be of type {needed}",
                             f"target type {needed} for {mode} tasks", f"target type {kind}"))
    grace = service.get("healthCheckGracePeriodSeconds") or 0
    if grace < p.grace_period:
        problems.append((f"its health check grace period is {grace} s, so a task that is still "
                         f"starting may be killed for failing health checks",
                         f"healthCheckGracePeriodSeconds >= {p.grace_period}",
                         f"healthCheckGracePeriodSeconds {grace}"))
    return problems


@check("ecs.service_load_balancer", title="The service is wired to the target group",
       params=LoadBalancerWiringParams,
       hint="aws ecs create-service ... --load-balancers targetGroupArn=...,containerName=web,"
            "containerPort=80 --health-check-grace-period-seconds 60")
def service_load_balancer(aws: ReadOnlyAws, p: LoadBalancerWiringParams) -> Result:
    service, group, how = p.find_service(aws)
    if service is None:
        return _missing_service(aws, p.cluster, p.service)
    name = service["serviceName"] + how
    if group is None:
        return failed(f"Target group {p.target_group} does not exist, so service {name} cannot "
                      f"be behind it.", expected=f"a target group named {p.target_group}",
                      actual="no such target group")
    problems = _wiring_problems(aws, service, group, p)
    if problems:
        return failed(f"Service {name}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected=", ".join(e for _, e, _ in problems),
                      actual=", ".join(a for _, _, a in problems))
    return passed(f"Service {name} sends {group['TargetGroupName']} traffic to container "
                  f"{p.container} port {p.container_port}, with a "
                  f"{service.get('healthCheckGracePeriodSeconds') or 0} s grace period.")


# ---------------------------------------------------------------------------------------------
# deployment configuration


class DeploymentParams(ServiceRef):
    target_group: str = ""
    minimum_healthy_percent: int
    maximum_percent: int


@check("ecs.service_deployment", title="The service rolls out within the asked bounds",
       params=DeploymentParams,
       hint="--deployment-configuration minimumHealthyPercent=50,maximumPercent=200")
def service_deployment(aws: ReadOnlyAws, p: DeploymentParams) -> Result:
    service, _, how = p.find_service(aws)
    if service is None:
        return _missing_service(aws, p.cluster, p.service)
    name = service["serviceName"] + how
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    config = service.get("deploymentConfiguration") or {}
    low, high = config.get("minimumHealthyPercent"), config.get("maximumPercent")
    expected = (f"rolling update (ECS controller), minimumHealthyPercent "
                f"{p.minimum_healthy_percent}, maximumPercent {p.maximum_percent}")
    actual = f"{controller} controller, minimumHealthyPercent {low}, maximumPercent {high}"
    if controller != "ECS":
        return failed(f"Service {name} uses the {controller} deployment controller, not ECS "
                      f"rolling updates.", expected=expected, actual=actual)
    if (low, high) != (p.minimum_healthy_percent, p.maximum_percent):
        return failed(
            f"Service {name} rolls out with minimumHealthyPercent {low} and maximumPercent "
            f"{high}.", expected=expected, actual=actual)
    desired = service.get("desiredCount", 0)
    return passed(f"Service {name} rolls out keeping at least {p.minimum_healthy_percent}% "
                  f"({desired * p.minimum_healthy_percent // 100} of {desired}) running and at "
                  f"most {p.maximum_percent}%.")


# ---------------------------------------------------------------------------------------------
# counts


class RunningParams(ServiceRef):
    target_group: str = ""
    desired_count: int = Field(ge=0)
    at_least: bool = Field(default=False,
                           description="desired_count is a minimum: a later step may scale "
                                       "the service out, which keeps this step's outcome")
    task_definition: str | None = Field(
        default=None, description="family:revision (or family) the service must run")


def _definition_matches(arn: str, wanted: str) -> bool:
    found = _short(arn)
    return found == wanted if ":" in wanted else found.rsplit(":", 1)[0] == wanted


@check("ecs.service_running", title="The service runs the desired number of tasks",
       params=RunningParams,
       hint="aws ecs describe-services shows desiredCount, runningCount and the deployments.")
def service_running(aws: ReadOnlyAws, p: RunningParams) -> Result:
    service, _, how = p.find_service(aws)
    if service is None:
        return _missing_service(aws, p.cluster, p.service)
    name = service["serviceName"] + how
    definition = _short(service.get("taskDefinition", ""))
    if p.task_definition and not _definition_matches(service.get("taskDefinition", ""),
                                                     p.task_definition):
        return failed(f"Service {name} runs {definition}, not {p.task_definition}.",
                      expected=f"task definition {p.task_definition}",
                      actual=f"task definition {definition}")
    desired, running = service.get("desiredCount", 0), service.get("runningCount", 0)
    counts = f"desiredCount {desired}, runningCount {running}"
    if desired < p.desired_count or (desired != p.desired_count and not p.at_least):
        least = "at least " if p.at_least else ""
        return failed(f"Service {name}: desiredCount expected {least}{p.desired_count}, found "
                      f"{desired}.", expected=f"desiredCount {least}{p.desired_count}",
                      actual=counts)
    if running != desired:
        events = [e.get("message", "") for e in service.get("events") or []][:1]
        why = f" Latest event: {events[0]}" if events else ""
        return failed(f"Service {name} runs {running} of {desired} tasks.{why}",
                      expected=f"runningCount {desired}", actual=counts)
    return passed(f"Service {name} runs {running} tasks of {definition}.")


# ---------------------------------------------------------------------------------------------
# one target per task, each on its own host port


class TargetsParams(ServiceRef):
    container: str | None = Field(default=None,
                                  description="the container whose host port is the target")


def _task_bindings(aws: ReadOnlyAws, cluster: str, service: dict[str, Any],
                   container: str | None) -> list[tuple[str, str, int | None]]:
    """(task id, EC2 instance id, host port) of each RUNNING task of the service."""
    arns = aws.ecs.paginate("list_tasks", "taskArns", cluster=cluster,
                            serviceName=service["serviceName"], desiredStatus="RUNNING")
    if not arns:
        return []
    tasks = []
    for start in range(0, len(arns), 100):
        tasks += aws.ecs.describe_tasks(cluster=cluster,
                                        tasks=arns[start:start + 100])["tasks"]
    instance_arns = sorted({t["containerInstanceArn"] for t in tasks
                            if t.get("containerInstanceArn")})
    hosts: dict[str, str] = {}
    if instance_arns:
        described = aws.ecs.describe_container_instances(cluster=cluster,
                                                         containerInstances=instance_arns)
        hosts = {c["containerInstanceArn"]: c["ec2InstanceId"]
                 for c in described["containerInstances"]}
    found = []
    for task in tasks:
        if task.get("lastStatus") != "RUNNING":
            continue
        port = None
        for item in task.get("containers") or []:
            if container and item.get("name") != container:
                continue
            bindings = item.get("networkBindings") or []
            if bindings:
                port = bindings[0].get("hostPort")
                break
        found.append((_short(task["taskArn"]), hosts.get(task.get("containerInstanceArn", ""),
                                                          "?"), port))
    return found


@check("ecs.service_targets", title="Each task of the service is a target on its own port",
       params=TargetsParams,
       hint="describe-tasks shows each task's networkBindings; describe-target-health shows "
            "the targets: they should be the same instance:port pairs.")
def service_targets(aws: ReadOnlyAws, p: TargetsParams) -> Result:
    service, group, how = p.find_service(aws)
    if service is None:
        return _missing_service(aws, p.cluster, p.service)
    name = service["serviceName"] + how
    if group is None:
        return failed(f"Target group {p.target_group} does not exist.",
                      expected=f"a target group named {p.target_group}",
                      actual="no such target group")
    gname = group["TargetGroupName"]
    container = p.container or next((lb.get("containerName") for lb in
                                     service.get("loadBalancers") or []), None)
    tasks = _task_bindings(aws, p.cluster, service, container)
    desired = service.get("desiredCount", 0)
    described = aws.elbv2.describe_target_health(
        TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    targets = {(t["Target"]["Id"], t["Target"].get("Port")) for t in described
               if t["TargetHealth"].get("State") != "draining"}
    pairs = [(host, port) for _, host, port in tasks]
    listing = ", ".join(f"{host}:{port}" for host, port in pairs) or "no running tasks"
    if len(tasks) != desired:
        return failed(f"Service {name} has {len(tasks)} running tasks, not its desired "
                      f"{desired}.", expected=f"{desired} running tasks", actual=listing)
    missing = [f"{h}:{port}" for h, port in pairs if (h, port) not in targets]
    if missing:
        return failed(f"Target group {gname} lacks the targets of {len(missing)} task(s) of "
                      f"service {name}: {', '.join(missing)}.",
                      expected="one target per running task (instance:host port)",
                      actual="targets: " + (", ".join(f"{i}:{pt}" for i, pt in sorted(
                          targets, key=str)) or "none"))
    if len(set(pairs)) != len(pairs) or any(
            port is None or not DYNAMIC_PORTS[0] <= int(port) <= DYNAMIC_PORTS[1]
            for _, port in pairs):
        return failed(f"The tasks of service {name} do not each have their own dynamic host "
                      f"port ({listing}): map hostPort 0 so ECS picks a free port per task.",
                      expected=f"distinct host ports in {DYNAMIC_PORTS[0]}-{DYNAMIC_PORTS[1]}",
                      actual=listing)
    return passed(f"Target group {gname} holds the {len(pairs)} tasks of service {name}, each "
                  f"on its own host port: {listing}.")

