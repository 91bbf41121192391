"""EKS checks: the cluster, its managed node groups, self-managed nodes and Fargate profiles.

They judge configuration, as EKS itself would act on it: a cluster that is still CREATING
cannot take nodes; a node group's instances must exist in its Auto Scaling group; a
self-managed node joins only if it runs the EKS-optimised AMI (which carries the kubelet
bootstrap) and its role has an EC2_LINUX access entry; Fargate runs pods only in private
subnets. Each resource is found by the lab's name and, failing that, by discovery (a
CloudFormation- or eksctl-made resource with a generated name must pass too).
"""

from __future__ import annotations

import base64
import email
import fnmatch
import re
from typing import Any

import yaml
from botocore.exceptions import ClientError
from pydantic import Field

from .iam import find_role
from .policy import parse_document
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found
from .subnets import subnet_view, why_public

OWNED_TAG = "kubernetes.io/cluster/{cluster}"
NODEGROUP_TAG = "eks:nodegroup-name"
API_MODES = ("API", "API_AND_CONFIG_MAP")
AMI_PATHS = ("amazon-linux-2023/x86_64/standard", "amazon-linux-2023/arm64/standard",
             "amazon-linux-2", "amazon-linux-2-arm64")
"""The EKS-optimised AMI families AWS publishes under /aws/service/eks/optimized-ami/<v>/."""


def _name(arn: str | None) -> str:
    return (arn or "").rsplit("/", 1)[-1]


