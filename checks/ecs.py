"""ECS checks: the cluster, its capacity provider and container instances, task definitions and
tasks.

When instances did not join the cluster, the check finds out why from AWS state alone (the
instance's profile, its role's policies, its user data), so the same words come back from the
sandbox and from a real account.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .aws_facts import DYNAMIC_PORTS
from .compute import (
    decode_user_data,
    group_name_of,
    group_template,
    locate_group,
    user_data_problem,
)
from .iam import role_policies, trusted_services
from .logs import find_log_group
from .policy import Decision, evaluate
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found

REGISTER_ACTION = "ecs:RegisterContainerInstance"


# --- finding things ------------------------------------------------------------------------


def find_cluster(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    """The ACTIVE cluster named ``name`` (an INACTIVE one is a deleted cluster)."""
    try:
        clusters = aws.ecs.describe_clusters(clusters=[name])["clusters"]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return next((c for c in clusters if c.get("status") == "ACTIVE"), None)


def _cluster_statuses(aws: ReadOnlyAws, names: list[str]) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for start in range(0, len(names), 100):
        for cluster in aws.ecs.describe_clusters(clusters=names[start:start + 100])["clusters"]:
            statuses[cluster["clusterName"]] = cluster.get("status", "ACTIVE")
    return statuses


def _missing_cluster(aws: ReadOnlyAws, name: str) -> Result:
    listed = [arn.rsplit("/", 1)[-1] for arn in aws.ecs.paginate(
        "list_clusters", "clusterArns")]
    statuses = _cluster_statuses(aws, sorted({*listed, name}))
    others = [n for n in listed if n != name and statuses.get(n, "ACTIVE") == "ACTIVE"]
    seen = f" (clusters here: {', '.join(others)})" if others else ""
    if statuses.get(name) == "INACTIVE":
        return failed(f"Cluster {name} was deleted: its status is INACTIVE{seen}. Create it "
                      f"again with create-cluster.", expected=f"an ACTIVE cluster {name}",
                      actual="cluster INACTIVE (deleted)" + seen)
    return failed(f"Cluster {name} does not exist{seen}.", expected=f"an ACTIVE cluster {name}",
                  actual="no such cluster" + seen)


def container_instances(aws: ReadOnlyAws, cluster: str) -> list[dict[str, Any]]:
    arns = aws.ecs.paginate("list_container_instances", "containerInstanceArns", cluster=cluster)
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):
        found.extend(aws.ecs.describe_container_instances(
            cluster=cluster, containerInstances=arns[start:start + 100])["containerInstances"])
    return found


def _resource(container_instance: dict[str, Any], name: str) -> int:
    return next((r.get("integerValue", 0) for r in container_instance.get(
        "registeredResources", []) if r["name"] == name), 0)


def _role_arn_name(arn: str | None) -> str | None:
    return arn.rsplit("/", 1)[-1] if arn else None


# --- cluster -------------------------------------------------------------------------------


class ClusterParams(Params):
    cluster: str


@check("ecs.cluster_active", title="The cluster exists", params=ClusterParams,
       hint="aws ecs create-cluster --cluster-name <name>")
def cluster_active(aws: ReadOnlyAws, p: ClusterParams) -> Result:
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return _missing_cluster(aws, p.cluster)
    return passed(f"Cluster {p.cluster} is ACTIVE ({cluster['clusterArn']}).")


# --- capacity provider ---------------------------------------------------------------------


class CapacityProviderParams(Params):
    cluster: str
    capacity_provider: str
    group: str = Field(description="the Auto Scaling group the provider must scale")
    launch_template: str | None = Field(
        default=None, description="discovery: a group found under another name must launch "
                                  "from this template")


def _providers(aws: ReadOnlyAws, names: list[str]) -> list[dict[str, Any]]:
    if not names:
        return []
    return aws.ecs.describe_capacity_providers(capacityProviders=names).get(
        "capacityProviders", [])


def _scaled_group(provider: dict[str, Any]) -> str:
    return group_name_of((provider.get("autoScalingGroupProvider") or {}).get(
        "autoScalingGroupArn", ""))


@check("ecs.capacity_provider", title="The capacity provider is the cluster's default",
       params=CapacityProviderParams,
       hint="create-capacity-provider with managedScaling ENABLED, then "
            "put-cluster-capacity-providers with it as the default strategy.")
def capacity_provider(aws: ReadOnlyAws, p: CapacityProviderParams) -> Result:
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return _missing_cluster(aws, p.cluster)
    attached = cluster.get("capacityProviders", [])
    group, group_how = locate_group(aws, p.group, p.cluster, p.launch_template)
    group_name = group["AutoScalingGroupName"] if group else p.group
    found = [x for x in _providers(aws, [p.capacity_provider]) if x.get("status") == "ACTIVE"]
    how = ""
    of_cluster = _providers(aws, [a for a in attached if not a.startswith("FARGATE")])
    if not found and group is not None:
        # discovery: the one provider of THIS cluster that scales the lab's group; a provider
        # of another cluster or for another group is never taken in its place
        found = [x for x in of_cluster if _scaled_group(x) == group_name]
        if len(found) == 1:
            how = (f" (found as {found[0]['name']}, the capacity provider of cluster "
                   f"{p.cluster} that scales {group_name})")
        else:
            found = []
    if not found:
        others = ", ".join(f"{x['name']}, which scales {_scaled_group(x) or 'no group'}"
                           for x in of_cluster)
        seen = f" (cluster {p.cluster} has {others})" if others else ""
        return failed(f"Capacity provider {p.capacity_provider} does not exist{seen}.",
                      expected=f"a capacity provider for Auto Scaling group {group_name}",
                      actual="no such capacity provider" + seen)
    provider = found[0]
    name = provider["name"] + how
    asg = provider.get("autoScalingGroupProvider") or {}
    problems: list[str] = []
    scales = _scaled_group(provider)
    if scales != group_name:
        problems.append(f"it scales Auto Scaling group {scales}, not {group_name}")
    if (asg.get("managedScaling") or {}).get("status") != "ENABLED":
        problems.append("managed scaling is off, so ECS never adds instances for waiting tasks")
    if provider["name"] not in attached:
        problems.append(f"it is not associated with cluster {p.cluster} "
                        "(put-cluster-capacity-providers)")
    strategy = [s.get("capacityProvider") for s in
                cluster.get("defaultCapacityProviderStrategy", [])]
    if provider["name"] not in strategy:
        now = ", ".join(strategy) if strategy else "none"
        problems.append(f"it is not in the cluster's default capacity provider strategy "
                        f"(found: {now})")
    if problems:
        return failed(f"Capacity provider {name}: " + "; ".join(problems) + ".",
                      expected=(f"managed scaling on Auto Scaling group {group_name}, and the "
                                f"default strategy of cluster {p.cluster}"),
                      actual="; ".join(problems))
    target = (asg.get("managedScaling") or {}).get("targetCapacity")
    return passed(f"Capacity provider {name} scales {group_name}{group_how} (managed scaling, "
                  f"target {target}%) and is the default strategy of {p.cluster}.")


# --- container instances -------------------------------------------------------------------


class RegisteredParams(Params):
    cluster: str
    group: str
    min_count: int = Field(default=1, ge=1)
    launch_template: str | None = Field(
        default=None, description="discovery: a group found under another name must launch "
                                  "from this template")


def _instances(aws: ReadOnlyAws, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    reservations = aws.ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def _profile_role(aws: ReadOnlyAws, instance: dict[str, Any]) -> tuple[str | None, str | None]:
    """(role name, or None with why the instance's agent has no usable credentials)."""
    arn = (instance.get("IamInstanceProfile") or {}).get("Arn")
    if not arn:
        return None, "it has no instance profile, so its ECS agent has no credentials"
    name = arn.rsplit("/", 1)[-1]
    try:
        profile = aws.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        return None, f"its instance profile {name} does not exist"
    roles = profile.get("Roles", [])
    if not roles:
        return None, f"its instance profile {name} holds no role"
    role = roles[0]
    if "ec2.amazonaws.com" not in trusted_services(role):
        return None, (f"role {role['RoleName']} (in instance profile {name}) does not trust "
                      "ec2.amazonaws.com, so the instance gets no credentials")
    return role["RoleName"], None


def _role_problem(aws: ReadOnlyAws, role: str, cluster_arn: str) -> str | None:
    verdict = evaluate(role_policies(aws, role), REGISTER_ACTION, cluster_arn)
    if verdict.allowed:
        return None
    why = f" (explicitly denied by {verdict.matched})" \
        if verdict.decision is Decision.EXPLICIT_DENY else ""
    return f"role {role} may not call {REGISTER_ACTION}{why}"


def diagnose(aws: ReadOnlyAws, instance: dict[str, Any], cluster: str,
             cluster_arn: str, template: str | None) -> str:
    """Why this running instance's ECS agent did not register it with ``cluster``."""
    source = f" (launch template {template})" if template else ""
    causes: list[str] = []
    role, why = _profile_role(aws, instance)
    if why:
        causes.append(why + source)
    user_data = aws.ec2.describe_instance_attribute(
        InstanceId=instance["InstanceId"], Attribute="userData").get("UserData", {})
    wrong = user_data_problem(decode_user_data(user_data.get("Value")), cluster)
    if wrong:
        causes.append(f"it has {wrong}{source}")
    if role:
        denied = _role_problem(aws, role, cluster_arn)
        if denied:
            causes.append(denied)
    if causes:
        return "; ".join(causes)
    state = instance.get("State", {}).get("Name", "?")
    if state != "running":
        return f"it is {state}"
    return ("its profile, role and user data look right: it may still be booting (the agent "
            "registers about a minute after launch), or its agent cannot reach ECS")


@check("ecs.instances_registered", title="The instances registered with the cluster",
       params=RegisteredParams,
       hint="Container instances register themselves: the ECS agent needs the instance "
            "profile's role and ECS_CLUSTER in the user data.")
def instances_registered(aws: ReadOnlyAws, p: RegisteredParams) -> Result:
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return _missing_cluster(aws, p.cluster)
    group, how = locate_group(aws, p.group, p.cluster, p.launch_template)
    if group is None:
        return failed(f"Auto Scaling group {p.group} does not exist, so no instances can "
                      f"join {p.cluster}.", expected=f"an Auto Scaling group {p.group}",
                      actual="no such group")
    name = group["AutoScalingGroupName"] + how
    members = [i["InstanceId"] for i in group.get("Instances", [])
               if i.get("LifecycleState", "InService") in ("InService", "Pending")]
    registered = {c["ec2InstanceId"]: c for c in container_instances(aws, p.cluster)
                  if c.get("status") == "ACTIVE"}
    joined = [i for i in members if i in registered and registered[i].get("agentConnected")]
    if len(joined) >= max(p.min_count, 1) and len(joined) == len(members):
        parts = [f"{i} ({_resource(registered[i], 'CPU')} CPU units, "
                 f"{_resource(registered[i], 'MEMORY')} MiB)" for i in sorted(joined)]
        return passed(f"{len(joined)} instances of {name} are registered with {p.cluster}: "
                      + ", ".join(parts) + ".")
    if not members:
        return failed(f"Auto Scaling group {name} has no instances (desired capacity "
                      f"{group['DesiredCapacity']}), so nothing can join {p.cluster}.",
                      expected=f"at least {p.min_count} instances registered",
                      actual="the group has no instances")
    template = group_template(group)[1] or group_template(group)[0]
    missing = [i for i in members if i not in joined]
    reasons: dict[str, list[str]] = {}
    for instance in _instances(aws, missing):
        cause = diagnose(aws, instance, p.cluster, cluster["clusterArn"], template)
        reasons.setdefault(cause, []).append(instance["InstanceId"])
    for instance_id in missing:  # registered but disconnected, or not described
        if not any(instance_id in ids for ids in reasons.values()):
            reasons.setdefault("its ECS agent is disconnected", []).append(instance_id)
    because = "; ".join(f"{', '.join(sorted(ids))}: {cause}" for cause, ids in reasons.items())
    return failed(
        f"{len(missing)} of {len(members)} instances of {name} did not register with "
        f"{p.cluster}: {because}.",
        expected=f"every instance of {name} (at least {p.min_count}) registered",
        actual=f"{len(joined)} registered; {because}")


# --- task definitions ----------------------------------------------------------------------


class TaskDefinitionParams(Params):
    family: str
    container: str
    image: str | None = None
    network_mode: str = "bridge"
    container_port: int | None = None
    dynamic_host_port: bool = True
    cpu: int | None = None
    memory: int | None = None
    execution_role: str | None = None
    task_role: str | None = None
    log_group: str | None = None
    health_check: bool = False


def latest_definition(aws: ReadOnlyAws, family: str) -> dict[str, Any] | None:
    try:
        return aws.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    except ClientError as exc:
        if is_not_found(exc) or exc.response.get("Error", {}).get("Code") == "ClientException":
            return None
        raise


def _missing_family(aws: ReadOnlyAws, family: str) -> Result:
    families = aws.ecs.paginate("list_task_definition_families", "families", status="ACTIVE")
    seen = f" (families here: {', '.join(families[:8])})" if families else ""
    return failed(f"Task definition family {family} has no ACTIVE revision{seen}.",
                  expected=f"a registered task definition {family}",
                  actual="no such task definition" + seen)


NETWORK_MODE_COST = {
    "awsvpc": (": each task then needs a network interface of its own, and a t2.micro takes "
               "only 2, one of them the instance's, so one task fits per instance"),
    "host": (": the container then listens on the instance's own port, so only one such task "
             "fits per instance"),
}
"""Why a network mode other than the lab's bridge limits how many tasks fit, in words."""


def _port_problems(container: dict[str, Any], p: TaskDefinitionParams) -> list[str]:
    mappings = container.get("portMappings") or []
    if p.container_port is not None:
        mappings = [m for m in mappings if m.get("containerPort") == p.container_port]
        if not mappings:
            return [f"container {p.container} maps no containerPort {p.container_port}"]
    problems = []
    for mapping in mappings:
        host = mapping.get("hostPort")
        if p.dynamic_host_port and host not in (None, 0):
            problems.append(
                f"container {p.container} maps port {mapping.get('containerPort')} to fixed "
                f"host port {host}: only one such task fits on an instance, and a second one "
                f"there is refused because the port is taken (use hostPort 0 for a dynamic "
                f"port)")
    return problems


def _log_problems(aws: ReadOnlyAws, container: dict[str, Any], log_group: str) -> list[str]:
    config = container.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return [f"log driver {config.get('logDriver') or 'not set'}, not awslogs"]
    options = config.get("options") or {}
    named = options.get("awslogs-group")
    problems = []
    if named != log_group:
        missing = (named and find_log_group(aws, named) is None
                   and options.get("awslogs-create-group") != "true")
        problems.append(f"awslogs-group {named or 'not set'}, not {log_group}" + (
            f" (and log group {named} does not exist, so the container cannot start)"
            if missing else ""))
    elif find_log_group(aws, log_group) is None and options.get(
            "awslogs-create-group") != "true":
        problems.append(f"log group {log_group} does not exist, so the task cannot start")
    for option in ("awslogs-region", "awslogs-stream-prefix"):
        if not options.get(option):
            problems.append(f"no {option} option")
    return problems


def _definition_problems(aws: ReadOnlyAws, definition: dict[str, Any],
                         p: TaskDefinitionParams) -> list[str]:
    problems: list[str] = []
    mode = definition.get("networkMode", "bridge")
    if mode != p.network_mode:
        problems.append(f"network mode {mode}, not {p.network_mode}"
                        + NETWORK_MODE_COST.get(mode, ""))
    for label, wanted, arn in (("execution role", p.execution_role,
                                definition.get("executionRoleArn")),
                               ("task role", p.task_role, definition.get("taskRoleArn"))):
        if wanted and _role_arn_name(arn) != wanted:
            problems.append(f"{label} {_role_arn_name(arn) or 'not set'}, not {wanted}")
    containers = {c["name"]: c for c in definition.get("containerDefinitions", [])}
    container = containers.get(p.container)
    if container is None:
        problems.append(f"no container named {p.container} (found: "
                        f"{', '.join(containers) or 'none'})")
        return problems
    if p.image and container.get("image") != p.image:
        problems.append(f"image {container.get('image')}, not {p.image}")
    if p.cpu is not None and int(container.get("cpu") or definition.get("cpu") or 0) != p.cpu:
        problems.append(f"cpu {container.get('cpu') or 'not set'}, not {p.cpu}")
    memory = container.get("memory") or definition.get("memory")
    if p.memory is not None and int(memory or 0) != p.memory:
        problems.append(f"memory {memory or 'not set'}, not {p.memory} MiB")
    if container.get("essential") is False:
        problems.append(f"container {p.container} is not essential")
    if mode == p.network_mode:  # host ports mean something else in awsvpc and host mode
        problems.extend(_port_problems(container, p))
    if p.log_group:
        problems.extend(_log_problems(aws, container, p.log_group))
    if p.health_check and not (container.get("healthCheck") or {}).get("command"):
        problems.append(f"container {p.container} has no healthCheck")
    return problems


@check("ecs.task_definition", title="The task definition is configured",
       params=TaskDefinitionParams,
       hint="aws ecs register-task-definition --cli-input-json file://<file>.json")
def task_definition(aws: ReadOnlyAws, p: TaskDefinitionParams) -> Result:
    definition = latest_definition(aws, p.family)
    if definition is None:
        return _missing_family(aws, p.family)
    name = f"{definition['family']}:{definition['revision']}"
    problems = _definition_problems(aws, definition, p)
    if problems:
        return failed(f"Task definition {name}: " + "; ".join(problems) + ".",
                      expected=_definition_expectation(p), actual="; ".join(problems))
    port = " dynamic host port," if p.dynamic_host_port and p.container_port else ""
    return passed(f"Task definition {name}: {p.network_mode},{port} container {p.container} "
                  f"as described.")


def _definition_expectation(p: TaskDefinitionParams) -> str:
    parts = [f"{p.network_mode} network mode", f"container {p.container}"]
    if p.image:
        parts.append(f"image {p.image}")
    if p.container_port is not None:
        host = "0 (dynamic)" if p.dynamic_host_port else "fixed"
        parts.append(f"containerPort {p.container_port} with hostPort {host}")
    if p.log_group:
        parts.append(f"awslogs to {p.log_group}")
    return ", ".join(parts)


class RevisionsParams(Params):
    family: str
    min_revisions: int = Field(default=2, ge=2)
    container: str
    environment: str = Field(description="the variable the newest revision adds")


def _env(definition: dict[str, Any], container: str) -> dict[str, str]:
    for item in definition.get("containerDefinitions", []):
        if item["name"] == container:
            return {e["name"]: e.get("value", "") for e in item.get("environment") or []}
    return {}


@check("ecs.task_definition_revisions", title="Both revisions are registered",
       params=RevisionsParams,
       hint="Registering the same family again makes the next revision; the old one stays.")
def task_definition_revisions(aws: ReadOnlyAws, p: RevisionsParams) -> Result:
    arns = aws.ecs.paginate("list_task_definitions", "taskDefinitionArns",
                            familyPrefix=p.family, status="ACTIVE")  # the whole family name
    revisions = sorted(int(a.rsplit(":", 1)[1]) for a in arns
                       if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == p.family)
    if not revisions:
        return _missing_family(aws, p.family)
    found = ", ".join(f"{p.family}:{r}" for r in revisions)
    if len(revisions) < p.min_revisions:
        others = [name for name in aws.ecs.paginate(  # here familyPrefix is a prefix
            "list_task_definition_families", "families", familyPrefix=p.family, status="ACTIVE")
            if name != p.family]
        kind = "is another family" if len(others) == 1 else "are other families"
        apart = (f"; {', '.join(others)} {kind}: a new family name starts again at revision 1, "
                 f"it does not add a revision to {p.family}") if others else ""
        return failed(f"Task definition family {p.family} has {len(revisions)} ACTIVE "
                      f"revision{'s' if len(revisions) != 1 else ''} ({found}){apart}.",
                      expected=f"at least {p.min_revisions} ACTIVE revisions of {p.family}",
                      actual=found + apart)
    newest = aws.ecs.describe_task_definition(
        taskDefinition=f"{p.family}:{revisions[-1]}")["taskDefinition"]
    value = _env(newest, p.container).get(p.environment)
    if not value:
        return failed(f"{p.family}:{revisions[-1]} does not set {p.environment} in container "
                      f"{p.container}.",
                      expected=f"environment variable {p.environment} in the newest revision",
                      actual="set: " + (", ".join(_env(newest, p.container)) or "nothing"))
    for revision in reversed(revisions[:-1]):  # registering twice adds a revision, harmlessly
        before = aws.ecs.describe_task_definition(
            taskDefinition=f"{p.family}:{revision}")["taskDefinition"]
        old = _env(before, p.container).get(p.environment)
        if old != value:
            was = f"{p.environment}={old}" if old else f"no {p.environment}"
            return passed(f"{p.family} has ACTIVE revisions {found}; {p.family}:{revisions[-1]} "
                          f"sets {p.environment}={value}, {p.family}:{revision} ({was}) still "
                          f"runs as it was.")
    earlier = ", ".join(f"{p.family}:{r}" for r in revisions[:-1])
    return failed(f"{p.family}:{revisions[-1]} is no change: every earlier revision ({earlier}) "
                  f"sets {p.environment}={value} as well.",
                  expected=f"an earlier revision without {p.environment}={value}",
                  actual=f"every revision sets {p.environment}={value}")


# --- tasks ---------------------------------------------------------------------------------


class TaskPortParams(Params):
    cluster: str
    family: str
    container: str
    container_port: int


def _tasks(aws: ReadOnlyAws, cluster: str, family: str, status: str) -> list[dict[str, Any]]:
    arns = aws.ecs.paginate("list_tasks", "taskArns", cluster=cluster, family=family,
                            desiredStatus=status)
    if not arns:
        return []
    return aws.ecs.describe_tasks(cluster=cluster, tasks=arns[:100])["tasks"]


def _host_ports(task: dict[str, Any], container: str, port: int) -> list[int]:
    return [b["hostPort"] for c in task.get("containers", []) if c.get("name") == container
            for b in c.get("networkBindings") or [] if b.get("containerPort") == port]


def _task_id(task: dict[str, Any]) -> str:
    return task["taskArn"].rsplit("/", 1)[-1]


CRASHED = ("EssentialContainerExited", "TaskFailedToStart")
"""Stop codes of a task that failed by itself, rather than being stopped or losing its host."""


def _fit_problem(aws: ReadOnlyAws, cluster: str, definition_ref: str) -> str | None:
    """Why a task of this definition fits on none of the cluster's registered instances, in
    words (run-task then answers RESOURCE:MEMORY or RESOURCE:CPU); None when it fits one, or
    when there is no instance to compare with."""
    definition = latest_definition(aws, definition_ref)
    sizes = [(_resource(c, "CPU"), _resource(c, "MEMORY"))
             for c in container_instances(aws, cluster) if c.get("status") == "ACTIVE"]
    if definition is None or not sizes:
        return None
    containers = definition.get("containerDefinitions", [])
    memory = int(definition.get("memory") or 0) or sum(
        int(c.get("memory") or c.get("memoryReservation") or 0) for c in containers)
    cpu = int(definition.get("cpu") or 0) or sum(int(c.get("cpu") or 0) for c in containers)
    if any(cpu <= free_cpu and memory <= free_memory for free_cpu, free_memory in sizes):
        return None
    name = f"{definition['family']}:{definition['revision']}"
    most_cpu, most_memory = max(size[0] for size in sizes), max(size[1] for size in sizes)
    needs = []
    if memory > most_memory:
        needs.append(f"{memory} MiB of memory, more than any of its instances registers "
                     f"({most_memory} MiB), so ECS answers RESOURCE:MEMORY")
    if cpu > most_cpu:
        needs.append(f"{cpu} CPU units, more than any of its instances registers ({most_cpu}), "
                     f"so ECS answers RESOURCE:CPU")
    if not needs:
        return None
    return f"{name} asks for " + "; and ".join(needs)


@check("ecs.task_dynamic_port", title="A task runs on a dynamic host port",
       params=TaskPortParams,
       hint="aws ecs run-task, then describe-tasks: containers[].networkBindings[].hostPort.")
def task_dynamic_port(aws: ReadOnlyAws, p: TaskPortParams) -> Result:
    if find_cluster(aws, p.cluster) is None:
        return _missing_cluster(aws, p.cluster)
    tasks = _tasks(aws, p.cluster, p.family, "RUNNING")
    low, high = DYNAMIC_PORTS
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
    dynamic = [(t, port) for t in running for port in _host_ports(t, p.container,
                                                                  p.container_port)
               if low <= port <= high]
    if dynamic:
        task, port = dynamic[0]
        return passed(f"Task {_task_id(task)} ({task['taskDefinitionArn'].rsplit('/', 1)[-1]}) "
                      f"runs on {p.cluster}: container port {p.container_port} is reachable on "
                      f"host port {port}, a dynamic port ({low}-{high}).")
    expected = f"a RUNNING {p.family} task with host port {low}-{high} for port {p.container_port}"
    fixed = sorted({port for t in tasks for port in _host_ports(t, p.container, p.container_port)
                    if not low <= port <= high})
    if fixed:
        per_instance = len({t.get("containerInstanceArn") for t in tasks})
        return failed(
            f"{len(tasks)} {p.family} task{'s' if len(tasks) != 1 else ''} on {p.cluster} bind "
            f"fixed host port {', '.join(map(str, fixed))}: a port conflict allows one such task "
            f"per instance ({per_instance} instance{'s' if per_instance != 1 else ''} used), "
            f"and ECS leaves further tasks unplaced (RESOURCE:PORTS).",
            expected=expected, actual=f"host port {', '.join(map(str, fixed))}")
    waiting = tasks[0]["taskDefinitionArn"] if tasks else p.family
    too_big = _fit_problem(aws, p.cluster, waiting)
    if too_big:
        return failed(f"No {p.family} task can run on {p.cluster}: {too_big}.",
                      expected=expected, actual=too_big)
    if tasks:
        states = ", ".join(sorted({t.get("lastStatus", "?") for t in tasks}))
        return failed(f"The {p.family} task on {p.cluster} is {states}, not RUNNING yet; "
                      "describe it again in a few seconds.", expected=expected,
                      actual=f"lastStatus {states}")
    stopped = _tasks(aws, p.cluster, p.family, "STOPPED")
    ran = [(t, port) for t in stopped if t.get("startedAt")
           and t.get("stopCode") not in CRASHED
           for port in _host_ports(t, p.container, p.container_port) if low <= port <= high]
    if ran:  # a one-off task does not last: its host may be scaled in, or you stopped it
        task, port = max(ran, key=lambda item: str(item[0].get("startedAt")))
        reason = (task.get("stoppedReason") or "no reason given").rstrip(".")
        return passed(f"Task {_task_id(task)} ({task['taskDefinitionArn'].rsplit('/', 1)[-1]}) "
                      f"ran on {p.cluster} with container port {p.container_port} on host port "
                      f"{port}, a dynamic port ({low}-{high}); it has stopped since ({reason}). "
                      f"run-task starts another.")
    if stopped:
        reason = stopped[0].get("stoppedReason") or "no reason given"
        return failed(f"The last {p.family} task on {p.cluster} stopped: {reason}.",
                      expected=expected, actual=f"stopped: {reason}")
    return failed(f"No {p.family} task runs on {p.cluster}.", expected=expected,
                  actual="no task")

