"""ELBv2 checks: load balancers, target groups and their health checks, listeners and target
health (path rules and weighted forwards are in :mod:`elbv2_routing`).

Resources are found by the lab's names first and then by discovery, so a stack whose names
CloudFormation generated still passes: the load balancer is the only application load balancer
(or the one with a listener on the port), and a target group is the one its listener's default
action, or the rule for a path, forwards to. Discovery never takes a group the lab names for
something else (``exclude``) or one another route of the same listener forwards to, takes
nothing when the choice is ambiguous, and names what it took in the result; the group is then
judged in full like one found by name.

A step whose state a later step legitimately changes is checked for its lasting outcome:
``at_least`` counts (a later scale-out keeps "at least 2 healthy targets" true) and ``later``
weight splits (a canary's check accepts the rollback's and the cutover's splits).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .aws_facts import DYNAMIC_PORTS
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found

# ---------------------------------------------------------------------------------------------
# finding things


def _one(aws: ReadOnlyAws, operation: str, key: str, **kwargs: Any) -> dict[str, Any] | None:
    try:
        items = getattr(aws.elbv2, operation)(**kwargs)[key]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    return items[0] if items else None


def load_balancers(aws: ReadOnlyAws) -> list[dict[str, Any]]:
    return aws.elbv2.paginate("describe_load_balancers", "LoadBalancers")


def listeners(aws: ReadOnlyAws, load_balancer_arn: str) -> list[dict[str, Any]]:
    return aws.elbv2.paginate("describe_listeners", "Listeners",
                              LoadBalancerArn=load_balancer_arn)


def locate_load_balancer(aws: ReadOnlyAws, name: str, port: int | None = None
                         ) -> tuple[dict[str, Any] | None, str]:
    """(load balancer, how it was found): by name; else, by discovery, the only application
    load balancer (or the only one listening on ``port``), so a CloudFormation-named one is
    found too. ``how`` is "" for the lab's name, else words naming what discovery took."""
    found = _one(aws, "describe_load_balancers", "LoadBalancers", Names=[name])
    if found is not None:
        return found, ""
    albs = [lb for lb in load_balancers(aws) if lb.get("Type") == "application"]
    why = "the only application load balancer"
    if len(albs) > 1 and port is not None:
        albs = [lb for lb in albs
                if any(li.get("Port") == port for li in listeners(aws, lb["LoadBalancerArn"]))]
        why = f"the only application load balancer with a listener on port {port}"
    if len(albs) != 1:
        return None, ""
    return albs[0], (f" (found by discovery: there is no load balancer {name}; "
                     f"{albs[0]['LoadBalancerName']} is {why})")


def find_load_balancer(aws: ReadOnlyAws, name: str, port: int | None = None
                       ) -> dict[str, Any] | None:
    """By name; else the only application load balancer (see ``locate_load_balancer``)."""
    return locate_load_balancer(aws, name, port)[0]


def find_listener(aws: ReadOnlyAws, load_balancer: dict[str, Any], port: int
                  ) -> dict[str, Any] | None:
    for listener in listeners(aws, load_balancer["LoadBalancerArn"]):
        if listener.get("Port") == port:
            return listener
    return None


def target_group_by_arn(aws: ReadOnlyAws, arn: str) -> dict[str, Any] | None:
    return _one(aws, "describe_target_groups", "TargetGroups", TargetGroupArns=[arn])


def target_group_name(aws: ReadOnlyAws, arn: str) -> str:
    group = target_group_by_arn(aws, arn)
    return group["TargetGroupName"] if group else arn.rsplit("/", 2)[-2]


def forward_weights(actions: list[dict[str, Any]]) -> list[tuple[str, int]] | None:
    """(target group ARN, weight) of the forward action among ``actions``; None if none."""
    for action in actions or []:
        if action.get("Type") != "forward":
            continue
        config = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if config:
            return [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in config]
        if action.get("TargetGroupArn"):
            return [(action["TargetGroupArn"], 1)]
    return None


def rules(aws: ReadOnlyAws, listener_arn: str) -> list[dict[str, Any]]:
    return aws.elbv2.paginate("describe_rules", "Rules", ListenerArn=listener_arn)


