"""Managed node groups own a real Auto Scaling group and its EC2 instances, as on AWS.

On AWS, CreateNodegroup makes a launch template ``eks-<nodegroup uuid>`` (the EKS-optimised
AMI for the node group's Kubernetes version and amiType, the cluster security group, bootstrap
user data) and an Auto Scaling group ``eks-<nodegroup>-<uuid>`` across the node group's
subnets, tagged ``eks:cluster-name``, ``eks:nodegroup-name`` and
``kubernetes.io/cluster/<cluster>=owned`` (propagated to the instances) and the
cluster-autoscaler tags. Spot node groups (capacityType SPOT), and node groups with several
instance types, use a MixedInstancesPolicy; their instances are Spot instances
(``InstanceLifecycle: spot``). ``describe-nodegroup``'s ``resources.autoScalingGroups`` names
the group; update-nodegroup-config resizes it; deleting the node group terminates the
instances and deletes the group.

moto names an Auto Scaling group that does not exist and launches nothing. Here the group and
template are made in moto's own autoscaling and EC2 backends, so ``aws autoscaling`` and
``aws ec2 describe-instances`` see them. Instances are launched by this module for node-group
groups (moto's ASG would put every instance in the first subnet and never use Spot):
spread over the subnets' Availability Zones, Spot when the node group is, with the node
role's instance profile.

This module registers no hook and patches nothing itself: ``eks`` calls it from its moto
patches, and ``ec2_autoscaling``'s patch of moto's ``replace_autoscaling_group_instances``
(the one patch of that launcher) hands node-group groups to :func:`launch_nodes`.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from . import ssm_params

NODEGROUP_TAG = "eks:nodegroup-name"
CLUSTER_TAG = "eks:cluster-name"


def asg_name(nodegroup: Any) -> str:
    return f"eks-{nodegroup.nodegroup_name}-{nodegroup.uuid}"


def template_name(nodegroup: Any) -> str:
    return f"eks-{nodegroup.uuid}"


def _ec2(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _autoscaling(account: str, region: str) -> Any:
    from moto.autoscaling.models import autoscaling_backends

    return autoscaling_backends[account][region]


def _iam(account: str) -> Any | None:
    from ..control.backends import find

    return find("iam", account, "aws")


def _user_data(cluster: Any, family: str) -> str:
    """The bootstrap user data EKS puts in a node group's launch template."""
    endpoint = getattr(cluster, "cloudkata_endpoint", None) or cluster.endpoint or ""
    if family.startswith("al2023"):
        body = ("---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
                f"    name: {cluster.name}\n    apiServerEndpoint: {endpoint}\n"
                "    cidr: 172.20.0.0/16\n")
        content_type = "application/node.eks.aws"
    else:
        body = (f"#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh {cluster.name} "
                f"--apiserver-endpoint '{endpoint}' --dns-cluster-ip 172.20.0.10\n")
        content_type = 'text/x-shellscript; charset="us-ascii"'
    document = ('MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="//"\n\n--//\n'
                f"Content-Type: {content_type}\n\n{body}\n--//--\n")
    return base64.b64encode(document.encode()).decode()


def _instance_profile(account: str, nodegroup: Any) -> str | None:
    """An instance profile for the node role, as EKS makes one; None if the role is unknown."""
    iam = _iam(account)
    role_name = str(nodegroup.node_role or "").rsplit("/", 1)[-1]
    if iam is None or not role_name:
        return None
    try:
        iam.get_role(role_name)
    except Exception:  # noqa: BLE001 - moto raises its own NotFound; no role, no profile
        return None
    name = template_name(nodegroup)
    try:
        profile = iam.get_instance_profile(name)
    except Exception:  # noqa: BLE001
        profile = iam.create_instance_profile(name, "/", [role_name], [])
    return str(profile.arn)


def _template_data(cluster: Any, nodegroup: Any, ec2: Any) -> dict[str, Any]:
    """The node group's launch template data: the learner's template, completed as EKS does."""
    from moto.core.types import Base64EncodedString

    data: dict[str, Any] = {}
    spec = nodegroup.launch_template or {}
    if spec.get("id") or spec.get("name"):
        template = (ec2.get_launch_template(spec["id"]) if spec.get("id")
                    else ec2.get_launch_template_by_name(spec["name"]))
        data = dict(template.get_version(spec.get("version") or "$Default").data)
    family = ssm_params.family_for(nodegroup.ami_type, nodegroup.version)
    if not data.get("ImageId"):
        data["ImageId"] = ssm_params.recommended(ec2.region_name, nodegroup.version,
                                                 family)["image_id"]
    types = nodegroup.instance_types or []
    if not data.get("InstanceType") and len(types) == 1:
        data["InstanceType"] = types[0]
    if not data.get("SecurityGroupIds") and not data.get("NetworkInterfaces"):
        groups = [cluster.resources_vpc_config.get("clusterSecurityGroupId")]
        groups.append((nodegroup.resources or {}).get("remoteAccessSecurityGroup"))
        data["SecurityGroupIds"] = [group for group in groups if group]
    if not data.get("UserData"):
        data["UserData"] = Base64EncodedString(_user_data(cluster, family))
    if not data.get("KeyName") and nodegroup.remote_access:
        data["KeyName"] = nodegroup.remote_access.get("ec2SshKey")
    return data