def _or_none(call: Any, **kwargs: Any) -> Any | None:
    try:
        return call(**kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


# --- clusters ------------------------------------------------------------------------------

def describe_cluster(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    found = _or_none(aws.eks.describe_cluster, name=name)
    return found["cluster"] if found else None


def find_cluster(aws: ReadOnlyAws, name: str,
                 role: str | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """The cluster named ``name``; else (discovery, for a generated name) the only cluster that
    uses the lab's cluster role ``role``. Without ``role`` there is no discovery: a cluster of
    another name that does not use the lab's role belongs to something else.

    Returns (cluster, names of all clusters) so a failure can say what exists.
    """
    cluster = describe_cluster(aws, name)
    names = list(aws.eks.paginate("list_clusters", "clusters"))
    if cluster is not None or not role:
        return cluster, names
    candidates = [c for c in (describe_cluster(aws, n) for n in names) if c is not None
                  and c.get("status") != "DELETING" and _name(c.get("roleArn")) == role]
    return (candidates[0] if len(candidates) == 1 else None), names


def cluster_label(cluster: dict[str, Any], wanted: str) -> str:
    """"Cluster kata-eks", or for a discovered one what it is and why it was taken."""
    if cluster["name"] == wanted:
        return f"Cluster {wanted}"
    return (f"Cluster {cluster['name']} (found by its role {_name(cluster.get('roleArn'))}, as "
            f"no cluster is named {wanted})")


def of_cluster(cluster: dict[str, Any], wanted: str) -> str:
    """"" for the lab's cluster; for a discovered one, " of cluster x (found by ...)"."""
    if cluster["name"] == wanted:
        return ""
    return " of c" + cluster_label(cluster, wanted)[1:]


def missing_cluster(name: str, names: list[str], role: str | None = None) -> Result:
    tail = f"; no other cluster uses role {role} either" if role and names else ""
    return failed(f"EKS cluster {name} does not exist{tail}.",
                  expected=f"a cluster named {name}",
        actual=("clusters: " + ", ".join(names)) if names else "no EKS clusters")


def _cluster_or_failure(aws: ReadOnlyAws, name: str,
                        role: str | None = None) -> tuple[dict[str, Any] | None, Result | None]:
    cluster, names = find_cluster(aws, name, role)
    if cluster is None:
        return None, missing_cluster(name, names, role)
    return cluster, None


class ClusterRef(Params):
    cluster: str
    cluster_role: str | None = Field(
        default=None, description="the cluster role's name: a cluster with another name is "
                                  "taken for the lab's only if it uses this role")


class ClusterParams(Params):
    cluster: str
    role: str | None = Field(default=None, description="the cluster role's name")
    version: str | None = Field(default=None, description="the Kubernetes version asked for")
    endpoint_public: bool | None = None
    endpoint_private: bool | None = None
    authentication_modes: list[str] = Field(
        default_factory=list, description="accepted authenticationMode values (any)")


@check("eks.cluster_active", title="The cluster is configured and ACTIVE", params=ClusterParams,
       hint="aws eks describe-cluster --name <cluster> shows its role, endpoint access and status.")
def cluster_active(aws: ReadOnlyAws, p: ClusterParams) -> Result:
    cluster, names = find_cluster(aws, p.cluster, p.role)
    if cluster is None:
        return missing_cluster(p.cluster, names, p.role)
    name = cluster_label(cluster, p.cluster).removeprefix("Cluster ")
    problems: list[tuple[str, str, str]] = []
    if p.role and _name(cluster.get("roleArn")) != p.role:
        problems.append((f"it uses role {_name(cluster.get('roleArn'))}, not {p.role}",
                         f"role {p.role}", f"role {cluster.get('roleArn')}"))
    if p.version and str(cluster.get("version")) != p.version:
        problems.append((f"it runs Kubernetes {cluster.get('version')}, not {p.version}",
                         f"Kubernetes {p.version}", f"Kubernetes {cluster.get('version')}"))
    vpc = cluster.get("resourcesVpcConfig") or {}
    for wanted, key, label in ((p.endpoint_public, "endpointPublicAccess", "public"),
                               (p.endpoint_private, "endpointPrivateAccess", "private")):
        if wanted is not None and bool(vpc.get(key)) != wanted:
            problems.append((f"its {label} endpoint access is "
                             f"{'on' if vpc.get(key) else 'off'}",
                             f"{key}={str(wanted).lower()}",
                             f"{key}={str(bool(vpc.get(key))).lower()}"))
    mode = (cluster.get("accessConfig") or {}).get("authenticationMode", "CONFIG_MAP")
    if p.authentication_modes and mode not in p.authentication_modes:
        problems.append((f"its authentication mode is {mode}, so access entries cannot be used",
                         "authenticationMode " + " or ".join(p.authentication_modes),
                         f"authenticationMode {mode}"))
    if problems:
        return failed(f"Cluster {name}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected="; ".join(e for _, e, _ in problems),
                      actual="; ".join(a for _, _, a in problems))
    status = cluster.get("status")
    if status != "ACTIVE":
        waiting = status in ("CREATING", "UPDATING")
        return failed(
            f"Cluster {name} is {status}" + (
                f"; EKS takes several minutes to build the control plane (aws eks wait "
                f"cluster-active --name {name})." if waiting else "."),
            expected="status ACTIVE", actual=f"status {status}")
    return passed(f"Cluster {name} is ACTIVE (Kubernetes {cluster.get('version')}, role "
                  f"{_name(cluster.get('roleArn'))}, endpoint public="
                  f"{str(bool(vpc.get('endpointPublicAccess'))).lower()} private="
                  f"{str(bool(vpc.get('endpointPrivateAccess'))).lower()}, "
                  f"authentication {mode}).")


# --- managed node groups -------------------------------------------------------------------

def find_nodegroup(aws: ReadOnlyAws, cluster: str, name: str,
                   capacity_type: str | None) -> tuple[dict[str, Any] | None, list[str]]:
    """The node group by name, else the cluster's only node group of ``capacity_type``."""
    names = list(aws.eks.paginate("list_nodegroups", "nodegroups", clusterName=cluster))
    found = _or_none(aws.eks.describe_nodegroup, clusterName=cluster, nodegroupName=name)
    if found:
        return found["nodegroup"], names
    if capacity_type:
        groups = [aws.eks.describe_nodegroup(clusterName=cluster, nodegroupName=n)["nodegroup"]
                  for n in names]
        matching = [g for g in groups if g.get("capacityType", "ON_DEMAND") == capacity_type
                    and g.get("status") != "DELETING"]
        if len(matching) == 1:
            return matching[0], names
    return None, names


def _public_subnets(aws: ReadOnlyAws, subnet_ids: list[str]) -> str:
    """Which of the subnets are public and why, in one sentence ("" when none is)."""
    views = [v for v in (subnet_view(aws, s) for s in subnet_ids) if v is not None and v.public]
    if len(views) == 1:
        return why_public(views[0])
    tables = sorted({f"{v.route_table} routes to internet gateway {v.internet_gateway}"
                     for v in views})
    return (f"subnets {', '.join(v.label for v in views)} are public: route table "
            + "; ".join(tables)) if views else ""


def nodegroup_label(group: dict[str, Any], wanted: str) -> str:
    """"Node group kata-spot", or for a discovered one why it was taken."""
    if group["nodegroupName"] == wanted:
        return f"Node group {wanted}"
    return (f"Node group {group['nodegroupName']} (the cluster's only "
            f"{group.get('capacityType', 'ON_DEMAND')} node group, as none is named {wanted})")


def _missing_nodegroup(cluster: str, name: str, names: list[str]) -> Result:
    return failed(f"Cluster {cluster} has no node group {name}.",
                  expected=f"a managed node group named {name}",
                  actual=("node groups: " + ", ".join(names)) if names else "no node groups")


class NodegroupParams(ClusterRef):
    nodegroup: str
    capacity_type: str = Field(default="ON_DEMAND", pattern="^(ON_DEMAND|SPOT|CAPACITY_BLOCK)$")
    instance_types: list[str] = Field(default_factory=list,
                                      description="exact types wanted (any order)")
    min_instance_types: int = Field(default=1, ge=1)
    min_size: int | None = None
    max_size: int | None = None
    desired_size: int | None = None
    node_role: str | None = None
    private_subnets_only: bool = False


@check("eks.nodegroup_configured", title="The managed node group is configured as asked",
       params=NodegroupParams,
       hint="aws eks describe-nodegroup shows capacityType, instanceTypes and scalingConfig.")
def nodegroup_configured(aws: ReadOnlyAws, p: NodegroupParams) -> Result:
    cluster, failure = _cluster_or_failure(aws, p.cluster, p.cluster_role)
    if cluster is None:
        return failure  # type: ignore[return-value]  # set whenever cluster is None
    group, names = find_nodegroup(aws, cluster["name"], p.nodegroup, p.capacity_type)
    if group is None:
        return _missing_nodegroup(cluster["name"], p.nodegroup, names)
    label = nodegroup_label(group, p.nodegroup) + of_cluster(cluster, p.cluster)
    problems: list[tuple[str, str, str]] = []
    capacity = group.get("capacityType", "ON_DEMAND")
    if capacity != p.capacity_type:
        problems.append((f"buys {capacity} capacity", f"capacityType {p.capacity_type}",
                         f"capacityType {capacity}"))
    types = list(group.get("instanceTypes") or [])
    if p.instance_types and sorted(types) != sorted(p.instance_types):
        problems.append(("has other instance types", "instance types "
                         + ", ".join(p.instance_types), "instance types " + ", ".join(types)))
    elif len(types) < p.min_instance_types:
        problems.append((f"has {len(types)} instance type(s); Spot capacity is safer spread "
                         f"over at least {p.min_instance_types}",
                         f"at least {p.min_instance_types} instance types",
                         "instance types " + (", ".join(types) or "none")))
    scaling = group.get("scalingConfig") or {}
    for key, wanted in (("minSize", p.min_size), ("maxSize", p.max_size),
                        ("desiredSize", p.desired_size)):
        if wanted is not None and scaling.get(key) != wanted:
            problems.append((f"has {key} {scaling.get(key)}", f"{key} {wanted}",
                             f"{key} {scaling.get(key)}"))
    if p.node_role and _name(group.get("nodeRole")) != p.node_role:
        problems.append((f"uses node role {_name(group.get('nodeRole'))}",
                         f"node role {p.node_role}", f"node role {group.get('nodeRole')}"))
    if p.private_subnets_only:
        public = _public_subnets(aws, group.get("subnets") or [])
        if public:
            problems.append((f"puts nodes in public subnets ({public})", "private subnets only",
                             "public subnets " + ", ".join(group.get("subnets") or [])))
    if problems:
        return failed(f"{label}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected="; ".join(e for _, e, _ in problems),
                      actual="; ".join(a for _, _, a in problems))
    return passed(f"{label} is {capacity} on {', '.join(types)}, scaling "
                  f"{scaling.get('minSize')}–{scaling.get('maxSize')} "
                  f"(desired {scaling.get('desiredSize')}).")


class NodegroupInstancesParams(ClusterRef):
    nodegroup: str
    capacity_type: str | None = Field(default=None, description="for discovery by capacity")


def _instances(aws: ReadOnlyAws, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    reservations = aws.ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


@check("eks.nodegroup_instances_running", title="The node group's instances are running",
       params=NodegroupInstancesParams,
       hint="describe-nodegroup names the group's Auto Scaling group under resources.")
def nodegroup_instances_running(aws: ReadOnlyAws, p: NodegroupInstancesParams) -> Result:
    cluster, failure = _cluster_or_failure(aws, p.cluster, p.cluster_role)
    if cluster is None:
        return failure  # type: ignore[return-value]  # set whenever cluster is None
    group, names = find_nodegroup(aws, cluster["name"], p.nodegroup, p.capacity_type)
    if group is None:
        return _missing_nodegroup(cluster["name"], p.nodegroup, names)
    label = nodegroup_label(group, p.nodegroup) + of_cluster(cluster, p.cluster)
    status = group.get("status")
    if status != "ACTIVE":
        issues = [f"{i.get('code')}: {i.get('message')}"
                  for i in (group.get("health") or {}).get("issues") or []]
        why = ("; ".join(issues) if issues else "its nodes are still starting and joining"
               if status == "CREATING" else "")
        return failed(f"{label} is {status}" + (f": {why}." if why else "."),
                      expected="status ACTIVE", actual=f"status {status}")
    asg_names = [g["name"] for g in (group.get("resources") or {}).get("autoScalingGroups", [])]
    if not asg_names:
        return failed(f"{label} names no Auto Scaling group.",
                      expected="resources.autoScalingGroups", actual="none")
    asgs = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=asg_names)["AutoScalingGroups"]
    ids = [i["InstanceId"] for g in asgs for i in g.get("Instances", [])
           if i.get("LifecycleState") == "InService"]
    running = [i for i in _instances(aws, ids) if i["State"]["Name"] == "running"]
    desired = (group.get("scalingConfig") or {}).get("desiredSize", 0)
    where = ", ".join(asg_names)
    if len(running) < desired:
        return failed(f"{label} wants {desired} node(s) but its Auto Scaling group {where} has "
                      f"{len(running)} running.", expected=f"{desired} running instances",
                      actual=f"{len(running)} running")
    if group.get("capacityType") == "SPOT":
        on_demand = [i["InstanceId"] for i in running if i.get("InstanceLifecycle") != "spot"]
        if on_demand:
            return failed(f"{label} is a Spot node group but {', '.join(on_demand)} are "
                          "On-Demand instances.", expected="Spot instances only",
                          actual="On-Demand: " + ", ".join(on_demand))
    detail = ", ".join(f"{i['InstanceId']} ({i['InstanceType']}, "
                       f"{'spot' if i.get('InstanceLifecycle') == 'spot' else 'on-demand'}, "
                       f"{i['Placement']['AvailabilityZone']})" for i in running)
    return passed(f"{label} has {len(running)} running node(s) in {where}: {detail}.")


# --- self-managed nodes --------------------------------------------------------------------

def find_self_managed_group(aws: ReadOnlyAws, cluster: str,
                            name: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The ASG by name, else the only ASG tagged for the cluster that no node group owns."""
    groups = aws.autoscaling.paginate("describe_auto_scaling_groups", "AutoScalingGroups")
    for group in groups:
        if group["AutoScalingGroupName"] == name:
            return group, []
    tag = OWNED_TAG.format(cluster=cluster)
    mine = [g for g in groups if any(t["Key"] == tag for t in g.get("Tags", []))
            and not any(t["Key"] == NODEGROUP_TAG for t in g.get("Tags", []))]
    return (mine[0] if len(mine) == 1 else None), [g["AutoScalingGroupName"] for g in groups]


def group_label(group: dict[str, Any], wanted: str, cluster: str) -> str:
    """"Auto Scaling group x", or for a discovered one why it was taken."""
    name = group["AutoScalingGroupName"]
    if name == wanted:
        return f"Auto Scaling group {name}"
    return (f"Auto Scaling group {name} (the one tagged for cluster {cluster} that no node "
            f"group owns, as none is named {wanted})")


def _missing_group(name: str, names: list[str]) -> Result:
    return failed(f"Auto Scaling group {name} does not exist.",
                  expected=f"an Auto Scaling group named {name}",
                  actual=("groups: " + ", ".join(names)) if names else "no Auto Scaling groups")


def launch_template_data(aws: ReadOnlyAws, group: dict[str, Any]) -> dict[str, Any] | None:
    """The launch template version the group launches from (None: no launch template)."""
    spec = group.get("LaunchTemplate") or (
        ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {})
        .get("LaunchTemplateSpecification"))
    if not spec:
        return None
    ref = ({"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId")
           else {"LaunchTemplateName": spec["LaunchTemplateName"]})
    versions = aws.ec2.describe_launch_template_versions(
        **ref, Versions=[str(spec.get("Version") or "$Default")])["LaunchTemplateVersions"]
    return versions[0]["LaunchTemplateData"] if versions else None


def eks_amis(aws: ReadOnlyAws, version: str) -> dict[str, str]:
    """{image id: SSM parameter name} of the EKS-optimised AMIs for a Kubernetes version."""
    names = [f"/aws/service/eks/optimized-ami/{version}/{path}/recommended/image_id"
             for path in AMI_PATHS]
    answer = aws.ssm.get_parameters(Names=names)
    return {p["Value"]: p["Name"] for p in answer.get("Parameters", [])}


def _ami_problem(aws: ReadOnlyAws, image: str, version: str) -> str | None:
    if not image:
        return "its launch template names no AMI (ImageId)"
    if image.startswith("resolve:ssm:"):
        parameter = image[len("resolve:ssm:"):]
        if parameter.startswith(f"/aws/service/eks/optimized-ami/{version}/"):
            return None
        return (f"its image resolves SSM parameter {parameter}, which is not an EKS-optimised "
                f"AMI parameter for Kubernetes {version}")
    amis = eks_amis(aws, version)
    if image in amis:
        return None
    images = _or_none(aws.ec2.describe_images, ImageIds=[image]) or {"Images": []}
    name = images["Images"][0].get("Name", "") if images["Images"] else ""
    if name.startswith("amazon-eks-") and f"-{version}-" in name:
        return None
    order = {f"/aws/service/eks/optimized-ami/{version}/{path}/recommended/image_id": rank
             for rank, path in enumerate(AMI_PATHS)}  # AL2023 x86_64 first, as AWS advises
    recommended = next(iter(sorted(amis.items(), key=lambda kv: order.get(kv[1], 99))), None)
    hint = (f" (AWS recommends {recommended[0]} from {recommended[1]})" if recommended else "")
    return (f"its launch template uses {image}" + (f" ({name})" if name else "")
            + f", which is not an EKS-optimised AMI for Kubernetes {version}{hint}")


BOOTSTRAP_SH = re.compile(r"/etc/eks/bootstrap\.sh\s+['\"]?([A-Za-z0-9][A-Za-z0-9_-]*)")
BOTTLEROCKET = re.compile(r"^\s*cluster-name\s*=\s*['\"]([^'\"]+)['\"]", re.M)
NODECONFIG_FIELDS = (("name", "name"), ("apiServerEndpoint", "endpoint"),
                     ("certificateAuthority", "certificate authority"), ("cidr", "service CIDR"))
"""What nodeadm needs in a NodeConfig's spec.cluster; it refuses to start without any of them."""


def _payload_text(part: email.message.Message) -> str:
    """A MIME part's body as text (decoded from its transfer encoding)."""
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)


def _node_configs(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Every NodeConfig in user data (plain YAML, or the parts of a MIME multi-part document),
    and why a part that says it is a NodeConfig could not be read, if one could not."""
    parts = [text]
    if text.lstrip().startswith(("MIME-Version", "Content-Type")):
        message = email.message_from_string(text)
        parts = [_payload_text(part) for part in message.walk() if not part.is_multipart()]
    configs: list[dict[str, Any]] = []
    broken = None
    for part in parts:
        try:
            documents = list(yaml.safe_load_all(part))
        except yaml.YAMLError as exc:
            if "NodeConfig" in part:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 1})" if mark is not None else ""
                left = sorted(set(re.findall(r"@[A-Z_]+@", part)))
                broken = (f"is not valid YAML{where}" + (
                    f": the placeholders {', '.join(left)} are still in it" if left else ""))
            continue
        configs += [d for d in documents
                    if isinstance(d, dict) and d.get("kind") == "NodeConfig"]
    return configs, broken


def user_data_problem(data: dict[str, Any],
                      cluster: dict[str, Any]) -> tuple[str, str, str] | None:
    """(cause, expected, actual) when the launch template's user data would not make its
    instances join this cluster: nodeadm's NodeConfig (AL2023), bootstrap.sh (AL2) or
    Bottlerocket's settings must name the cluster, and a NodeConfig its endpoint, CA and CIDR.
    """
    name = cluster["name"]
    expected = (f"user data with a NodeConfig for cluster {name} (its name, apiServerEndpoint, "
                "certificateAuthority and service cidr)")
    raw = data.get("UserData")
    if not raw:
        return ("its launch template has no user data, so the nodes boot without knowing which "
                "cluster to join", expected, "no user data")
    try:
        text = base64.b64decode(str(raw), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ("its user data is not base64-encoded text, so the instances cannot read it",
                expected, "user data that does not decode")
    configs, broken = _node_configs(text)
    if broken and not configs:
        return (f"its user data's NodeConfig {broken}, so nodeadm cannot read it", expected,
                f"a NodeConfig that {broken}")
    if configs:
        spec: dict[str, Any] = {}
        for config in configs:  # nodeadm merges several NodeConfigs, later ones win
            spec.update((config.get("spec") or {}).get("cluster") or {})
        network = cluster.get("kubernetesNetworkConfig") or {}
        wanted = {"name": name, "apiServerEndpoint": cluster.get("endpoint"),
                  "certificateAuthority": (cluster.get("certificateAuthority") or {}).get("data"),
                  "cidr": network.get("serviceIpv4Cidr")}
        wrong = []
        for key, words in NODECONFIG_FIELDS:
            have = spec.get(key)
            if not have:
                wrong.append((f"no {key}", f"{key} missing"))
            elif wanted[key] and str(have).strip() != str(wanted[key]).strip():
                shown = str(have) if len(str(have)) < 80 else str(have)[:40] + "..."
                wrong.append((f"{key} {shown}, not cluster {name}'s {words}", f"{key} {shown}"))
        if wrong:
            return ("its user data's NodeConfig has " + "; ".join(w for w, _ in wrong)
                    + ", so nodeadm cannot join the nodes to it", expected,
                    "NodeConfig " + "; ".join(a for _, a in wrong))
        return None
    named = BOOTSTRAP_SH.search(text) or BOTTLEROCKET.search(text)
    if named is None:
        return ("its user data names no cluster: no NodeConfig for nodeadm (Amazon Linux 2023), "
                "no /etc/eks/bootstrap.sh call (Amazon Linux 2)", expected,
                "user data without a cluster")
    if named.group(1) != name:
        return (f"its user data joins cluster {named.group(1)}, not {name}", expected,
                f"cluster {named.group(1)} in the user data")
    return None


class SelfManagedParams(ClusterRef):
    asg: str


@check("eks.self_managed_nodes", title="The self-managed node group uses the EKS AMI, its user "
       "data joins the cluster, and it is tagged for the cluster", params=SelfManagedParams,
       hint="Take the AMI from /aws/service/eks/optimized-ami/<version>/.../recommended/image_id "
            "and fill the NodeConfig in the user data from aws eks describe-cluster.")
def self_managed_nodes(aws: ReadOnlyAws, p: SelfManagedParams) -> Result:
    cluster, failure = _cluster_or_failure(aws, p.cluster, p.cluster_role)
    if cluster is None:
        return failure  # type: ignore[return-value]  # set whenever cluster is None
    group, names = find_self_managed_group(aws, cluster["name"], p.asg)
    if group is None:
        return _missing_group(p.asg, names)
    label = group_label(group, p.asg, cluster["name"]) + of_cluster(cluster, p.cluster)
    problems: list[tuple[str, str, str]] = []
    data = launch_template_data(aws, group)
    version = str(cluster.get("version"))
    if data is None:
        problems.append(("it launches from no launch template", "a launch template",
                         "a launch configuration or nothing"))
    else:
        problem = _ami_problem(aws, str(data.get("ImageId") or ""), version)
        if problem:
            problems.append((problem, f"the EKS-optimised AMI for Kubernetes {version}",
                             f"image {data.get('ImageId')}"))
        joining = user_data_problem(data, cluster)
        if joining:
            problems.append(joining)
    tag = OWNED_TAG.format(cluster=cluster["name"])
    found = next((t for t in group.get("Tags", []) if t["Key"] == tag), None)
    if found is None or found.get("Value") != "owned":
        problems.append((f"it lacks the tag {tag}=owned" if found is None else
                         f"its tag {tag} is {found.get('Value')!r}, not 'owned'",
                         f"tag {tag}=owned", f"{tag}={found.get('Value')}" if found
                         else "no such tag"))
    elif not found.get("PropagateAtLaunch"):
        problems.append((f"its tag {tag} does not propagate to the instances",
                         "PropagateAtLaunch true", "PropagateAtLaunch false"))
    if problems:
        return failed(f"{label}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected="; ".join(e for _, e, _ in problems),
                      actual="; ".join(a for _, _, a in problems))
    image = (data or {}).get("ImageId")
    return passed(f"{label} launches the EKS-optimised AMI {image} for Kubernetes {version} "
                  f"with user data that joins cluster {cluster['name']}, and is tagged "
                  f"{tag}=owned.")


def _instance_profile_role(aws: ReadOnlyAws, data: dict[str, Any]) -> tuple[str | None, str]:
    """(role ARN, profile name) of a launch template's instance profile."""
    spec = data.get("IamInstanceProfile") or {}
    name = spec.get("Name") or _name(spec.get("Arn"))
    if not name:
        return None, ""
    found = _or_none(aws.iam.get_instance_profile, InstanceProfileName=name)
    roles = found["InstanceProfile"].get("Roles", []) if found else []
    return (roles[0]["Arn"] if roles else None), name


@check("eks.nodes_can_join", title="The nodes' role has an EC2_LINUX access entry",
       params=SelfManagedParams,
       hint="aws eks create-access-entry --cluster-name <c> --principal-arn <role arn> "
            "--type EC2_LINUX")
def nodes_can_join(aws: ReadOnlyAws, p: SelfManagedParams) -> Result:
    cluster, failure = _cluster_or_failure(aws, p.cluster, p.cluster_role)
    if cluster is None:
        return failure  # type: ignore[return-value]  # set whenever cluster is None
    name = cluster["name"]
    shown = cluster_label(cluster, p.cluster).removeprefix("Cluster ")
    group, names = find_self_managed_group(aws, name, p.asg)
    if group is None:
        return _missing_group(p.asg, names)
    data = launch_template_data(aws, group) or {}
    role_arn, profile = _instance_profile_role(aws, data)
    if role_arn is None:
        why = (f"instance profile {profile} holds no role" if profile
               else "its launch template names no instance profile")
        return failed(f"The nodes of {group['AutoScalingGroupName']} cannot join cluster {shown}: "
                      f"{why}, so they have no IAM identity to present.",
                      expected="an instance profile holding the node role", actual=why)
    role = _name(role_arn)
    mode = (cluster.get("accessConfig") or {}).get("authenticationMode", "CONFIG_MAP")
    if mode not in API_MODES:
        return failed(f"Cluster {shown} uses authentication mode {mode}, so it has no access "
                      f"entries; switch it to API_AND_CONFIG_MAP and add one for {role}.",
                      expected="authenticationMode API_AND_CONFIG_MAP (or API)",
                      actual=f"authenticationMode {mode}")
    entry = _or_none(aws.eks.describe_access_entry, clusterName=name, principalArn=role_arn)
    if entry is None:
        return failed(f"Role {role} of the nodes in {group['AutoScalingGroupName']} has no access "
                      f"entry in cluster {shown}, so the nodes cannot join: EKS refuses their "
                      "kubelet's credentials.",
                      expected=f"an access entry of type EC2_LINUX for {role_arn}",
                      actual="no access entry for the role")
    kind = entry["accessEntry"].get("type")
    if kind != "EC2_LINUX":
        return failed(f"Role {role} has an access entry of type {kind} in cluster {shown}; nodes "
                      "need type EC2_LINUX (it makes them members of system:nodes), so they "
                      "cannot join.", expected="access entry type EC2_LINUX",
                      actual=f"access entry type {kind}")
    return passed(f"Role {role} (instance profile {profile}) has an EC2_LINUX access entry in "
                  f"cluster {shown}: its nodes can join.")


# --- Fargate -------------------------------------------------------------------------------

def find_fargate_profile(aws: ReadOnlyAws, cluster: str, name: str,
                         namespace: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The profile by name, else the only profile whose selectors name ``namespace``."""
    names = list(aws.eks.paginate("list_fargate_profiles", "fargateProfileNames",
                                  clusterName=cluster))
    found = _or_none(aws.eks.describe_fargate_profile, clusterName=cluster,
                     fargateProfileName=name)
    if found:
        return found["fargateProfile"], names
    profiles = [aws.eks.describe_fargate_profile(clusterName=cluster, fargateProfileName=n)
                ["fargateProfile"] for n in names]
    matching = [f for f in profiles if f.get("status") != "DELETING"
                and any(s.get("namespace") == namespace for s in f.get("selectors") or [])]
    return (matching[0] if len(matching) == 1 else None), names


FARGATE_PODS = "eks-fargate-pods.amazonaws.com"
_ARN_OPERATORS = {"arnlike": True, "stringlike": True, "arnequals": False,
                  "stringequals": False}
"""Condition operators on aws:SourceArn a trust policy may use: True when it takes wildcards."""


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _source_problem(statement: dict[str, Any], profile_arn: str, account: str) -> str | None:
    """Why the statement's conditions keep Fargate from assuming the role for this profile."""
    for operator, block in (statement.get("Condition") or {}).items():
        wildcards = _ARN_OPERATORS.get(operator.lower())
        for key, value in (block or {}).items():
            values = _listed(value)
            if key.lower() == "aws:sourcearn" and wildcards is not None and not any(
                    fnmatch.fnmatchcase(profile_arn, v) if wildcards else profile_arn == v
                    for v in values):
                return f"{operator} aws:SourceArn {', '.join(values)}"
            if key.lower() == "aws:sourceaccount" and operator.lower() == "stringequals" \
                    and account not in values:
                return f"StringEquals aws:SourceAccount {', '.join(values)}"
    return None


def fargate_trust_problem(role: dict[str, Any], profile_arn: str) -> tuple[str, str] | None:
    """(the condition that excludes this profile, expected) when the pod execution role's
    trust lets eks-fargate-pods.amazonaws.com in only for other profiles or accounts (the
    aws:SourceArn condition AWS's documentation suggests, left at its example cluster)."""
    document = parse_document(role.get("AssumeRolePolicyDocument") or {})
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    ours = [st for st in statements if st.get("Effect") == "Allow"
            and isinstance(st.get("Principal"), dict)
            and FARGATE_PODS in _listed(st["Principal"].get("Service"))
            and any(a.lower() in ("sts:assumerole", "sts:*", "*")
                    for a in _listed(st.get("Action")))]
    if not ours:
        return None  # iam.role_trusts_service names a trust without the service
    account = profile_arn.split(":")[4] if profile_arn.count(":") >= 5 else ""
    reasons = [_source_problem(st, profile_arn, account) for st in ours]
    if any(reason is None for reason in reasons):
        return None
    cluster_part = "/".join(profile_arn.split(":", 5)[-1].split("/")[:2])
    return "; ".join(str(r) for r in reasons), (
        f"aws:SourceArn matching {profile_arn.rsplit(':', 1)[0]}:{cluster_part}/*, or no "
        "condition")


def fargate_label(profile: dict[str, Any], wanted: str, namespace: str) -> str:
    if profile["fargateProfileName"] == wanted:
        return f"Fargate profile {wanted}"
    return (f"Fargate profile {profile['fargateProfileName']} (the one selecting namespace "
            f"{namespace}, as none is named {wanted})")


class FargateParams(ClusterRef):
    profile: str
    role: str = Field(description="the pod execution role's name")
    namespace: str


@check("eks.fargate_profile", title="The Fargate profile selects the namespace on private "
       "subnets", params=FargateParams,
       hint="aws eks describe-fargate-profile shows its role, selectors and subnets.")
def fargate_profile(aws: ReadOnlyAws, p: FargateParams) -> Result:
    cluster, failure = _cluster_or_failure(aws, p.cluster, p.cluster_role)
    if cluster is None:
        return failure  # type: ignore[return-value]  # set whenever cluster is None
    profile, names = find_fargate_profile(aws, cluster["name"], p.profile, p.namespace)
    if profile is None:
        return failed(f"Cluster {cluster['name']} has no Fargate profile {p.profile}.",
                      expected=f"a Fargate profile named {p.profile} selecting {p.namespace}",
                      actual=("profiles: " + ", ".join(names)) if names
                      else "no Fargate profiles")
    label = fargate_label(profile, p.profile, p.namespace) + of_cluster(cluster, p.cluster)
    problems: list[tuple[str, str, str]] = []
    role = _name(profile.get("podExecutionRoleArn"))
    if role != p.role:
        problems.append((f"its pod execution role is {role}", f"pod execution role {p.role}",
                         f"role {profile.get('podExecutionRoleArn')}"))
    else:
        found = find_role(aws, role)
        trust = fargate_trust_problem(found, str(profile.get("fargateProfileArn"))) \
            if found else None
        if trust:
            condition, wanted = trust
            problems.append((f"role {role} trusts {FARGATE_PODS} only under the condition "
                             f"{condition}, which this profile does not meet, so Fargate cannot "
                             "assume the role to start its pods", wanted, condition))
    selectors = [s for s in profile.get("selectors") or [] if s.get("namespace") == p.namespace]
    if not selectors:
        namespaces = [s.get("namespace") for s in profile.get("selectors") or []]
        problems.append((f"it selects no pods in namespace {p.namespace}",
                         f"a selector for namespace {p.namespace}",
                         "namespaces " + ", ".join(str(n) for n in namespaces)))
    elif all(s.get("labels") for s in selectors):
        labels = ", ".join(f"{k}={v}" for s in selectors for k, v in s["labels"].items())
        problems.append((f"its selector for namespace {p.namespace} also requires the labels "
                         f"{labels}, so the namespace's other pods go to nodes",
                         f"a selector for namespace {p.namespace} without labels",
                         f"labels {labels}"))
    public = _public_subnets(aws, profile.get("subnets") or [])
    if public:
        problems.append((f"{public}, and Fargate runs pods only in private subnets",
                         "private subnets only",
                         "public subnets " + ", ".join(profile.get("subnets") or [])))
    if problems:
        return failed(f"{label}: " + "; ".join(m for m, _, _ in problems) + ".",
                      expected="; ".join(e for _, e, _ in problems),
                      actual="; ".join(a for _, _, a in problems))
    status = profile.get("status")
    if status != "ACTIVE":
        return failed(f"{label} is {status}" + ("; it takes a minute or two." if
                                                 status == "CREATING" else "."),
                      expected="status ACTIVE", actual=f"status {status}")
    return passed(f"{label} is ACTIVE: pods in namespace {p.namespace} run on Fargate with role "
                  f"{role}, in private subnets {', '.join(profile.get('subnets') or [])}.")