def rule_paths(rule: dict[str, Any]) -> list[str]:
    paths: list[str] = []
    for condition in rule.get("Conditions") or []:
        if condition.get("Field") == "path-pattern":
            config = condition.get("PathPatternConfig") or {}
            paths.extend(config.get("Values") or condition.get("Values") or [])
    return paths


def _label(rule: dict[str, Any]) -> str:
    paths = rule_paths(rule)
    what = " ".join(paths) if paths else "its conditions"
    return f"priority {rule.get('Priority')} ({what})"


def _route_label(rule: dict[str, Any] | None) -> str:
    return "default action" if rule is None else f"rule {_label(rule)}"


def _discover_group(aws: ReadOnlyAws, name: str, load_balancer: str, port: int,
                    path: str | None, exclude: tuple[str, ...]
                    ) -> tuple[dict[str, Any] | None, str]:
    """The lab's target group under another name (a CloudFormation stack's): the one group
    that the listener on ``port`` forwards to through the rule for ``path`` (or its default
    action). A group never counts as this one when it is named as one of the lab's other
    groups (``exclude``) or when another route of the same listener forwards to it too (it
    belongs to that route); with more than one candidate left, nothing is taken."""
    balancer, _ = locate_load_balancer(aws, load_balancer, port)
    listener = find_listener(aws, balancer, port) if balancer else None
    if balancer is None or listener is None:
        return None, ""
    others = [r for r in rules(aws, listener["ListenerArn"]) if not r.get("IsDefault")]
    route: dict[str, Any] | None = None
    actions = listener.get("DefaultActions") or []
    if path is not None:
        route = next((r for r in others if path in rule_paths(r)), None)
        if route is None:
            return None, ""
        others.remove(route)
        actions = route.get("Actions") or []
    elsewhere = {arn for r in others for arn, _ in forward_weights(r.get("Actions") or []) or []}
    if route is not None:
        elsewhere |= {arn for arn, _ in
                      forward_weights(listener.get("DefaultActions") or []) or []}
    excluded = {g["TargetGroupArn"] for other in exclude if other != name
                if (g := _one(aws, "describe_target_groups", "TargetGroups", Names=[other]))}
    candidates = [arn for arn, _ in forward_weights(actions) or []
                  if arn not in elsewhere and arn not in excluded]
    if len(candidates) != 1:
        return None, ""
    group = target_group_by_arn(aws, candidates[0])
    if group is None:
        return None, ""
    return group, (f" (found by discovery: there is no target group {name}; "
                   f"{group['TargetGroupName']} is the one group the {_route_label(route)} of "
                   f"listener :{port} of {balancer['LoadBalancerName']} forwards to)")


def locate_target_group(aws: ReadOnlyAws, name: str, *, load_balancer: str | None = None,
                        port: int = 80, path: str | None = None,
                        exclude: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, str]:
    """(target group, how it was found): by name; else (when ``load_balancer`` is given) by
    discovery through the listener on ``port`` (see ``_discover_group``). ``how`` is "" for
    the lab's name, else words naming what discovery took and why."""
    found = _one(aws, "describe_target_groups", "TargetGroups", Names=[name])
    if found is not None or load_balancer is None:
        return found, ""
    return _discover_group(aws, name, load_balancer, port, path, exclude)


def find_target_group(aws: ReadOnlyAws, name: str, *, load_balancer: str | None = None,
                      port: int = 80, path: str | None = None, exclude: tuple[str, ...] = ()
                      ) -> dict[str, Any] | None:
    """By name; else by discovery (see ``locate_target_group``)."""
    return locate_target_group(aws, name, load_balancer=load_balancer, port=port, path=path,
                               exclude=exclude)[0]


