"""The ECS container agent: EC2 instances join their cluster as AWS's agent makes them.

On AWS nothing calls ``RegisterContainerInstance`` for you: the agent on an ECS-optimized
instance does, once the instance has booted, into the cluster named by ``ECS_CLUSTER`` in
``/etc/ecs/ecs.config`` (usually written by user data), using the credentials of the
instance profile's role. moto has no agent, so instances never join (and a manual
registration reports 4,096 CPU / 7,482 MiB whatever the type). This module is that agent:

* A running instance whose user data sets ``ECS_CLUSTER=name`` (the usual
  ``echo ECS_CLUSTER=name >> /etc/ecs/ecs.config``), or that runs an ECS-optimized AMI, starts
  its agent :data:`BOOT_DELAY` simulated seconds after the sandbox first saw it running.
  Leniency, on purpose: an instance whose user data names a cluster is assumed to have an
  agent whatever its AMI (the script may install one); without ``ECS_CLUSTER`` only an
  ECS-optimized AMI has an agent, so a bastion host never joins a cluster.
* The agent needs credentials: an instance profile, whose role trusts ec2.amazonaws.com and
  may call ``ecs:RegisterContainerInstance`` on the cluster (attached managed and inline
  policies, judged by :func:`cloudkata.checks.policy.evaluate`). Otherwise it never registers,
  as on AWS; it retries on every step, so fixing the role or creating the cluster later works,
  as the real agent's restarts do.
* Without ``ECS_CLUSTER`` the agent uses the cluster ``default`` and, like the real agent,
  creates it when it does not exist and the role may call ``ecs:CreateCluster`` (which
  AmazonEC2ContainerServiceforEC2Role grants for exactly this). A named cluster that does not
  exist is never created: the agent waits for it.
* It registers with its instance type's CPU and memory (:mod:`.instance_types`), the
  ``ecs.*`` attributes, and the capacity provider of the cluster whose Auto Scaling group
  launched it (``capacityProviderName``).
* A stopped instance's agent disconnects (``agentConnected`` false, still registered) and
  reconnects after the next boot; a terminated instance's container instance is deregistered.
  A container instance deregistered by hand is not registered again (the real agent exits).

Why an instance did not register is kept per instance and served by ``POST /cloudkata/agent``
(``{instance_id: {"registered": bool, "reason": str | None}}``) for checks and tests.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from cloudkata.checks import compute
from cloudkata.sandbox import patches
from cloudkata.sandbox.control import api, backends
from cloudkata.sandbox.control.plane import ControlPlane, reconciler

from .ec2_autoscaling import PROFILE_ERROR_ATTRIBUTE
from .instance_types import lookup

STATE = "ecs_agent"
BOOT_DELAY = 60.0
"""Simulated seconds from launch (or start) until the agent registers: AWS's ECS-optimized
AMI boots, starts Docker and the agent in about a minute."""

DEFAULT_CLUSTER = "default"
REGISTER_ACTION = "ecs:RegisterContainerInstance"
CREATE_CLUSTER_ACTION = "ecs:CreateCluster"
EC2_SERVICE = "ec2.amazonaws.com"

_CLUSTER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ECS_AMI_NAME = re.compile(r"(?<![a-z])ecs(?![a-z])", re.IGNORECASE)
"""ECS-optimized AMI names: amzn2-ami-ecs-hvm-..., al2023-ami-ecs-hvm-...,
amzn-ami-...-amazon-ecs-optimized, Windows_Server-...-ECS_Optimized."""

ATTRIBUTES_LINUX: dict[str, str | None] = {
    "ecs.os-type": "linux",
    "ecs.os-family": "LINUX",
    "ecs.cpu-architecture": "x86_64",
    "ecs.capability.execution-role-awslogs": None,
    "ecs.capability.execution-role-ecr-pull": None,
    "ecs.capability.task-eni": None,
    "ecs.capability.container-health-check": None,
    "ecs.capability.secrets.ssm.environment-variables": None,
    "com.amazonaws.ecs.capability.ecr-auth": None,
    "com.amazonaws.ecs.capability.task-iam-role": None,
    "com.amazonaws.ecs.capability.task-iam-role-network-host": None,
    "com.amazonaws.ecs.capability.logging-driver.awslogs": None,
    "com.amazonaws.ecs.capability.logging-driver.json-file": None,
    "com.amazonaws.ecs.capability.docker-remote-api.1.44": None,
}
"""What a Linux container instance of the ECS-optimized AMI reports besides AZ, type and AMI
(capabilities are name-only attributes on AWS)."""

VERSION_INFO = {"agentVersion": "1.88.0", "agentHash": "1a5fcdfc",
                "dockerVersion": "DockerVersion: 25.0.8"}


# --- patches -------------------------------------------------------------------------------


def _set_integer(resources: list[dict[str, Any]], name: str, value: int) -> None:
    for resource in resources:
        if resource.get("name") == name:
            resource["integerValue"] = value


def _patch_container_instances_register_their_instance_type() -> None:
    """Restore: a container instance registers its own type's CPU units and memory (moto:
    4,096 / 7,482 for every type), and reports the ``ecs.*`` attributes AWS's agent does
    (subnet, VPC, architecture, capabilities), whoever registers it."""
    from moto.ecs.models import ContainerInstance

    @patches.wrap(ContainerInstance, "__init__",
                  why="a container instance registers its type's CPU and memory and the "
                      "agent's ecs.* attributes")
    def __init__(original: Any, self: Any, ec2_instance_id: str, account_id: str,
                 region_name: str, cluster_name: str, backend: Any) -> None:
        original(self, ec2_instance_id, account_id, region_name, cluster_name, backend)
        from moto.ec2.models import ec2_backends

        instance = ec2_backends[account_id][region_name].get_instance(ec2_instance_id)
        resources = lookup(instance.instance_type)
        for listed in (self.registered_resources, self.remaining_resources):
            _set_integer(listed, "CPU", resources.ecs_cpu)
            _set_integer(listed, "MEMORY", resources.ecs_memory_mib)
        attributes = dict(ATTRIBUTES_LINUX)
        if instance.platform == "windows":
            attributes.update({"ecs.os-type": "windows", "ecs.os-family": "WINDOWS_SERVER"})
        architecture = getattr(instance, "architecture", None)
        if architecture:
            attributes["ecs.cpu-architecture"] = architecture
        if instance.subnet_id:
            attributes["ecs.subnet-id"] = instance.subnet_id
        if instance.vpc_id:
            attributes["ecs.vpc-id"] = instance.vpc_id
        self.attributes.update(attributes)
        self.version_info = dict(VERSION_INFO)


def _patch_deregistration_updates_the_cluster() -> None:
    """Restore: DeregisterContainerInstance answers with status INACTIVE and lowers the
    cluster's registeredContainerInstancesCount (moto left both as they were)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    @patches.wrap(EC2ContainerServiceBackend, "deregister_container_instance",
                  why="deregistering answers INACTIVE and lowers the cluster's count")
    def deregister_container_instance(original: Any, self: Any, cluster_str: str,
                                      container_instance_str: str, force: bool) -> Any:
        container_instance = original(self, cluster_str, container_instance_str, force)
        container_instance.status = "INACTIVE"
        cluster = self._get_cluster(cluster_str)
        cluster.registered_container_instances_count = max(
            0, cluster.registered_container_instances_count - 1)
        return container_instance


