"""ELBv2 target health as AWS reports it, driven by the simulated clock.

moto reports every registered target ``healthy`` at once, even in a target group no load
balancer uses, and keys targets by id only, so ``i-1:32768`` and ``i-1:32769`` (two tasks on one
container instance, dynamic host ports) collapse into one target. AWS does neither, and the labs
teach what it does instead:

- A target is keyed by (id, port). It starts ``initial`` (``Elb.RegistrationInProgress``, then
  ``Elb.InitialHealthChecking``) and becomes ``healthy`` after HealthCheckIntervalSeconds x
  HealthyThresholdCount simulated seconds of passing checks, or ``unhealthy`` after
  interval x UnhealthyThresholdCount seconds of failing ones.
- A check passes when (a) a load balancer uses the group (a listener or rule forwards to it;
  otherwise the target is ``unused``, ``Target.NotInUse``), (b) the security groups let the load
  balancer reach the target port (target ingress from the load balancer's groups, or from CIDRs
  covering its subnets, and the load balancer's egress to the target) - else
  ``Target.Timeout`` - (c) something listens there - else ``Target.FailedHealthChecks`` - and
  (d) the health-check path answers with a code the matcher accepts. The simulated app in an ECS
  container serves ``/`` and ``/health``, or only the path in its ``HEALTH_PATH`` environment
  variable; a plain EC2 instance serves ``/`` and ``/health`` - else
  ``Target.ResponseCodeMismatch``.
- A deregistered target drains (``draining``, ``Target.DeregistrationInProgress``) for the
  group's ``deregistration_delay.timeout_seconds`` (immediately gone if no load balancer uses
  the group). Health checks disabled: ``unavailable``, ``Target.HealthCheckDisabled``.

The target registry stays in moto's target group (``targets``, now keyed ``"id:port"``); the
health of each target, and when its current verdict began, live in
``plane.module_state("elb_health")``.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from collections.abc import Iterable
from typing import Any

from .. import patches
from ..control import api, backends
from ..control.plane import ControlPlane, Request, reconciler

STATE = "elb_health"
SERVED_PATHS = ("/", "/health")
INITIAL = ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
CHECKING = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
NOT_IN_USE = ("unused", "Target.NotInUse",
              "Target group is not configured to receive traffic from the load balancer")
DRAINING = ("draining", "Target.DeregistrationInProgress",
            "Target deregistration is in progress")
DISABLED = ("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled")
TIMEOUT = ("Target.Timeout", "Request timed out")
REFUSED = ("Target.FailedHealthChecks", "Health checks failed")

_PLANE: list[ControlPlane] = []
"""The control plane, remembered so moto's patched target-group methods can read the clock and
the health records (they are called by moto, which knows nothing of the plane)."""


# ---------------------------------------------------------------------------------------------
# helpers shared by the patches and the reconciler


def _records() -> dict[str, dict[str, Any]]:
    if not _PLANE:
        return {}
    return _PLANE[0].module_state(STATE, dict)


def _now() -> float | None:
    return _PLANE[0].now() if _PLANE else None


def _port(target_group: Any, target: dict[str, Any]) -> int:
    port = target.get("Port")
    if port in (None, ""):
        port = target_group.port
    try:
        return int(port)
    except (TypeError, ValueError):
        return 0


def record_key(target_group_arn: str, target_id: str, port: int) -> str:
    """Where the health of one (target group, id, port) lives in the module state."""
    return f"{target_group_arn}|{target_id}|{port}"


def _elbv2_for(target_group: Any) -> Any | None:
    return backends.find("elbv2", target_group.account_id, target_group.region_name)


def forwarding_load_balancers(elbv2: Any) -> dict[str, list[Any]]:
    """target group ARN -> load balancers with a listener or rule that forwards to it.

    moto's ``load_balancer_arns`` is never cleaned when a listener or rule goes, so the usage is
    read from the listeners themselves, as AWS does."""
    usage: dict[str, list[Any]] = {}
    for balancer in elbv2.load_balancers.values():
        for listener in balancer.listeners.values():
            for rule in listener.rules.values():
                for action in rule.actions:
                    if getattr(action, "type", None) != "forward":
                        continue
                    for arn in elbv2._get_target_group_arns_from(action_data=action.data):
                        users = usage.setdefault(arn, [])
                        if balancer not in users:
                            users.append(balancer)
    return usage


def _new_record(now: float) -> dict[str, Any]:
    state, reason, description = INITIAL
    return {"state": state, "reason": reason, "description": description, "registered": now,
            "verdict": None, "since": now}


# ---------------------------------------------------------------------------------------------
# moto patches: the target registry keyed by (id, port), health read from our records


def _patch_target_registry() -> None:
    """AWS keys a target by (id, port): one instance may be several targets (dynamic host ports
    of ECS tasks). moto keys by id only and answers ``healthy`` for all; this restores both."""
    from moto.elbv2.exceptions import InvalidTargetError, TargetNotRunning
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    @patches.replace(FakeTargetGroup, "register", why="targets keyed by (id, port), initial")
    def register(self: Any, targets: list[dict[str, Any]]) -> None:
        """RegisterTargets: a new (id, port) starts ``initial``; re-registering a registered
        target changes nothing; re-registering a draining one starts it over."""
        now = _now()
        records = _records()
        for target in targets:
            instance = self.ec2_backend.get_instance_by_id(target["Id"])
            if instance and instance.state != "running":
                raise TargetNotRunning(instance_id=target["Id"])
            port = _port(self, target)
            key = f"{target['Id']}:{port}"
            self.targets[key] = {"Id": target["Id"], "Port": port}
            self.deregistered_targets.pop(key, None)
            rkey = record_key(self.arn, target["Id"], port)
            record = records.get(rkey)
            if now is not None and (record is None or record["state"] == "draining"):
                records[rkey] = _new_record(now)

    @patches.replace(FakeTargetGroup, "deregister", why="a target drains for the delay")
    def deregister(self: Any, targets: list[dict[str, Any]]) -> None:
        """DeregisterTargets: the target drains for the deregistration delay (AWS keeps listing
        it as ``draining``); with no load balancer using the group it goes at once."""
        now = _now()
        records = _records()
        elbv2 = _elbv2_for(self)
        in_use = bool(elbv2 and forwarding_load_balancers(elbv2).get(self.arn))
        for target in targets:
            port = _port(self, target)
            key = f"{target['Id']}:{port}"
            entry = self.targets.get(key)
            if entry is None:
                raise InvalidTargetError()
            rkey = record_key(self.arn, target["Id"], port)
            if not in_use or _delay(self) <= 0 or now is None:
                self.targets.pop(key, None)
                records.pop(rkey, None)
                self.deregistered_targets[key] = entry
                continue
            record = records.setdefault(rkey, _new_record(now))
            if record["state"] != "draining":
                state, reason, description = DRAINING
                record.update(state=state, reason=reason, description=description, since=now)

    @patches.replace(FakeTargetGroup, "deregister_terminated_instances",
                     why="a terminated instance leaves on every port")
    def deregister_terminated_instances(self: Any, instance_ids: list[str]) -> None:
        """A terminated instance leaves every group it was registered in, on every port."""
        records = _records()
        for key, entry in list(self.targets.items()):
            if entry["Id"] in instance_ids:
                self.targets.pop(key)
                self.terminated_targets[key] = entry
                records.pop(record_key(self.arn, entry["Id"], entry["Port"]), None)

    @patches.replace(FakeTargetGroup, "health_for",
                     why="target health from the reconciler's records, not always healthy")
    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        """DescribeTargetHealth for one target: the state our reconciler keeps, by (id, port)."""
        if target.get("Port") not in (None, ""):
            key = f"{target['Id']}:{_port(self, target)}"
            entry = self.targets.get(key)
        else:
            key, entry = f"{target['Id']}:{_port(self, target)}", None
            for candidate_key, candidate in self.targets.items():
                if candidate["Id"] == target["Id"]:
                    key, entry = candidate_key, candidate
                    break
        hc_port = self.health_check_port
        if entry is None:
            port = _port(self, target)
            if hc_port == "traffic-port":
                hc_port = str(port)
            if key in self.terminated_targets:
                return FakeHealthStatus(target["Id"], port, hc_port, "draining",
                                        DRAINING[1], DRAINING[2])
            state = "unused" if target["Id"].startswith("i-") or key in \
                self.deregistered_targets else "unavailable"
            return FakeHealthStatus(target["Id"], port, hc_port, state, "Target.NotRegistered",
                                    "Target is not registered to the target group")
        if hc_port == "traffic-port":
            hc_port = str(entry["Port"])
        record = _records().get(record_key(self.arn, entry["Id"], entry["Port"]))
        if record is None:
            state, reason, description = INITIAL
            return FakeHealthStatus(entry["Id"], entry["Port"], hc_port, state, reason,
                                    description)
        return FakeHealthStatus(entry["Id"], entry["Port"], hc_port, record["state"],
                                record.get("reason"), record.get("description"))


_patch_target_registry()


@api.before("elasticloadbalancing")
def _remember_plane(plane: ControlPlane, _: Request) -> api.Response | None:
    """Lets the patched target-group methods (called by moto) use the simulated clock."""
    _PLANE[:] = [plane]
    return None


# ---------------------------------------------------------------------------------------------
# what a health check finds


def _delay(target_group: Any) -> float:
    try:
        return float(target_group.attributes.get("deregistration_delay.timeout_seconds", 300))
    except (TypeError, ValueError):
        return 300.0


def _allows(rule: Any, port: int) -> bool:
    if rule.ip_protocol in ("-1", None):
        return True
    if rule.ip_protocol != "tcp":
        return False
    return rule.from_port is not None and rule.from_port <= port <= rule.to_port


@functools.lru_cache(maxsize=4096)
def _covers(cidr: str | None, networks: tuple[str, ...]) -> bool:
    """Does ``cidr`` contain every one of ``networks`` (CIDRs or addresses)?"""
    if not cidr:
        return False
    try:
        outer = ipaddress.ip_network(cidr, strict=False)
        inner = [ipaddress.ip_network(n, strict=False) for n in networks]
    except ValueError:
        return False
    return all(n.version == outer.version and n.subnet_of(outer)  # type: ignore[arg-type]  # same IP version: checked first
               for n in inner)


def _groups(ec2: Any, ids_or_groups: Iterable[Any]) -> list[Any]:
    found = []
    for item in ids_or_groups:
        if hasattr(item, "ingress_rules"):
            found.append(item)
            continue
        group = ec2.get_security_group_from_id(item) if ec2 else None
        if group is not None:
            found.append(group)
    return found


class _Network:
    """Security groups and private address of one target (instance or task ENI)."""

    def __init__(self, groups: list[Any], address: str | None) -> None:
        self.groups = groups
        self.address = address


class _Pass:
    """One reconcile pass over an (account, region): the EC2 backend, its instances indexed once
    (moto's own lookup copies every reservation on each call) and, lazily, the ECS apps."""

    def __init__(self, account_id: str, region: str) -> None:
        self.where = (account_id, region)
        self.ec2 = backends.find("ec2", account_id, region)
        self._hosts: dict[str, Any] | None = None
        self._apps: _Apps | None = None

    def host(self, instance_id: str) -> Any | None:
        if self._hosts is None:
            self._hosts = {}
            if self.ec2 is not None:
                for reservation in self.ec2.all_reservations():
                    for instance in reservation.instances:
                        self._hosts[instance.id] = instance
        return self._hosts.get(instance_id)

    @property
    def apps(self) -> _Apps:
        if self._apps is None:
            self._apps = _Apps(*self.where)
        return self._apps


def _target_network(run: _Pass, target_id: str) -> _Network | None:
    ec2 = run.ec2
    if ec2 is None:
        return None
    if target_id.startswith("i-"):
        instance = run.host(target_id)
        if instance is None:
            return None
        groups = {g.id: g for g in _groups(ec2, instance.security_groups or [])}
        for nic in instance.nics.values():
            for group in _groups(ec2, nic.group_set):
                groups[group.id] = group
        if not groups and instance.vpc_id:
            try:
                default = ec2.get_default_security_group(instance.vpc_id)
            except (KeyError, AttributeError):
                default = None
            if default is not None:
                groups[default.id] = default
        return _Network(list(groups.values()), instance.private_ip)
    for eni in ec2.enis.values():
        if eni.private_ip_address == target_id:
            return _Network(_groups(ec2, eni.group_set), target_id)
    return None


def _reaches(ec2: Any, balancer: Any, network: _Network, port: int) -> bool:
    """Do the security groups let this load balancer's nodes reach (address, port)?"""
    lb_groups = _groups(ec2, balancer.security_groups or [])
    lb_group_ids = {g.id for g in lb_groups}
    lb_cidrs = tuple(subnet.cidr_block for subnet in balancer.subnets
                     if getattr(subnet, "cidr_block", None))
    target_ids = {g.id for g in network.groups}
    ingress = any(
        _allows(rule, port) and (rule.source_group.get("GroupId") in lb_group_ids
                                 or (lb_cidrs and _covers(rule.ip_range.get("CidrIp"), lb_cidrs)))
        for group in network.groups for rule in group.ingress_rules)
    if not ingress:
        return False
    if not lb_groups or not network.address:
        return True  # a load balancer without security groups (NLB) filters nothing outbound
    return any(
        _allows(rule, port) and (rule.source_group.get("GroupId") in target_ids
                                 or _covers(rule.ip_range.get("CidrIp"), (network.address,)))
        for group in lb_groups for rule in group.egress_rules)


def _code_matches(matcher: dict[str, Any] | None, code: int) -> bool:
    spec = str((matcher or {}).get("HttpCode") or "200")
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            low, _, high = part.partition("-")
            if low.isdigit() and high.isdigit() and int(low) <= code <= int(high):
                return True
        elif part.isdigit() and int(part) == code:
            return True
    return False


class _Apps:
    """What listens where, from the ECS tasks that run in this account and region."""

    def __init__(self, account_id: str, region: str) -> None:
        self.listening: dict[tuple[str, int], tuple[str, ...]] = {}
        self.container_hosts: set[str] = set()
        ecs = backends.find("ecs", account_id, region)
        if ecs is None:
            return
        for cluster_instances in ecs.container_instances.values():
            for instance in cluster_instances.values():
                self.container_hosts.add(instance.ec2_instance_id)
        for cluster_name, tasks in ecs.tasks.items():
            instances = ecs.container_instances.get(cluster_name, {})
            for task in tasks.values():
                if task.last_status not in ("RUNNING", "DEACTIVATING"):
                    continue
                self._add_task(ecs, task, instances)

    def _add_task(self, ecs: Any, task: Any, instances: dict[str, Any]) -> None:
        try:
            definition = ecs.describe_task_definition(task.task_definition_arn)
        except Exception:  # noqa: BLE001 - a deleted revision serves nothing we can know
            return
        by_name = {c.get("name"): c for c in definition.container_definitions}
        host = None
        if task.container_instance_arn:
            instance = instances.get(task.container_instance_arn.split("/")[-1])
            host = instance.ec2_instance_id if instance else None
        address = None
        for attachment in task.attachments or []:
            for detail in attachment.get("details", []):
                if detail.get("name") == "privateIPv4Address":
                    address = detail.get("value")
        for container in task.containers:
            definition_of = by_name.get(getattr(container, "name", None), {})
            paths = served_paths(definition_of)
            for binding in getattr(container, "network_bindings", None) or []:
                if host and binding.get("hostPort"):
                    self.listening[(host, int(binding["hostPort"]))] = paths
            if address:
                for mapping in definition_of.get("portMappings") or []:
                    if mapping.get("containerPort"):
                        self.listening[(address, int(mapping["containerPort"]))] = paths

    def paths(self, target_id: str, port: int) -> tuple[str, ...] | None:
        """Paths served at (target, port); None when nothing listens there."""
        if (target_id, port) in self.listening:
            return self.listening[(target_id, port)]
        if target_id in self.container_hosts:
            return None  # an ECS host: only its tasks' ports answer
        if not target_id.startswith("i-") and any(t == target_id for t, _ in self.listening):
            return None  # a task ENI: only its container ports answer
        return SERVED_PATHS  # a plain instance or address: assume a web server on the port


def served_paths(container_definition: dict[str, Any]) -> tuple[str, ...]:
    """The simulated app serves / and /health, or exactly its HEALTH_PATH when set."""
    for variable in container_definition.get("environment") or []:
        if variable.get("name") == "HEALTH_PATH" and variable.get("value"):
            return (str(variable["value"]),)
    return SERVED_PATHS


def _verdict(target_group: Any, entry: dict[str, Any], balancers: list[Any],
             run: _Pass) -> tuple[str, str] | None:
    """None when a health check of this target passes now, else (reason, description)."""
    port = int(entry["Port"])
    if target_group.health_check_port not in (None, "traffic-port"):
        with contextlib.suppress(TypeError, ValueError):
            port = int(target_group.health_check_port)
    network = _target_network(run, entry["Id"])
    if network is not None:
        for balancer in balancers:
            if not _reaches(run.ec2, balancer, network, port):
                return TIMEOUT
    paths = run.apps.paths(entry["Id"], port)
    if paths is None:
        return REFUSED
    protocol = (target_group.health_check_protocol or target_group.protocol or "").upper()
    if protocol in ("HTTP", "HTTPS"):
        path = (target_group.health_check_path or "/").split("?", 1)[0]
        code = 200 if path in paths else 404
        if not _code_matches(getattr(target_group, "matcher", None), code):
            return ("Target.ResponseCodeMismatch", f"Health checks failed with these codes: "
                    f"[{code}]")
    return None


def _threshold(value: Any, default: int) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _step(target_group: Any, record: dict[str, Any], in_use: bool, verdict: Any,
          now: float) -> None:
    """Move one target's health on, as AWS's health checker would have by ``now``."""
    if not in_use:
        state, reason, description = NOT_IN_USE
        record.update(state=state, reason=reason, description=description, verdict=None)
        return
    if not target_group.health_check_enabled:
        state, reason, description = DISABLED
        record.update(state=state, reason=reason, description=description, verdict=None)
        return
    if record["state"] in ("unused", "unavailable"):
        record.update(_new_record(now))
    result = verdict()
    key = "ok" if result is None else result[0]
    if record.get("verdict") != key:
        record["verdict"], record["since"] = key, now
    elapsed = now - record["since"]
    interval = _threshold(target_group.health_check_interval_seconds, 30)
    if result is None:
        if record["state"] != "healthy" and elapsed >= interval * _threshold(
                target_group.healthy_threshold_count, 5):
            record.update(state="healthy", reason=None, description=None)
    elif record["state"] == "unhealthy" or elapsed >= interval * _threshold(
            target_group.unhealthy_threshold_count, 2):
        record.update(state="unhealthy", reason=result[0], description=result[1])
    if record["state"] == "initial":
        _, reason, description = INITIAL if now - record["registered"] < interval else CHECKING
        record.update(reason=reason, description=description)


STOPPED = ("unused", "Target.InvalidState", "Target is in the stopped state")


def _reconcile_groups(groups: list[Any], usage: dict[str, list[Any]], run: _Pass,
                      records: dict[str, dict[str, Any]], seen: set[str], now: float) -> None:
    for group in groups:
        balancers = usage.get(group.arn, [])
        for key, entry in list(group.targets.items()):
            rkey = record_key(group.arn, entry["Id"], int(entry["Port"]))
            record = records.get(rkey)
            if record is None:
                record = records[rkey] = _new_record(now)
            if record["state"] == "draining":
                if not balancers or now - record["since"] >= _delay(group):
                    group.targets.pop(key, None)
                    group.deregistered_targets[key] = entry
                else:
                    seen.add(rkey)
                continue
            seen.add(rkey)
            host = run.host(entry["Id"]) if entry["Id"].startswith("i-") else None
            if host is not None and host.state in ("stopping", "stopped"):
                state, reason, description = STOPPED
                record.update(state=state, reason=reason, description=description, verdict=None)
                continue

            def verdict(group: Any = group, entry: dict[str, Any] = entry,
                        balancers: list[Any] = balancers) -> tuple[str, str] | None:
                return _verdict(group, entry, balancers, run)

            _step(group, record, bool(balancers), verdict, now)


@reconciler(40)
def elb_target_health(plane: ControlPlane) -> None:
    """Every registered target's health, moved on to ``plane.now()``; drained targets removed."""
    _PLANE[:] = [plane]
    records: dict[str, dict[str, Any]] = plane.module_state(STATE, dict)
    now = plane.now()
    seen: set[str] = set()
    for account_id, region, elbv2 in backends.loaded("elbv2"):
        groups = [g for g in elbv2.target_groups.values() if g.targets]
        if groups:
            _reconcile_groups(groups, forwarding_load_balancers(elbv2),
                              _Pass(account_id, region), records, seen, now)
    for stale in set(records) - seen:
        del records[stale]