class TargetGroupRef(Params):
    """A target group by the lab's name, with where to discover it if the name is not found."""

    target_group: str
    load_balancer: str | None = Field(
        default=None, description="discovery: the load balancer whose listener forwards to it")
    listener_port: int = 80
    rule_path: str | None = Field(default=None,
                                  description="discovery: the path rule that forwards to it")
    exclude: list[str] = Field(
        default_factory=list,
        description="discovery: the lab's other target groups, never taken for this one")

    def locate(self, aws: ReadOnlyAws) -> tuple[dict[str, Any] | None, str]:
        return locate_target_group(aws, self.target_group, load_balancer=self.load_balancer,
                                   port=self.listener_port, path=self.rule_path,
                                   exclude=tuple(self.exclude))

    def find(self, aws: ReadOnlyAws) -> dict[str, Any] | None:
        return self.locate(aws)[0]


def _missing_group(aws: ReadOnlyAws, name: str) -> Result:
    names = [g["TargetGroupName"] for g in
             aws.elbv2.paginate("describe_target_groups", "TargetGroups")]
    return failed(f"Target group {name} does not exist.",
                  expected=f"a target group named {name}",
                  actual=("target groups: " + ", ".join(names)) if names else "no target groups")


def _missing_balancer(aws: ReadOnlyAws, name: str) -> Result:
    names = [lb["LoadBalancerName"] for lb in load_balancers(aws)]
    return failed(f"Load balancer {name} does not exist.",
                  expected=f"an application load balancer named {name}",
                  actual=("load balancers: " + ", ".join(names)) if names
                  else "no load balancers")


def _sg_names(aws: ReadOnlyAws, ids: list[str]) -> list[str]:
    if not ids:
        return []
    try:
        groups = aws.ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"]
    except ClientError as exc:
        if is_not_found(exc):
            return list(ids)
        raise
    return [g.get("GroupName") or g["GroupId"] for g in groups]


# ---------------------------------------------------------------------------------------------
# the load balancer


class LoadBalancerParams(Params):
    name: str
    scheme: str = "internet-facing"
    type: str = "application"
    min_zones: int = 2
    security_group: str | None = Field(default=None, description="a group it must carry, by name")


@check("elbv2.load_balancer", title="The load balancer is set up as asked",
       params=LoadBalancerParams,
       hint="aws elbv2 create-load-balancer --type application --scheme internet-facing "
            "--subnets (two AZs) --security-groups ...")
def load_balancer(aws: ReadOnlyAws, p: LoadBalancerParams) -> Result:
    lb, how = locate_load_balancer(aws, p.name)
    if lb is None:
        return _missing_balancer(aws, p.name)
    name = lb["LoadBalancerName"] + how
    problems: list[tuple[str, str, str]] = []
    if lb.get("Type") != p.type:
        problems.append((f"it is a {lb.get('Type')} load balancer", f"type {p.type}",
                         f"type {lb.get('Type')}"))
    if lb.get("Scheme") != p.scheme:
        why = " (an internal one has only private addresses: the internet cannot reach it)" \
            if p.scheme == "internet-facing" else ""
        problems.append((f"its scheme is {lb.get('Scheme')}{why}", f"scheme {p.scheme}",
                         f"scheme {lb.get('Scheme')}"))
    zones = sorted({z["ZoneName"] for z in lb.get("AvailabilityZones") or []})
    if len(zones) < p.min_zones:
        problems.append((f"it is in {len(zones)} Availability Zone(s) ({', '.join(zones)}); an "
                         f"ALB needs subnets in at least {p.min_zones}",
                         f"subnets in {p.min_zones}+ Availability Zones",
                         f"{len(zones)} zone(s): {', '.join(zones) or 'none'}"))
    if p.security_group:
        carried = _sg_names(aws, lb.get("SecurityGroups") or [])
        named = aws.ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [p.security_group]}])["SecurityGroups"]
        # a group of that name must be carried; with none of that name (a generated name),
        # any group will do
        if p.security_group not in carried and (named or not carried):
            problems.append((f"it does not carry security group {p.security_group}",
                             f"security group {p.security_group}",
                             "security groups: " + (", ".join(carried) or "none")))
    if problems:
        return failed(f"Load balancer {name}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected=", ".join(e for _, e, _ in problems),
                      actual=", ".join(a for _, _, a in problems))
    return passed(f"Load balancer {name} is an {p.scheme} {p.type} load balancer in "
                  f"{', '.join(zones)}.")


# ---------------------------------------------------------------------------------------------
# target groups