def provision(cluster: Any, nodegroup: Any, account: str, region: str) -> None:
    """Make the node group's launch template and Auto Scaling group (which launches nodes)."""
    ec2 = _ec2(account, region)
    asg = _autoscaling(account, region)
    data = _template_data(cluster, nodegroup, ec2)
    profile = _instance_profile(account, nodegroup)
    if profile and "IamInstanceProfile" not in data:
        data["IamInstanceProfile"] = {"Arn": profile}
    owner_tags = {CLUSTER_TAG: cluster.name, NODEGROUP_TAG: nodegroup.nodegroup_name}
    name = template_name(nodegroup)
    if name in ec2.launch_template_name_to_ids:
        ec2.delete_launch_template(name, None)
    template = ec2.create_launch_template(name, "", data, {"launch-template": owner_tags})
    spot = nodegroup.capacity_type == "SPOT"
    types = list(nodegroup.instance_types or [])
    spec = {"LaunchTemplateId": template.id, "Version": "1"}
    mixed = None
    if spot or len(types) > 1:
        mixed = {
            "LaunchTemplate": {"LaunchTemplateSpecification": dict(spec),
                               "Overrides": [{"InstanceType": t} for t in types]},
            "InstancesDistribution": {
                "OnDemandAllocationStrategy": "prioritized",
                "OnDemandBaseCapacity": 0,
                "OnDemandPercentageAboveBaseCapacity": 0 if spot else 100,
                "SpotAllocationStrategy": "capacity-optimized" if spot else "lowest-price",
            },
        }
    group = asg_name(nodegroup)
    propagated = {**owner_tags, f"kubernetes.io/cluster/{cluster.name}": "owned"}
    tags = [{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in propagated.items()]
    tags += [{"Key": "k8s.io/cluster-autoscaler/enabled", "Value": "true",
              "PropagateAtLaunch": True},
             {"Key": f"k8s.io/cluster-autoscaler/{cluster.name}", "Value": "owned",
              "PropagateAtLaunch": True}]
    scaling = nodegroup.scaling_config
    asg.create_auto_scaling_group(
        name=group, availability_zones=[], desired_capacity=scaling.get("desiredSize"),
        max_size=scaling.get("maxSize"), min_size=scaling.get("minSize"),
        launch_config_name=None, launch_template=None if mixed else spec,
        vpc_zone_identifier=",".join(nodegroup.subnets), default_cooldown=None,
        health_check_period=15, health_check_type="EC2", load_balancers=[],
        target_group_arns=[], placement_group=None,
        termination_policies=["AllocationStrategy", "OldestLaunchTemplate", "OldestInstance"],
        tags=tags, capacity_rebalance=spot, mixed_instances_policy=mixed)


def find_group(nodegroup: Any, account: str, region: str) -> Any | None:
    from ..control.backends import find

    backend = find("autoscaling", account, region)
    return backend.autoscaling_groups.get(asg_name(nodegroup)) if backend else None


def rescale(nodegroup: Any, account: str, region: str) -> None:
    """Give the node group's Auto Scaling group its scalingConfig (launches or terminates)."""
    group = find_group(nodegroup, account, region)
    if group is None:
        return
    scaling = nodegroup.scaling_config
    group.min_size = int(scaling.get("minSize", group.min_size))
    group.max_size = int(scaling.get("maxSize", group.max_size))
    group.set_desired_capacity(int(scaling.get("desiredSize", group.desired_capacity)))


def drain(nodegroup: Any, account: str, region: str) -> None:
    """DELETING: the group goes to zero and its instances terminate."""
    group = find_group(nodegroup, account, region)
    if group is not None:
        group.min_size = 0
        group.set_desired_capacity(0)


def release(nodegroup: Any, account: str, region: str) -> None:
    """Deleted: the Auto Scaling group, launch template and instance profile go too."""
    from ..control.backends import find

    backend = find("autoscaling", account, region)
    if backend is not None and asg_name(nodegroup) in backend.autoscaling_groups:
        backend.delete_auto_scaling_group(asg_name(nodegroup))
    ec2 = find("ec2", account, region)
    name = template_name(nodegroup)
    if ec2 is not None and name in ec2.launch_template_name_to_ids:
        ec2.delete_launch_template(name, None)
    iam = _iam(account)
    if iam is not None:
        try:
            profile = iam.get_instance_profile(name)
        except Exception:  # noqa: BLE001 - no profile was made (unknown role)
            return
        for role in list(profile.roles):
            iam.remove_role_from_instance_profile(name, role.name)
        iam.delete_instance_profile(name)


def replace_nodes(nodegroup: Any, account: str, region: str, cluster: Any) -> None:
    """A version update: a new template version with the new AMI, every node replaced."""
    group = find_group(nodegroup, account, region)
    ec2 = _ec2(account, region)
    if group is None or group.ec2_launch_template is None:
        return
    template = group.ec2_launch_template
    data = dict(template.latest_version().data)
    spec = nodegroup.launch_template or {}
    if not (spec.get("id") or spec.get("name")):
        family = ssm_params.family_for(nodegroup.ami_type, nodegroup.version)
        data["ImageId"] = ssm_params.recommended(region, nodegroup.version, family)["image_id"]
    version = template.create_version(data, f"Kubernetes {nodegroup.version}")
    template.default_version_number = version.number
    group.launch_template_version = str(version.number)
    group.provided_launch_template_version = str(version.number)
    if group.mixed_instances_policy:
        group.mixed_instances_policy["LaunchTemplate"]["LaunchTemplateSpecification"][
            "Version"] = str(version.number)
    old = [state.instance.id for state in group.instance_states]
    group.instance_states = []
    if old:
        ec2.terminate_instances(old)
    group.set_desired_capacity(group.desired_capacity)


def _nodegroup_of(group: Any) -> Any | None:
    """The EKS node group that owns an Auto Scaling group, from the group's tags."""
    from ..control.backends import find

    tags = {tag.get("Key"): tag.get("Value") for tag in group.tags}
    cluster_name, nodegroup_name = tags.get(CLUSTER_TAG), tags.get(NODEGROUP_TAG)
    if not cluster_name or not nodegroup_name or not group.name.startswith("eks-"):
        return None
    eks = find("eks", group.account_id, group.region)
    cluster = eks.clusters.get(cluster_name) if eks is not None else None
    nodegroup = cluster.nodegroups.get(nodegroup_name) if cluster is not None else None
    if nodegroup is None or asg_name(nodegroup) != group.name:
        return None
    return nodegroup


def _least_used_subnet(group: Any, subnets: list[str]) -> str | None:
    """The subnet with the fewest of the group's instances (AZ balance, as an ASG keeps)."""
    if not subnets:
        return None
    counts = {subnet: 0 for subnet in subnets}
    for state in group.instance_states:
        if state.instance.state not in ("pending", "running"):
            continue
        subnet = getattr(state.instance, "subnet_id", None)
        if subnet in counts:
            counts[subnet] += 1
    return min(subnets, key=lambda subnet: counts[subnet])


def launch_nodes(group: Any, count: int, propagated_tags: dict[str, str]) -> bool:
    """Launch ``count`` nodes for a node group's Auto Scaling group; False if not one.

    AWS spreads a node group's instances over its subnets' AZs and buys Spot for SPOT node
    groups; moto puts every ASG instance in the first subnet, always On-Demand. Called for
    every group by ``ec2_autoscaling``'s patch of moto's launcher, which launches any group
    that is not a node group's."""
    from moto.autoscaling.models import InstanceState

    nodegroup = _nodegroup_of(group)
    template = group.ec2_launch_template
    if nodegroup is None or template is None:
        return False
    version = template.get_version(group.launch_template_version)
    ec2 = group.ec2_backend
    tags = {**propagated_tags, "aws:autoscaling:groupName": group.name, **group.instance_tags}
    subnets = [s for s in (group.vpc_zone_identifier or "").split(",") if s]
    types = list(nodegroup.instance_types or []) or [version.instance_type or "t3.medium"]
    spot = nodegroup.capacity_type == "SPOT"
    profile = (version.data.get("IamInstanceProfile") or {}).get("Arn")
    for _ in range(count):
        subnet_id = _least_used_subnet(group, subnets)
        zone = ec2.get_subnet(subnet_id).availability_zone if subnet_id else None
        instance_type = types[len(group.instance_states) % len(types)] if spot else types[0]
        options: dict[str, Any] = {"instance_market_options": "spot"} if spot else {}
        reservation = ec2.run_instances(
            version.image_id, 1, version.user_data, [], instance_type=instance_type,
            tags={"instance": dict(tags)}, placement=zone, region_name=ec2.region_name,
            launch_template={"LaunchTemplateId": template.id, "Version": str(version.number)},
            is_instance_type_default=False, subnet_id=subnet_id, **options)
        for instance in reservation.instances:
            instance.autoscaling_group = group
            group.instance_states.append(InstanceState(
                instance, protected_from_scale_in=group.new_instances_protected_from_scale_in))
            if profile:
                with contextlib.suppress(Exception):  # a deleted profile must not stop a launch
                    ec2.associate_iam_instance_profile(instance.id,
                                                       iam_instance_profile_arn=profile)
    return True

