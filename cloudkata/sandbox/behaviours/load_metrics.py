"""Service load: ECS publishes CPUUtilization and MemoryUtilization for every service, each minute.

On AWS, ECS sends each service's average CPU and memory utilisation to CloudWatch once a minute
(namespace ``AWS/ECS``, dimensions ``ClusterName`` and ``ServiceName``), and alarms, dashboards
and target-tracking policies read them. moto publishes nothing. Here every ECS service has a
synthetic utilisation (20% CPU, 30% memory until a learner "applies load" with
``POST /cloudkata/load``), and each simulated minute it is written into moto's CloudWatch
backend with the minute's timestamp, so ``aws cloudwatch get-metric-statistics`` shows it and
the alarm evaluator (``alarms.py``) sees it.

EC2 publishes each instance's CPUUtilization, aggregated per Auto Scaling group (namespace
``AWS/EC2``, dimension ``AutoScalingGroupName``), which an EC2 Auto Scaling target-tracking
policy on ``ASGAverageCPUUtilization`` tracks. Here a group that has such a policy, or a load
set with ``POST /cloudkata/load {"group": ..., "cpu": ...}``, reports its synthetic average
CPU (20% until set) each simulated minute while it has running instances.

The level is a utilisation, not a request rate: it stays what the learner set whatever the
task count, so sustained load above a target-tracking target scales a service out to its
maximum, as a lab expects. A datapoint covers one minute ``[m, m+60)``, is stamped ``m`` and
appears once that minute is over (AWS shows it a little later; we do not add the delay).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ..control import api
from ..control.backends import DEFAULT_ACCOUNT, backend, find, loaded
from ..control.plane import ControlPlane, reconciler

NAMESPACE = "AWS/ECS"
DEFAULT_CPU = 20.0
DEFAULT_MEMORY = 30.0
MINUTE = 60
MAX_BACKFILL = 4 * 3600
"""After a long idle gap (the learner's pace runs while nobody asks), publish at most 4 h
(alarms catch up 3 h; the extra hour feeds their first evaluation windows)."""
RETENTION = 24 * 3600
"""Our datapoints older than a simulated day are dropped to keep alarm evaluation cheap
(AWS keeps one-minute data for 15 days; no lab looks that far back)."""

METRICS = (("CPUUtilization", "cpu"), ("MemoryUtilization", "memory"))


def _state(plane: ControlPlane) -> dict[str, Any]:
    state: dict[str, Any] = plane.module_state("load", dict)
    state.setdefault("levels", {})  # service key -> {"cpu": float, "memory": float}
    state.setdefault("published", {})  # service key -> start of the last minute published
    state.setdefault("group_levels", {})  # group key -> {"cpu": float}
    state.setdefault("group_published", {})  # group key -> start of the last minute published
    state.setdefault("pruned", 0.0)
    return state


def service_key(account: str, region: str, cluster: str, service: str) -> str:
    return f"{account}|{region}|{cluster}|{service}"


def levels(plane: ControlPlane, account: str, region: str, cluster: str,
           service: str) -> dict[str, float]:
    """The service's current synthetic utilisation: {"cpu": %, "memory": %}."""
    found = _state(plane)["levels"].get(service_key(account, region, cluster, service), {})
    return {"cpu": float(found.get("cpu", DEFAULT_CPU)),
            "memory": float(found.get("memory", DEFAULT_MEMORY))}


def _active_services(ecs: Any) -> list[Any]:
    """Services that exist and have (or want) tasks: only those report utilisation."""
    return [service for service in list(ecs.services.values())
            if service.status == "ACTIVE"
            and (int(service.desired_count or 0) > 0 or int(service.running_count or 0) > 0)]


def _datum(metric: str, value: float, cluster: str, service: str, minute: float,
           namespace: str = NAMESPACE, dimensions: list[dict[str, str]] | None = None) -> Any:
    from moto.cloudwatch.models import MetricDatum

    # moto keeps naive UTC datetimes (its utcnow()); get_metric_statistics compares with them
    stamp = datetime.fromtimestamp(minute, UTC).replace(tzinfo=None)
    if dimensions is None:
        dimensions = [{"Name": "ClusterName", "Value": cluster},
                      {"Name": "ServiceName", "Value": service}]
    datum = MetricDatum(namespace, metric, float(value), dimensions, stamp, "Percent")
    datum._cloudkata_load = True  # ours, so we may prune it
    return datum


def group_key(account: str, region: str, group: str) -> str:
    return f"{account}|{region}|{group}"


def _tracks_cpu(backend: Any, group_name: str) -> bool:
    return any(policy.auto_scaling_group_name == group_name
               and policy.policy_type == "TargetTrackingScaling"
               for policy in list(backend.policies.values()))


def publish_groups(plane: ControlPlane) -> None:
    """Each complete simulated minute, every Auto Scaling group with a target-tracking policy
    or a load set, and running instances, reports its average CPUUtilization (AWS/EC2)."""
    state = _state(plane)
    published: dict[str, float] = state["group_published"]
    levels: dict[str, dict[str, float]] = state["group_levels"]
    now = plane.now()
    current_minute = math.floor(now / MINUTE) * MINUTE
    live: set[str] = set()
    existing: set[str] = set()
    for account, region, autoscaling in loaded("autoscaling"):
        for group in list(autoscaling.autoscaling_groups.values()):
            key = group_key(account, region, group.name)
            existing.add(key)
            running = any(s.instance.state == "running" for s in group.instance_states)
            if not running or not (key in levels or _tracks_cpu(autoscaling, group.name)):
                continue
            live.add(key)
            if key not in published:
                published[key] = current_minute - MINUTE
                continue
            minute = max(published[key] + MINUTE, current_minute - MAX_BACKFILL)
            if minute + MINUTE > now:
                continue
            cloudwatch = backend("cloudwatch", account, region)
            cpu = float(levels.get(key, {}).get("cpu", DEFAULT_CPU))
            dimensions = [{"Name": "AutoScalingGroupName", "Value": group.name}]
            while minute + MINUTE <= now:
                cloudwatch.metric_data.append(_datum("CPUUtilization", cpu, "", "", minute,
                                                     "AWS/EC2", dimensions))
                published[key] = minute
                minute += MINUTE
    for key in [key for key in published if key not in live]:
        del published[key]
    for key in [key for key in levels if key not in existing]:
        del levels[key]  # a deleted group forgets its load


def publish(plane: ControlPlane) -> None:
    """Write every complete simulated minute not yet published, for every live service."""
    state = _state(plane)
    published: dict[str, float] = state["published"]
    now = plane.now()
    current_minute = math.floor(now / MINUTE) * MINUTE
    live: set[str] = set()
    for account, region, ecs in loaded("ecs"):
        services = _active_services(ecs)
        if not services:
            continue
        cloudwatch = None
        for service in services:
            key = service_key(account, region, service.cluster_name, service.name)
            live.add(key)
            if key not in published:
                # first seen during this minute: its first datapoint covers this minute
                published[key] = current_minute - MINUTE
                continue
            start = max(published[key] + MINUTE, current_minute - MAX_BACKFILL)
            if start + MINUTE > now:
                continue
            if cloudwatch is None:
                cloudwatch = backend("cloudwatch", account, region)
            level = levels(plane, account, region, service.cluster_name, service.name)
            minute = start
            while minute + MINUTE <= now:
                for metric, field in METRICS:
                    cloudwatch.metric_data.append(
                        _datum(metric, level[field], service.cluster_name, service.name, minute))
                published[key] = minute
                minute += MINUTE
    for key in [key for key in published if key not in live]:
        del published[key]
    for key in [key for key in state["levels"] if key not in live and key not in published]:
        # a deleted service forgets its load; a new one of the same name starts at defaults
        if not _service_exists(key):
            del state["levels"][key]
    if now - state["pruned"] >= 3600:
        state["pruned"] = now
        _prune(now - RETENTION)


def _service_exists(key: str) -> bool:
    account, region, cluster, name = key.split("|")
    for acct, reg, ecs in loaded("ecs"):
        if acct == account and reg == region:
            found = ecs.services.get(f"{cluster}:{name}")
            return found is not None and found.status == "ACTIVE"
    return False


def _prune(before: float) -> None:
    cutoff = datetime.fromtimestamp(before, UTC).replace(tzinfo=None)
    for _, _, cloudwatch in loaded("cloudwatch"):
        data = cloudwatch.metric_data
        if any(getattr(d, "_cloudkata_load", False) and d.timestamp < cutoff for d in data):
            cloudwatch.metric_data = [
                d for d in data
                if not (getattr(d, "_cloudkata_load", False) and d.timestamp < cutoff)]


@reconciler(50)
def publish_service_metrics(plane: ControlPlane) -> None:
    """Each simulated minute, every live ECS service reports its CPU and memory utilisation,
    and every tracked Auto Scaling group its average CPU."""
    publish(plane)
    publish_groups(plane)


def _find_service(account: str, region: str, cluster: str, service: str) -> Any | None:
    for acct, reg, ecs in loaded("ecs"):
        if acct == account and reg == region:
            found = ecs.services.get(f"{cluster}:{service}")
            if found is not None and found.status == "ACTIVE":
                return found
    return None


def _percent(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 100, not {value!r}.") from None
    if not 0 <= number <= 100 or math.isnan(number):
        raise ValueError(f"{name} must be between 0 and 100, not {value!r}.")
    return number


@api.control("POST", "/cloudkata/load")
def set_load(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """``{"cluster", "service", "cpu"?, "memory"?, "region"?}``: apply synthetic load.

    From the next simulated minute the service reports these utilisations to CloudWatch.
    """
    if arguments.get("group"):
        return _set_group_load(plane, arguments)
    cluster = str(arguments.get("cluster") or "default").rsplit("/", 1)[-1]
    service = str(arguments.get("service") or "").rsplit("/", 1)[-1]
    region = str(arguments.get("region") or "us-east-1")
    account = str(arguments.get("account") or DEFAULT_ACCOUNT)
    if not service:
        return api.Response(400, {"message": "Say which service: {\"cluster\": ..., "
                                             "\"service\": ..., \"cpu\": 85}."})
    if "cpu" not in arguments and "memory" not in arguments:
        return api.Response(400, {"message": "Give \"cpu\" and/or \"memory\" (percent)."})
    try:
        cpu = _percent(arguments["cpu"], "cpu") if "cpu" in arguments else None
        memory = _percent(arguments["memory"], "memory") if "memory" in arguments else None
    except ValueError as exc:
        return api.Response(400, {"message": str(exc)})
    if _find_service(account, region, cluster, service) is None:
        return api.Response(404, {"message": f"There is no ECS service {service!r} in cluster "
                                             f"{cluster!r} in {region}; create it first."})
    publish(plane)  # minutes already over keep the load they had
    current = levels(plane, account, region, cluster, service)
    if cpu is not None:
        current["cpu"] = cpu
    if memory is not None:
        current["memory"] = memory
    _state(plane)["levels"][service_key(account, region, cluster, service)] = current
    return api.Response(200, {"cluster": cluster, "service": service, "region": region,
                              **current})


def _set_group_load(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """``{"group", "cpu", "region"?}``: the Auto Scaling group's average CPU from the next
    simulated minute."""
    group = str(arguments["group"]).split("autoScalingGroupName/")[-1]
    region = str(arguments.get("region") or "us-east-1")
    account = str(arguments.get("account") or DEFAULT_ACCOUNT)
    if "cpu" not in arguments:
        return api.Response(400, {"message": "Give \"cpu\" (percent) for the group."})
    try:
        cpu = _percent(arguments["cpu"], "cpu")
    except ValueError as exc:
        return api.Response(400, {"message": str(exc)})
    autoscaling = find("autoscaling", account, region)
    if autoscaling is None or group not in autoscaling.autoscaling_groups:
        return api.Response(404, {"message": f"There is no Auto Scaling group {group!r} in "
                                             f"{region}; create it first."})
    publish_groups(plane)  # minutes already over keep the load they had
    _state(plane)["group_levels"][group_key(account, region, group)] = {"cpu": cpu}
    return api.Response(200, {"group": group, "region": region, "cpu": cpu})


@api.control("GET", "/cloudkata/load")
def get_load(plane: ControlPlane, _: dict[str, Any]) -> api.Response:
    """The synthetic utilisation of every live ECS service."""
    services = []
    for account, region, ecs in loaded("ecs"):
        for service in _active_services(ecs):
            services.append({"region": region, "cluster": service.cluster_name,
                             "service": service.name,
                             **levels(plane, account, region, service.cluster_name,
                                      service.name)})
    return api.Response(200, {"services": services})