def _network_mode(aws: ReadOnlyAws, task_definition: str) -> str | None:
    try:
        definition = aws.ecs.describe_task_definition(taskDefinition=task_definition)
    except ClientError as exc:
        if is_not_found(exc) or exc.response.get("Error", {}).get("Code") == "ClientException":
            return None
        raise
    return definition["taskDefinition"].get("networkMode") or "bridge"


def _target_type_problem(group: dict[str, Any], wanted: str, mode: str | None) -> str:
    found = group.get("TargetType")
    if mode in ("bridge", "host") and found == "ip":
        return (f"it has target type ip, but the task definition uses {mode} networking: ECS "
                f"registers such tasks as an instance ID plus a host port, which only an "
                f"instance target group accepts (the type cannot be changed: re-create the "
                f"group with --target-type instance)")
    if mode == "awsvpc" and found == "instance":
        return ("it has target type instance, but awsvpc tasks have their own network "
                "interface and register by IP address: it must be an ip target group")
    return f"it has target type {found}, not {wanted}"


class TargetGroupParams(TargetGroupRef):
    protocol: str = "HTTP"
    port: int = 80
    target_type: str = "instance"
    health_path: str = "/health"
    matcher: str = "200"
    health_port: str = Field(default="traffic-port",
                             description="where health checks go; traffic-port is each "
                                         "target's own (dynamic host) port")
    task_definition: str | None = Field(
        default=None, description="explains a target type that does not fit its network mode")


@check("elbv2.target_group", title="The target group and its health check are set up as asked",
       params=TargetGroupParams,
       hint="aws elbv2 create-target-group --target-type instance --protocol HTTP --port 80 "
            "--health-check-path /health --matcher HttpCode=200")
def target_group(aws: ReadOnlyAws, p: TargetGroupParams) -> Result:
    group, how = p.locate(aws)
    if group is None:
        return _missing_group(aws, p.target_group)
    name = group["TargetGroupName"] + how
    problems: list[tuple[str, str, str]] = []
    if group.get("TargetType") != p.target_type:
        mode = _network_mode(aws, p.task_definition) if p.task_definition else None
        problems.append((_target_type_problem(group, p.target_type, mode),
                         f"target type {p.target_type}", f"target type {group.get('TargetType')}"))
    if group.get("Protocol") != p.protocol or group.get("Port") != p.port:
        problems.append((f"it takes {group.get('Protocol')}:{group.get('Port')}",
                         f"{p.protocol}:{p.port}", f"{group.get('Protocol')}:{group.get('Port')}"))
    path = group.get("HealthCheckPath")
    if path != p.health_path:
        problems.append((f"its health check asks for {path}, a path the app does not serve for "
                         f"health checks (it answers on {p.health_path})",
                         f"health check path {p.health_path}", f"health check path {path}"))
    port = str(group.get("HealthCheckPort") or "traffic-port")
    if port != p.health_port:
        wanted = p.health_port
        if wanted == "traffic-port":
            wanted = ("each target's own port (traffic-port): ECS registers every task on its "
                      f"own dynamic host port, and nothing answers on {port}")
        problems.append((f"its health checks go to port {port}, not {wanted}",
                         f"health check port {p.health_port}", f"health check port {port}"))
    code = str((group.get("Matcher") or {}).get("HttpCode", ""))
    if code != p.matcher:
        problems.append((f"its health check accepts HTTP {code}",
                         f"matcher HttpCode={p.matcher}", f"matcher HttpCode={code}"))
    if group.get("HealthCheckEnabled") is False:
        problems.append(("its health checks are disabled", "health checks enabled",
                         "health checks disabled"))
    if problems:
        return failed(f"Target group {name}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected=", ".join(e for _, e, _ in problems),
                      actual=", ".join(a for _, _, a in problems))
    return passed(f"Target group {name} takes {p.protocol}:{p.port} {p.target_type} targets "
                  f"and health-checks {path} expecting {code}.")


# ---------------------------------------------------------------------------------------------
# listeners, rules and weights