_patch_container_instances_register_their_instance_type()
_patch_deregistration_updates_the_cluster()


# --- user data -----------------------------------------------------------------------------


def decode_user_data(raw: Any) -> str:
    """The instance's user data as text. moto keeps it base64-encoded, as a
    ``Base64EncodedString``, bytes or str; the decoding itself is the checks' (one truth for
    what the agent reads and what a check says it reads)."""
    if raw is None:
        return ""
    if hasattr(raw, "decode") and not isinstance(raw, bytes | str):
        return compute.decode_user_data(str(raw))
    return compute.decode_user_data(
        raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))


ecs_cluster_setting = compute.ecs_cluster_setting


# --- IAM -----------------------------------------------------------------------------------


def _iam(account_id: str) -> Any | None:
    """moto's IAM backend for the account (IAM is keyed by partition, not region)."""
    return backends.find("iam", account_id, "aws")


def _role_policies(role: Any) -> list[tuple[str, Any]]:
    """(label, document) for the role's attached managed (default version) and inline
    policies, as ``cloudkata.checks.policy.evaluate`` takes them."""
    policies: list[tuple[str, Any]] = []
    for policy in list(role.managed_policies.values()):
        versions = getattr(policy, "versions", [])
        document = next((v.document for v in versions if v.is_default),
                        versions[-1].document if versions else None)
        if document:
            policies.append((policy.name, document))
    for name, document in list(role.policies.items()):
        policies.append((name, document))
    return policies


