"""VPC checks: security groups and what their ingress rules admit.

A group is found by its name; else, by discovery, among the groups of the load balancer (for
the load balancer's own group) or of the cluster's container instances (for the instances'
group), so groups whose names CloudFormation generated are judged too. Discovery never takes a
VPC's ``default`` group or a group the lab names for something else, takes nothing when the
choice is ambiguous, and names what it took; the group is then judged in full.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found


def groups_by_ids(aws: ReadOnlyAws, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    try:
        return aws.ec2.describe_security_groups(GroupIds=sorted(set(ids)))["SecurityGroups"]
    except ClientError as exc:
        if is_not_found(exc):
            return []
        raise


def group_by_name(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    found = aws.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    return found[0] if found else None


def load_balancer_groups(aws: ReadOnlyAws, name: str | None) -> list[dict[str, Any]]:
    """Security groups of the load balancer (by name, else the only ALB)."""
    if not name:
        return []
    from .elbv2 import find_load_balancer

    lb = find_load_balancer(aws, name)
    return groups_by_ids(aws, (lb or {}).get("SecurityGroups") or [])


def cluster_instance_groups(aws: ReadOnlyAws, cluster: str | None) -> list[dict[str, Any]]:
    """Security groups of the EC2 instances registered in the cluster."""
    if not cluster:
        return []
    try:
        arns = aws.ecs.paginate("list_container_instances", "containerInstanceArns",
                                cluster=cluster)
    except ClientError as exc:
        if is_not_found(exc) or "ClusterNotFound" in str(exc):
            return []
        raise
    if not arns:
        return []
    described = aws.ecs.describe_container_instances(cluster=cluster, containerInstances=arns)
    ids = [c["ec2InstanceId"] for c in described["containerInstances"]]
    groups: list[str] = []
    for reservation in aws.ec2.describe_instances(InstanceIds=ids)["Reservations"]:
        for instance in reservation["Instances"]:
            groups += [g["GroupId"] for g in instance.get("SecurityGroups") or []]
    return groups_by_ids(aws, groups)


def _range(rule: dict[str, Any]) -> tuple[int, int] | None:
    """The TCP port range a rule admits; None when it admits no TCP."""
    protocol = str(rule.get("IpProtocol"))
    if protocol == "-1":
        return (0, 65535)
    if protocol not in ("tcp", "6"):
        return None
    return int(rule.get("FromPort", 0)), int(rule.get("ToPort", 65535))


def _ports(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def admitted_ranges(group: dict[str, Any], *, cidr: str | None = None,
                    source_ids: set[str] | None = None) -> list[tuple[int, int]]:
    """TCP ranges the group admits from ``cidr`` or from any of the ``source_ids`` groups."""
    ranges = []
    for rule in group.get("IpPermissions") or []:
        span = _range(rule)
        if span is None:
            continue
        if cidr is not None and any(r.get("CidrIp") == cidr for r in rule.get("IpRanges") or []):
            ranges.append(span)
        if source_ids and any(pair.get("GroupId") in source_ids
                              for pair in rule.get("UserIdGroupPairs") or []):
            ranges.append(span)
    return ranges


def covers(ranges: list[tuple[int, int]], low: int, high: int) -> bool:
    """Do the ranges together admit every port from low to high?"""
    port = low
    for start, end in sorted(ranges):
        if start > port:
            break
        port = max(port, end + 1)
        if port > high:
            return True
    return port > high


def describe_admits(group: dict[str, Any], names: dict[str, str]) -> str:
    """What the group admits, in words: '80 from 0.0.0.0/0; 32768-65535 from kata-alb-sg'."""
    parts = []
    for rule in group.get("IpPermissions") or []:
        span = _range(rule)
        what = "all traffic" if str(rule.get("IpProtocol")) == "-1" else (
            _ports(*span) if span else str(rule.get("IpProtocol")))
        sources = [r.get("CidrIp", "?") for r in rule.get("IpRanges") or []]
        sources += [names.get(p.get("GroupId", ""), p.get("GroupId", "?"))
                    for p in rule.get("UserIdGroupPairs") or []]
        parts.append(f"{what} from {', '.join(sources) or 'nowhere'}")
    return "; ".join(parts) or "nothing (no ingress rules)"


def _discoverable(groups: list[dict[str, Any]], exclude: set[str]) -> list[dict[str, Any]]:
    """Groups discovery may take: not a VPC's default group (it belongs to the VPC, not to the
    lab) and not one of ``exclude`` (ids or names of groups the lab uses for other things)."""
    return [g for g in groups if g.get("GroupName") != "default"
            and g["GroupId"] not in exclude and g.get("GroupName") not in exclude]


def _missing(name: str, what: str) -> Result:
    return failed(f"Security group {name} does not exist.", expected=f"a security group {what}",
                  actual="no such group")


class IngressParams(Params):
    group: str
    port: int
    to_port: int | None = None
    cidr: str = "0.0.0.0/0"
    load_balancer: str | None = Field(
        default=None, description="discovery: the group may be one of this load balancer's")
    exclude: list[str] = Field(
        default_factory=list,
        description="discovery: the lab's other security groups, never taken for this one")


@check("vpc.security_group_ingress", title="The security group admits the port from the CIDR",
       params=IngressParams,
       hint="aws ec2 authorize-security-group-ingress --group-id ... --protocol tcp --port 80 "
            "--cidr 0.0.0.0/0")
def security_group_ingress(aws: ReadOnlyAws, p: IngressParams) -> Result:
    high = p.to_port or p.port
    group, how = group_by_name(aws, p.group), ""
    if group is None:
        candidates = [g for g in _discoverable(load_balancer_groups(aws, p.load_balancer),
                                               set(p.exclude))
                      if covers(admitted_ranges(g, cidr=p.cidr), p.port, high)]
        if len(candidates) != 1:
            return _missing(p.group, f"named {p.group} admitting {_ports(p.port, high)} "
                                     f"from {p.cidr}")
        group = candidates[0]
        how = (f" (found by discovery: there is no group {p.group}; it is the group of load "
               f"balancer {p.load_balancer} that admits {_ports(p.port, high)} from {p.cidr})")
    name = (group.get("GroupName") or group["GroupId"]) + how
    if not covers(admitted_ranges(group, cidr=p.cidr), p.port, high):
        return failed(f"Security group {name} does not admit TCP {_ports(p.port, high)} from "
                      f"{p.cidr}.",
                      expected=f"TCP {_ports(p.port, high)} from {p.cidr}",
                      actual="admits " + describe_admits(group, {}))
    return passed(f"Security group {name} admits TCP {_ports(p.port, high)} from {p.cidr}.")


class AdmitsGroupParams(Params):
    group: str
    from_port: int
    to_port: int
    source: str = Field(description="the security group that must be admitted, by name")
    only: bool = Field(default=True,
                       description="the range must not also be open to any CIDR")
    cluster: str | None = Field(default=None,
                                description="discovery: the group of the cluster's instances")
    source_load_balancer: str | None = Field(
        default=None, description="discovery: the source is this load balancer's group")


@check("vpc.security_group_admits_group",
       title="The instances' group admits the load balancer's group on the port range",
       params=AdmitsGroupParams,
       hint="aws ec2 authorize-security-group-ingress --group-id <instances' group> "
            "--protocol tcp --port 32768-65535 --source-group <load balancer's group>")
def security_group_admits_group(aws: ReadOnlyAws, p: AdmitsGroupParams) -> Result:
    span = _ports(p.from_port, p.to_port)
    named = group_by_name(aws, p.group)
    hows: list[str] = []
    sources = [g for g in [group_by_name(aws, p.source)] if g]
    if not sources:
        # the load balancer's own groups, never the instances' group itself
        sources = _discoverable(load_balancer_groups(aws, p.source_load_balancer),
                                {p.group, *([named["GroupId"]] if named else [])})
        if sources:
            hows.append(f"there is no group {p.source}; "
                        + ", ".join(g.get("GroupName") or g["GroupId"] for g in sources)
                        + f" is what load balancer {p.source_load_balancer} carries")
    if not sources:
        return _missing(p.source, f"named {p.source} for the load balancer")
    source_ids = {g["GroupId"] for g in sources}
    source_name = ", ".join(g.get("GroupName") or g["GroupId"] for g in sources)
    group = named
    if group is None:
        candidates = _discoverable(cluster_instance_groups(aws, p.cluster),
                                   source_ids | {p.source})
        admitting = [g for g in candidates if admitted_ranges(g, source_ids=source_ids)]
        chosen = admitting if admitting else candidates
        group = chosen[0] if len(chosen) == 1 else None
        if group is not None:
            which = ("the group of the cluster's instances that admits it" if admitting
                     else "the one group of the cluster's instances")
            hows.insert(0, f"there is no group {p.group}; "
                           f"{group.get('GroupName') or group['GroupId']} is {which}")
    if group is None:
        return _missing(p.group, f"named {p.group} on the container instances")
    name = group.get("GroupName") or group["GroupId"]
    if hows:
        name += " (found by discovery: " + "; ".join(hows) + ")"
    names = {g["GroupId"]: g.get("GroupName") or g["GroupId"] for g in [group, *sources]}
    admitted = admitted_ranges(group, source_ids=source_ids)
    if not covers(admitted, p.from_port, p.to_port):
        if covers(admitted_ranges(group, cidr="0.0.0.0/0"), p.from_port, p.to_port):
            return failed(
                f"Security group {name} admits TCP {span} from 0.0.0.0/0 instead of from "
                f"{source_name}: anyone can reach the tasks without the load balancer. Name "
                f"the load balancer's group as the source (--source-group), not a CIDR.",
                expected=f"TCP {span} only from security group {source_name}",
                actual="admits " + describe_admits(group, names))
        have = ", ".join(_ports(*r) for r in admitted)
        detail = (f"; it admits only {have} from it" if have else "")
        return failed(
            f"Security group {name} does not admit {source_name} on TCP {span}{detail}: the "
            f"load balancer cannot reach the tasks' dynamic host ports, so their health checks "
            f"time out.",
            expected=f"TCP {span} from security group {source_name}",
            actual="admits " + describe_admits(group, names))
    if p.only:
        open_to = sorted({r.get("CidrIp", "?") for rule in group.get("IpPermissions") or []
                          if (s := _range(rule)) and s[0] <= p.to_port and s[1] >= p.from_port
                          for r in rule.get("IpRanges") or []})
        if open_to:
            return failed(
                f"Security group {name} admits {source_name} on TCP {span}, but also "
                f"{', '.join(open_to)}: anyone there can reach the tasks without the load "
                f"balancer.",
                expected=f"TCP {span} only from security group {source_name}",
                actual="admits " + describe_admits(group, names))
    return passed(f"Security group {name} admits TCP {span} from {source_name} only.")