def _listener_or_failure(aws: ReadOnlyAws, name: str, port: int
                         ) -> tuple[str, dict[str, Any]] | Result:
    """(the load balancer's name, and how discovery found it; its listener on ``port``), or
    the failure saying which of the two is missing."""
    lb, how = locate_load_balancer(aws, name, port)
    if lb is None:
        return _missing_balancer(aws, name)
    listener = find_listener(aws, lb, port)
    if listener is None:
        ports = sorted(li["Port"] for li in listeners(aws, lb["LoadBalancerArn"]))
        return failed(
            f"Load balancer {lb['LoadBalancerName']}{how} has no listener on port {port}.",
            expected=f"a listener on port {port}",
            actual=("listeners on ports " + ", ".join(map(str, ports))) if ports
            else "no listeners")
    return lb["LoadBalancerName"] + how, listener


class ListenerParams(Params):
    load_balancer: str
    port: int = 80
    protocol: str = "HTTP"
    target_group: str


@check("elbv2.listener_forwards", title="The listener forwards to the target group",
       params=ListenerParams,
       hint="aws elbv2 create-listener --protocol HTTP --port 80 "
            "--default-actions Type=forward,TargetGroupArn=...")
def listener_forwards(aws: ReadOnlyAws, p: ListenerParams) -> Result:
    found = _listener_or_failure(aws, p.load_balancer, p.port)
    if isinstance(found, Result):
        return found
    balancer, listener = found
    where = f"Listener {listener.get('Protocol')}:{p.port} of {balancer}"
    if listener.get("Protocol") != p.protocol:
        return failed(f"{where} speaks {listener.get('Protocol')}, not {p.protocol}.",
                      expected=p.protocol, actual=str(listener.get("Protocol")))
    weights = forward_weights(listener.get("DefaultActions") or [])
    if weights is None:
        kinds = ", ".join(a.get("Type", "?") for a in listener.get("DefaultActions") or [])
        return failed(f"{where} does not forward by default (its default action is {kinds}).",
                      expected=f"default action forward to {p.target_group}",
                      actual=f"default action {kinds}")
    wanted, how = locate_target_group(aws, p.target_group, load_balancer=p.load_balancer,
                                      port=p.port)
    live = [(arn, w) for arn, w in weights if w > 0]
    if wanted is None or wanted["TargetGroupArn"] not in [arn for arn, _ in live]:
        names = ", ".join(target_group_name(aws, arn) for arn, _ in live) or "nothing"
        return failed(f"{where} forwards to {names}, not {p.target_group}.",
                      expected=f"default action forward to {p.target_group}",
                      actual=f"forwards to {names}")
    return passed(f"{where} forwards to {wanted['TargetGroupName']}{how}.")


class TargetsHealthyParams(TargetGroupRef):
    count: int = Field(ge=1)
    at_least: bool = Field(default=False,
                           description="count is a minimum: a later step may scale out, and "
                                       "more targets, all healthy, keep this step's outcome")
    dynamic_ports: bool = Field(default=True,
                                description="targets must use distinct dynamic host ports")


def _unhealthy_explanation(aws: ReadOnlyAws, group: dict[str, Any],
                           target: dict[str, Any]) -> str:
    health = target["TargetHealth"]
    reason = health.get("Reason") or ""
    where = f"{target['Target']['Id']}:{target['Target'].get('Port')}"
    if reason == "Target.ResponseCodeMismatch":
        return (f"{where} answers the health check path {group.get('HealthCheckPath')} with "
                f"{health.get('Description', 'an unexpected code')}: the app does not serve "
                f"{group.get('HealthCheckPath')}")
    port = str(group.get("HealthCheckPort") or "traffic-port")
    if port != "traffic-port" and reason in ("Target.Timeout", "Target.FailedHealthChecks"):
        return (f"health checks of {where} go to port {port}, not to the target's own port "
                f"{target['Target'].get('Port')} (the group's health check port is {port}, "
                f"not traffic-port)")
    if reason == "Target.Timeout":
        lbs = group.get("LoadBalancerArns") or []
        lb_groups: list[str] = []
        for arn in lbs:
            found = _one(aws, "describe_load_balancers", "LoadBalancers", LoadBalancerArns=[arn])
            lb_groups += _sg_names(aws, (found or {}).get("SecurityGroups") or [])
        via = f" from {', '.join(lb_groups)}" if lb_groups else ""
        return (f"health checks of {where} time out: the instance's security group does not "
                f"admit the load balancer{via} on port {target['Target'].get('Port')}")
    if reason == "Target.FailedHealthChecks":
        return f"nothing answers on {where}"
    return f"{where} is {health.get('State')} ({reason or 'no reason given'})"