def _trusts_ec2(role: Any) -> bool:
    """Does the role's trust policy let EC2 assume it (so the instance gets credentials)?"""
    from cloudkata.checks.policy import matches, parse_document

    try:
        document = parse_document(role.assume_role_policy_document)
    except ValueError:
        return False
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(isinstance(a, str) and matches(a, "sts:AssumeRole", case_sensitive=False)
                   for a in actions):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict):
            services = principal.get("Service", [])
            services = [services] if isinstance(services, str) else services
            if EC2_SERVICE in services or principal.get("AWS") == "*":
                return True
    return False


def _may(role: Any, action: str, resource: str) -> tuple[bool, str | None]:
    """(allowed, why not) for one action of the role, from its attached + inline policies."""
    from cloudkata.checks.policy import Decision, evaluate

    try:
        result = evaluate(_role_policies(role), action, resource)
    except ValueError as exc:
        return False, f"role {role.name} has a policy the sandbox cannot read ({exc})"
    if result.allowed:
        return True, None
    reason = f"role {role.name} may not call {action}"
    if result.decision is Decision.EXPLICIT_DENY:
        reason += f" (explicitly denied by {result.matched})"
    return False, reason


def instance_role(instance: Any) -> tuple[Any | None, str | None]:
    """(the role the instance's agent runs as, or None with the reason it has none)."""
    profile_ref = instance.iam_instance_profile
    if not profile_ref:
        return None, getattr(instance, PROFILE_ERROR_ATTRIBUTE, None) or "no instance profile"
    arn = profile_ref.get("Arn", "") if isinstance(profile_ref, dict) else str(profile_ref)
    name = arn.rsplit("/", 1)[-1]
    iam = _iam(instance.owner_id)
    profile = None
    if iam is not None:
        profile = next((p for p in list(iam.instance_profiles.values()) if p.arn == arn), None)
    if profile is None:
        return None, f"instance profile {name} does not exist"
    roles = [r for r in profile.roles if hasattr(r, "managed_policies")]
    if not roles:
        return None, f"instance profile {name} has no role"
    role = roles[0]
    if not _trusts_ec2(role):
        return None, (f"role {role.name} does not trust {EC2_SERVICE} (its trust policy does "
                      "not let EC2 assume it), so the instance gets no credentials")
    return role, None


# --- the agent -----------------------------------------------------------------------------


def _cluster_arn(account_id: str, region: str, name: str) -> str:
    return f"arn:aws:ecs:{region}:{account_id}:cluster/{name}"


def _active_cluster(ecs: Any | None, name: str) -> Any | None:
    if ecs is None:
        return None
    cluster = ecs.clusters.get(name)
    return cluster if cluster is not None and cluster.status == "ACTIVE" else None


def _find_container_instance(ecs: Any | None, arn: str | None = None,
                             instance_id: str | None = None) -> Any | None:
    if ecs is None:
        return None
    for cluster_name, members in list(ecs.container_instances.items()):
        if cluster_name == "orphaned":
            continue
        for container_instance in list(members.values()):
            if arn and container_instance.container_instance_arn == arn:
                return container_instance
            if instance_id and container_instance.ec2_instance_id == instance_id and (
                    container_instance.status != "INACTIVE"):
                return container_instance
    return None