def _balancer_sources(aws: ReadOnlyAws, group: dict[str, Any]) -> tuple[set[str], list[str]]:
    """(security group IDs, subnet CIDRs) the load balancers using ``group`` send from."""
    ids: set[str] = set()
    subnets: list[str] = []
    for arn in group.get("LoadBalancerArns") or []:
        lb = _one(aws, "describe_load_balancers", "LoadBalancers", LoadBalancerArns=[arn]) or {}
        ids |= set(lb.get("SecurityGroups") or [])
        subnets += [z["SubnetId"] for z in lb.get("AvailabilityZones") or [] if z.get("SubnetId")]
    cidrs = [sn["CidrBlock"] for sn in
             aws.ec2.describe_subnets(SubnetIds=sorted(set(subnets)))["Subnets"]] if subnets else []
    return ids, cidrs


def _admits(permission: dict[str, Any], port: int, sources: set[str], cidrs: list[str]) -> bool:
    protocol = str(permission.get("IpProtocol"))
    if protocol not in ("-1", "tcp", "6"):
        return False
    if protocol != "-1" and not (int(permission.get("FromPort", 0)) <= port
                                 <= int(permission.get("ToPort", 65535))):
        return False
    if any(pair.get("GroupId") in sources for pair in permission.get("UserIdGroupPairs") or []):
        return True
    for entry in permission.get("IpRanges") or []:
        network = ipaddress.ip_network(entry.get("CidrIp", "255.255.255.255/32"), strict=False)
        inside = [ipaddress.ip_network(c, strict=False) for c in cidrs]
        if inside and all(n.version == network.version and n.network_address in network
                          and n.prefixlen >= network.prefixlen for n in inside):
            return True
    return False