def _asg_of(instance: Any) -> Any | None:
    group = getattr(instance, "autoscaling_group", None)
    if group is None or not any(s.instance is instance for s in group.instance_states):
        return None
    return group


def _capacity_provider(ecs: Any, cluster: Any, instance: Any) -> str | None:
    """The cluster's capacity provider backed by the Auto Scaling group that launched it."""
    group = _asg_of(instance)
    if group is None:
        return None
    for name in cluster.capacity_providers or []:
        provider = ecs._get_provider(name)
        if provider is None:
            continue
        ref = (provider.auto_scaling_group_provider or {}).get("autoScalingGroupArn", "")
        if ref in (group.arn, group.name) or ref.endswith(f"autoScalingGroupName/{group.name}"):
            return provider.name
    return None


def _deregister(ecs: Any, container_instance: Any) -> None:
    """What ECS does when the instance behind a container instance terminates."""
    members = ecs.container_instances.get(container_instance.cluster_name, {})
    key = container_instance.container_instance_arn.rsplit("/", 1)[-1]
    if members.pop(key, None) is not None:
        cluster = ecs.clusters.get(container_instance.cluster_name)
        if cluster is not None:
            cluster.registered_container_instances_count = max(
                0, cluster.registered_container_instances_count - 1)
    container_instance.status = "INACTIVE"
    container_instance.agent_connected = False


def _target_cluster(instance: Any, ec2: Any) -> tuple[str | None, bool, str | None]:
    """(cluster name, may create it, why no agent runs) from user data and AMI."""
    setting = ecs_cluster_setting(decode_user_data(instance.user_data))
    if setting is None:
        ami = ec2.amis.get(instance.image_id)
        if ami is None or not _ECS_AMI_NAME.search(ami.name or ""):
            return None, False, (f"no ECS agent: AMI {instance.image_id} is not an "
                                 "ECS-optimized AMI and the user data sets no ECS_CLUSTER")
        return DEFAULT_CLUSTER, True, None
    if setting == "":
        return DEFAULT_CLUSTER, True, None
    if "$" in setting or "`" in setting:
        return None, False, (f"ECS_CLUSTER is set from a shell expression ({setting}) the "
                             "sandbox cannot evaluate; write the cluster name itself")
    if not _CLUSTER_NAME.fullmatch(setting):
        return None, False, f"ECS_CLUSTER={setting} is not a valid cluster name"
    return setting, False, None


def _try_register(plane: ControlPlane, account_id: str, region: str, instance: Any,
                  ec2: Any, record: dict[str, Any]) -> None:
    """One registration attempt of a booted agent; sets the record's outcome."""
    cluster_name, may_create, no_agent = _target_cluster(instance, ec2)
    if cluster_name is None:
        record.update(registered=False, reason=no_agent)
        return
    record["cluster"] = cluster_name
    ecs = backends.find("ecs", account_id, region)
    existing = _find_container_instance(ecs, instance_id=instance.id)
    if existing is not None:  # registered by hand already: the agent adopts it
        record.update(arn=existing.container_instance_arn, registered=True, reason=None)
        return
    role, why = instance_role(instance)
    if role is None:
        record.update(registered=False, reason=why)
        return
    cluster_arn = _cluster_arn(account_id, region, cluster_name)
    allowed, why = _may(role, REGISTER_ACTION, cluster_arn)
    if not allowed:
        record.update(registered=False, reason=why)
        return
    cluster = _active_cluster(ecs, cluster_name)
    if cluster is None:
        if not may_create:
            record.update(registered=False, reason=f"cluster {cluster_name} does not exist")
            return
        allowed, _ = _may(role, CREATE_CLUSTER_ACTION, cluster_arn)
        if not allowed:
            record.update(registered=False, reason=(
                f"cluster {cluster_name} does not exist and role {role.name} may not call "
                f"{CREATE_CLUSTER_ACTION} to create it"))
            return
        ecs = backends.backend("ecs", account_id, region)
        cluster = ecs.create_cluster(cluster_name)
    container_instance = ecs.register_container_instance(cluster_name, instance.id)  # type: ignore[union-attr]  # the cluster is in it
    container_instance.registered_at = datetime.fromtimestamp(plane.now(), UTC).replace(
        tzinfo=None)
    provider = _capacity_provider(ecs, cluster, instance)
    if provider:
        container_instance.capacity_provider_name = provider
    record.update(arn=container_instance.container_instance_arn, registered=True, reason=None)