def _unreachable(aws: ReadOnlyAws, group: dict[str, Any],
                 targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instance targets whose security groups do not admit the load balancer on the port
    health checks use: they time out, however long one waits (read from the groups, so this
    is said while the targets are still ``initial``, and between the replacements ECS starts
    for unhealthy tasks)."""
    if group.get("TargetType") != "instance" or not targets:
        return []
    sources, cidrs = _balancer_sources(aws, group)
    if not sources and not cidrs:
        return []
    ids = sorted({t["Target"]["Id"] for t in targets})
    try:
        reservations = aws.ec2.describe_instances(InstanceIds=ids)["Reservations"]
    except ClientError as exc:
        if is_not_found(exc) or "InvalidInstanceID" in str(exc):
            return []
        raise
    groups_of = {i["InstanceId"]: [g["GroupId"] for g in i.get("SecurityGroups") or []]
                 for r in reservations for i in r["Instances"]}
    every = sorted({g for gs in groups_of.values() for g in gs})
    rules = {g["GroupId"]: g.get("IpPermissions") or [] for g in
             aws.ec2.describe_security_groups(GroupIds=every)["SecurityGroups"]} if every else {}
    health_port = str(group.get("HealthCheckPort") or "traffic-port")
    blocked = []
    for target in targets:
        port = int(target["Target"].get("Port") or group.get("Port") or 0)
        if health_port != "traffic-port":
            port = int(health_port)
        instance_groups = groups_of.get(target["Target"]["Id"])
        if instance_groups is None:
            continue
        if not any(_admits(rule, port, sources, cidrs)
                   for g in instance_groups for rule in rules.get(g, [])):
            blocked.append(target)
    return blocked


@check("elbv2.targets_healthy", title="The target group has its healthy targets",
       params=TargetsHealthyParams,
       hint="describe-target-health shows each target's state and the reason it is not healthy.")
def targets_healthy(aws: ReadOnlyAws, p: TargetsHealthyParams) -> Result:
    group, how = p.locate(aws)
    if group is None:
        return _missing_group(aws, p.target_group)
    name = group["TargetGroupName"] + how
    wanted = f"{'at least ' if p.at_least else ''}{p.count} healthy targets"
    described = aws.elbv2.describe_target_health(
        TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    current = [t for t in described if t["TargetHealth"].get("State") != "draining"]
    listing = ", ".join(f"{t['Target']['Id']}:{t['Target'].get('Port')} "
                        f"{t['TargetHealth'].get('State')}" for t in current) or "none"
    if not current:
        draining = [t for t in described if t["TargetHealth"].get("State") == "draining"]
        blocked = _unreachable(aws, group, draining)
        if blocked:
            reasons = "; ".join(_unhealthy_explanation(aws, group, dict(
                t, TargetHealth={"State": "draining", "Reason": "Target.Timeout"}))
                for t in blocked)
            return failed(
                f"Target group {name} has only draining targets: ECS stops tasks whose health "
                f"checks fail, and their replacements fail the same way: {reasons}.",
                expected=wanted, actual="draining: " + ", ".join(
                    f"{t['Target']['Id']}:{t['Target'].get('Port')}" for t in draining))
        return failed(f"Target group {name} has no registered targets: no running task of a "
                      f"service is registered in it yet.",
                      expected=wanted, actual="no targets")
    if p.dynamic_ports:
        fixed = [t for t in current
                 if not DYNAMIC_PORTS[0] <= int(t["Target"].get("Port") or 0) <= DYNAMIC_PORTS[1]]
        if fixed:
            ports = sorted({str(t["Target"].get("Port")) for t in fixed})
            return failed(
                f"Target group {name} has targets on fixed port(s) {', '.join(ports)}, not "
                f"dynamic host ports: set hostPort 0 so each task gets its own port and several "
                f"tasks fit on one instance.",
                expected=f"{p.count} targets on distinct ports in {DYNAMIC_PORTS[0]}-"
                         f"{DYNAMIC_PORTS[1]}", actual=listing)
    unused = [t for t in current if t["TargetHealth"].get("State") == "unused"]
    if unused:
        return failed(f"Target group {name} is not used by any listener or rule, so its targets "
                      f"are not health-checked.",
                      expected="a listener or rule that forwards to it", actual=listing)
    bad = [t for t in current if t["TargetHealth"].get("State") == "unhealthy"]
    blocked = [t for t in _unreachable(aws, group, [t for t in current if t not in bad and
                                                    t["TargetHealth"].get("State") == "initial"])]
    if blocked:
        reasons = "; ".join([_unhealthy_explanation(aws, group, t) for t in bad] + [
            _unhealthy_explanation(aws, group, dict(
                t, TargetHealth={"State": "initial", "Reason": "Target.Timeout"}))
            for t in blocked])
        return failed(f"Target group {name}: {len(bad) + len(blocked)} of {len(current)} targets "
                      f"cannot turn healthy: {reasons}.", expected=wanted, actual=listing)
    if bad:
        reasons = "; ".join(_unhealthy_explanation(aws, group, t) for t in bad)
        return failed(f"Target group {name}: {len(bad)} of {len(current)} targets unhealthy: "
                      f"{reasons}.", expected=wanted, actual=listing)
    waiting = [t for t in current if t["TargetHealth"].get("State") != "healthy"]
    if waiting:
        return failed(
            f"Target group {name}: {len(waiting)} of {len(current)} targets are not healthy yet "
            f"({waiting[0]['TargetHealth'].get('State')}); a target turns healthy after "
            f"{group.get('HealthyThresholdCount')} passing checks, "
            f"{group.get('HealthCheckIntervalSeconds')} s apart.",
            expected=wanted, actual=listing)
    if len(current) < p.count or (len(current) != p.count and not p.at_least):
        return failed(f"Target group {name} has {len(current)} healthy target(s), not "
                      f"{'at least ' if p.at_least else ''}{p.count}.",
                      expected=wanted, actual=listing)
    return passed(f"Target group {name} has {len(current)} healthy target(s): {listing}.")