def _follow(plane: ControlPlane, account_id: str, region: str, instance: Any, ec2: Any,
            records: dict[str, Any]) -> None:
    """Move one instance's agent on: boot, register, disconnect, deregister."""
    now = plane.now()
    record = records.get(instance.id)
    state = instance.state
    if record is None:
        if state == "terminated":
            return  # terminated before we ever saw it run: no agent ever started
        record = records[instance.id] = {
            "account": account_id, "region": region, "boot": now, "down": state != "running",
            "cluster": None, "arn": None, "registered": False, "reason": None, "gone": False}
    if record.get("final"):
        return
    ecs = backends.find("ecs", account_id, region)
    container_instance = _find_container_instance(ecs, arn=record["arn"]) if record["arn"] \
        else None
    if state == "terminated":
        if container_instance is not None and ecs is not None:
            _deregister(ecs, container_instance)
        record.update(registered=False, reason="instance is terminated", final=True)
        return
    if state != "running":
        record["down"] = True
        if container_instance is not None:
            container_instance.agent_connected = False
            record.update(registered=True,
                          reason=f"instance is {state}; its agent is disconnected")
        else:
            record.update(registered=False, reason=f"instance is {state}")
        return
    if record["down"]:
        record.update(down=False, boot=now)
    booted = now >= record["boot"] + BOOT_DELAY
    if record["arn"]:
        if container_instance is None or container_instance.status == "INACTIVE":
            record.update(arn=None, registered=False, gone=True, reason=(
                "its container instance was deregistered; the ECS agent does not register "
                "it again (launch a new instance)"))
            return
        if booted:
            container_instance.agent_connected = True
            record.update(registered=True, reason=None)
            if not getattr(container_instance, "capacity_provider_name", None) and ecs:
                cluster = _active_cluster(ecs, container_instance.cluster_name)
                provider = cluster and _capacity_provider(ecs, cluster, instance)
                if provider:
                    container_instance.capacity_provider_name = provider
        return
    if record["gone"]:
        return
    if not booted:
        left = int(record["boot"] + BOOT_DELAY - now + 0.999)
        record.update(registered=False, reason=(
            f"booting: the ECS agent starts {int(BOOT_DELAY)} s after launch ({left} s to go)"))
        return
    _try_register(plane, account_id, region, instance, ec2, record)


@reconciler(20)
def ecs_agent(plane: ControlPlane) -> None:
    """Every EC2 instance's agent, moved on to ``plane.now()``."""
    records: dict[str, Any] = plane.module_state(STATE, dict)
    for account_id, region, ec2 in backends.loaded("ec2"):
        for reservation in list(ec2.reservations.values()):
            for instance in list(reservation.instances):
                _follow(plane, account_id, region, instance, ec2, records)


@api.control("POST", "/cloudkata/agent")
def agent_status(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """``{instance_id: {"registered": bool, "reason": str | None}}`` for every instance the
    agent has seen; ``{"instance_ids": [...]}`` narrows it."""
    plane.reconcile()
    records: dict[str, Any] = plane.module_state(STATE, dict)
    wanted = arguments.get("instance_ids")
    body = {instance_id: {"registered": bool(record["registered"]), "reason": record["reason"]}
            for instance_id, record in records.items()
            if not wanted or instance_id in wanted}
    return api.Response(200, body)
