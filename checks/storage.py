"""EKS storage checks: the CSI drivers' IAM identities and add-ons, and EFS networking.

A CSI driver's controller calls AWS (EBS: CreateVolume, AttachVolume; EFS: CreateAccessPoint)
as a Kubernetes service account. It gets AWS credentials one of two ways, and both are
accepted: IRSA (an IAM OIDC provider for the cluster's issuer plus a role whose trust names
that provider, with StringEquals on ``<issuer>:sub`` and ``<issuer>:aud``), or EKS Pod Identity
(an association for the service account, a role trusted by ``pods.eks.amazonaws.com`` and the
``eks-pod-identity-agent`` add-on).

EFS is reachable only through mount targets, one per Availability Zone, each behind security
groups: a node (or Fargate pod) can mount the file system only if its AZ has a mount target
and those groups admit NFS (TCP 2049) from the nodes' group. The helpers here also serve
``manifests``, which cross-checks the learner's Kubernetes files against this state.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .iam import find_role, managed_policy_problem, trusted_services
from .policy import parse_document
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found

STS = "sts.amazonaws.com"
CSI_TAG = "efs.csi.aws.com/"
"""Tags the EFS CSI driver puts on the access points it makes for claims."""
PODS = "pods.eks.amazonaws.com"
PENDING = ("CREATING", "UPDATING")


# --- the cluster and where its pods run -----------------------------------------------------


def find_cluster(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    try:
        return aws.eks.describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def missing_cluster(aws: ReadOnlyAws, name: str) -> Result:
    others = aws.eks.paginate("list_clusters", "clusters")
    found = f" (clusters here: {', '.join(others)})" if others else ""
    return failed(f"EKS cluster {name} does not exist{found}; finish the eks-cluster lab first.",
                  expected=f"a cluster named {name}",
                  actual=("clusters: " + ", ".join(others)) if others else "no EKS clusters")


def issuer_host(cluster: dict[str, Any]) -> str | None:
    """The issuer without ``https://``, as IAM names providers and condition keys."""
    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
    return issuer.removeprefix("https://") if issuer else None


def fargate_profiles(aws: ReadOnlyAws, cluster: str) -> list[dict[str, Any]]:
    names = aws.eks.paginate("list_fargate_profiles", "fargateProfileNames", clusterName=cluster)
    profiles = [aws.eks.describe_fargate_profile(clusterName=cluster, fargateProfileName=n)
                ["fargateProfile"] for n in names]
    return [p for p in profiles if p.get("status") != "DELETING"]


@dataclass
class Placement:
    """Where a cluster's pods can run: subnet id -> who runs there, and each subnet's AZ."""

    users: dict[str, list[str]] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)
    cidrs: dict[str, str] = field(default_factory=dict)

    def add(self, subnets: list[str], who: str) -> None:
        for subnet in subnets:
            self.users.setdefault(subnet, []).append(who)

    def by_zone(self) -> dict[str, list[str]]:
        zones: dict[str, list[str]] = {}
        for subnet in sorted(self.users):
            zones.setdefault(self.zones.get(subnet, "an unknown AZ"), []).append(subnet)
        return zones


def placement(aws: ReadOnlyAws, cluster: str, *, nodes: bool = True,
              fargate: bool = True) -> Placement:
    """Subnets of managed node groups, self-managed node ASGs and Fargate profiles."""
    where = Placement()
    if nodes:
        for name in aws.eks.paginate("list_nodegroups", "nodegroups", clusterName=cluster):
            group = aws.eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)
            if group["nodegroup"].get("status") != "DELETING":
                where.add(group["nodegroup"].get("subnets", []), f"node group {name}")
        for asg in node_auto_scaling_groups(aws, cluster):
            if asg["Tags"] and any(t["Key"] == "eks:nodegroup-name" for t in asg["Tags"]):
                continue  # a managed node group's own ASG, counted above
            subnets = [s for s in asg.get("VPCZoneIdentifier", "").split(",") if s]
            where.add(subnets, f"Auto Scaling group {asg['AutoScalingGroupName']}")
    if fargate:
        for profile in fargate_profiles(aws, cluster):
            where.add(profile.get("subnets", []),
                      f"Fargate profile {profile['fargateProfileName']}")
    if where.users:
        for subnet in aws.ec2.describe_subnets(SubnetIds=sorted(where.users))["Subnets"]:
            where.zones[subnet["SubnetId"]] = subnet["AvailabilityZone"]
            where.cidrs[subnet["SubnetId"]] = subnet["CidrBlock"]
    return where


def node_auto_scaling_groups(aws: ReadOnlyAws, cluster: str) -> list[dict[str, Any]]:
    tag = f"kubernetes.io/cluster/{cluster}"
    return [g for g in aws.autoscaling.paginate("describe_auto_scaling_groups",
                                                "AutoScalingGroups")
            if any(t["Key"] == tag for t in g.get("Tags", []))]


def node_security_groups(aws: ReadOnlyAws, cluster: dict[str, Any]) -> dict[str, str]:
    """Security groups the nodes and Fargate pods are in: group id -> why."""
    groups: dict[str, str] = {}
    cluster_sg = (cluster.get("resourcesVpcConfig") or {}).get("clusterSecurityGroupId")
    if cluster_sg:
        groups[cluster_sg] = "the cluster security group"
    filters = [{"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{cluster['name']}"]},
               {"Name": "instance-state-name", "Values": ["pending", "running"]}]
    for reservation in aws.ec2.paginate("describe_instances", "Reservations", Filters=filters):
        for instance in reservation["Instances"]:
            for group in instance.get("SecurityGroups", []):
                groups.setdefault(group["GroupId"], f"the nodes' group {group['GroupName']}")
    return groups


# --- EFS ------------------------------------------------------------------------------------


def file_system_label(fs: dict[str, Any]) -> str:
    return f"{fs['FileSystemId']} ({fs['Name']})" if fs.get("Name") else fs["FileSystemId"]


def file_systems(aws: ReadOnlyAws) -> list[dict[str, Any]]:
    return [fs for fs in aws.efs.paginate("describe_file_systems", "FileSystems")
            if fs.get("LifeCycleState") not in ("deleting", "deleted")]


def mount_targets(aws: ReadOnlyAws, file_system_id: str) -> list[dict[str, Any]]:
    targets = aws.efs.paginate("describe_mount_targets", "MountTargets",
                               FileSystemId=file_system_id)
    return [t for t in targets if t.get("LifeCycleState") not in ("deleting", "deleted")]


def find_file_system(aws: ReadOnlyAws, ref: str, vpc_id: str | None) -> dict[str, Any] | None:
    """By id, Name tag or creation token; else discovery (CloudFormation names them for you):
    the one file system with mount targets in the cluster's VPC. A file system with no mount
    target there serves something else, even when it is the only one."""
    systems = file_systems(aws)
    for fs in systems:
        if ref in (fs["FileSystemId"], fs.get("Name"), fs.get("CreationToken")):
            return fs
    in_vpc = [fs for fs in systems if vpc_id and any(
        t.get("VpcId") == vpc_id for t in mount_targets(aws, fs["FileSystemId"]))]
    return in_vpc[0] if len(in_vpc) == 1 else None


def found_label(fs: dict[str, Any], ref: str) -> str:
    """The file system's label, saying how it was found when not by the lab's name."""
    if ref in (fs["FileSystemId"], fs.get("Name"), fs.get("CreationToken")):
        return file_system_label(fs)
    return (f"{file_system_label(fs)} (the one with mount targets in the cluster's VPC, as none "
            f"is named {ref})")


def missing_file_system(aws: ReadOnlyAws, ref: str) -> Result:
    others = [file_system_label(fs) for fs in file_systems(aws)]
    return failed(
        f"EFS file system {ref} does not exist" + (
            f" (file systems here: {', '.join(others)})." if others else "."),
        expected=f"an EFS file system named {ref}",
        actual=("file systems: " + ", ".join(others)) if others else "no EFS file systems")


def coverage_problem(aws: ReadOnlyAws, fs: dict[str, Any], cluster: dict[str, Any],
                     where: Placement) -> Result | None:
    """A failed Result when some AZ the pods run in has no mount target, else None."""
    label = file_system_label(fs)
    targets = mount_targets(aws, fs["FileSystemId"])
    vpc = (cluster.get("resourcesVpcConfig") or {}).get("vpcId")
    wanted = where.by_zone()
    expected = "a mount target in each of " + ", ".join(sorted(wanted))
    if not targets:
        return failed(f"EFS file system {label} has no mount targets, so no pod can reach it.",
                      expected=expected, actual="no mount targets")
    elsewhere = sorted({t["VpcId"] for t in targets if vpc and t.get("VpcId") != vpc})
    if elsewhere:
        return failed(
            f"EFS file system {label} has its mount targets in {', '.join(elsewhere)}, but "
            f"cluster {cluster['name']} runs in {vpc}; a file system's mount targets all live in "
            "one VPC.", expected=f"mount targets in {vpc}", actual="mount targets in "
            + ", ".join(elsewhere))
    have = {t["AvailabilityZoneName"]: t["SubnetId"] for t in targets}
    missing = [zone for zone in sorted(wanted) if zone not in have]
    if missing:
        details = "; ".join(
            f"{zone} (subnet {', '.join(wanted[zone])}, used by "
            f"{', '.join(sorted({u for s in wanted[zone] for u in where.users[s]}))})"
            for zone in missing)
        return failed(
            f"EFS file system {label} has no mount target in {', '.join(missing)}: pods there "
            f"cannot mount it. Missing: {details}.",
            expected=expected,
            actual="mount targets in " + ", ".join(f"{z} ({s})" for z, s in sorted(have.items())))
    return None


class FileSystemParams(Params):
    cluster: str
    file_system: str = Field(description="Name tag, creation token or id of the file system")


def _cluster_and_fs(aws: ReadOnlyAws, p: FileSystemParams
                    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, Result | None]:
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return None, None, missing_cluster(aws, p.cluster)
    vpc = (cluster.get("resourcesVpcConfig") or {}).get("vpcId")
    fs = find_file_system(aws, p.file_system, vpc)
    if fs is None:
        return cluster, None, missing_file_system(aws, p.file_system)
    return cluster, fs, None


@check("efs.mount_targets_cover_nodes", title="EFS has a mount target in every node AZ",
       params=FileSystemParams,
       hint="aws efs create-mount-target --file-system-id ... --subnet-id ... once per AZ.")
def mount_targets_cover_nodes(aws: ReadOnlyAws, p: FileSystemParams) -> Result:
    cluster, fs, problem = _cluster_and_fs(aws, p)
    if problem or cluster is None or fs is None:
        return problem  # type: ignore[return-value]  # set whenever cluster or fs is None
    if fs.get("LifeCycleState") != "available":
        return failed(f"EFS file system {file_system_label(fs)} is {fs.get('LifeCycleState')}.",
                      expected="available", actual=str(fs.get("LifeCycleState")))
    where = placement(aws, p.cluster)
    if not where.users:
        return failed(f"Cluster {p.cluster} has no node groups or Fargate profiles, so there is "
                      "no subnet to cover yet.", expected="node groups or a Fargate profile",
                      actual="none")
    problem = coverage_problem(aws, fs, cluster, where)
    if problem:
        return problem
    zones = ", ".join(f"{z}" for z in sorted(where.by_zone()))
    return passed(f"EFS file system {found_label(fs, p.file_system)} has a mount target in "
                  f"every AZ the cluster's pods run in ({zones}).")


def _rule_ports(rule: dict[str, Any]) -> str:
    protocol = rule.get("IpProtocol")
    if protocol == "-1":
        return "all traffic"
    low, high = rule.get("FromPort"), rule.get("ToPort")
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def _admits_nfs(rule: dict[str, Any]) -> bool:
    if rule.get("IpProtocol") == "-1":
        return True
    return rule.get("IpProtocol") == "tcp" and \
        int(rule.get("FromPort", -1)) <= 2049 <= int(rule.get("ToPort", -1))


def _sources(rule: dict[str, Any]) -> list[str]:
    return ([pair["GroupId"] for pair in rule.get("UserIdGroupPairs", [])]
            + [r["CidrIp"] for r in rule.get("IpRanges", [])])


def _covers_nodes(cidr: str, where: Placement) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        return bool(where.cidrs) and all(
            ipaddress.ip_network(c).subnet_of(network)  # type: ignore[arg-type]  # v4 or v6 is unknown to mypy
            for c in where.cidrs.values())
    except ValueError:
        return False


@check("efs.nfs_from_nodes", title="The mount targets admit NFS from the nodes",
       params=FileSystemParams,
       hint="The mount targets' security group needs inbound TCP 2049 from the cluster "
            "security group (the nodes' group).")
def nfs_from_nodes(aws: ReadOnlyAws, p: FileSystemParams) -> Result:
    cluster, fs, problem = _cluster_and_fs(aws, p)
    if problem or cluster is None or fs is None:
        return problem  # type: ignore[return-value]  # set whenever cluster or fs is None
    targets = mount_targets(aws, fs["FileSystemId"])
    if not targets:
        return failed(f"EFS file system {file_system_label(fs)} has no mount targets, so no "
                      "security group admits NFS to it.",
                      expected="mount targets whose security group admits TCP 2049 from the nodes",
                      actual="no mount targets")
    nodes = node_security_groups(aws, cluster)
    where = placement(aws, p.cluster)
    node_words = ", ".join(f"{g} ({why})" for g, why in nodes.items()) or "the nodes' group"
    for target in targets:
        group_ids = aws.efs.describe_mount_target_security_groups(
            MountTargetId=target["MountTargetId"])["SecurityGroups"]
        groups = aws.ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"] \
            if group_ids else []
        rules = [r for g in groups for r in g.get("IpPermissions", [])]
        if any(_admits_nfs(r) and any(s in nodes or _covers_nodes(s, where)
                                      for s in _sources(r)) for r in rules):
            continue
        names = ", ".join(f"{g['GroupName']} ({g['GroupId']})" for g in groups) or "no group"
        nfs = [r for r in rules if _admits_nfs(r)]
        if nfs:
            actual = "TCP 2049 only from " + ", ".join(s for r in nfs for s in _sources(r))
            cause = "admits NFS (TCP 2049), but not from the nodes"
        else:
            actual = ("inbound: " + "; ".join(
                f"{_rule_ports(r)} from {', '.join(_sources(r)) or 'nowhere'}" for r in rules)
            ) if rules else "no inbound rules"
            cause = "admits no NFS (TCP 2049) traffic"
        return failed(
            f"Security group {names} on mount target {target['MountTargetId']} "
            f"({target['AvailabilityZoneName']}) {cause}: pods cannot mount "
            f"{file_system_label(fs)}.",
            expected=f"inbound TCP 2049 from {node_words}", actual=actual)
    return passed(f"Every mount target of {found_label(fs, p.file_system)} admits NFS (TCP "
                  f"2049) from {node_words}.")


class AccessPointParams(Params):
    cluster: str
    file_system: str
    name: str | None = Field(default=None, description="the access point's Name tag")


@check("efs.access_point", title="The file system has a usable access point",
       params=AccessPointParams,
       hint="aws efs create-access-point with --posix-user and --root-directory "
            "(Path plus CreationInfo).")
def access_point(aws: ReadOnlyAws, p: AccessPointParams) -> Result:
    cluster, fs, problem = _cluster_and_fs(aws, FileSystemParams(cluster=p.cluster,
                                                                 file_system=p.file_system))
    if problem or fs is None:
        return problem  # type: ignore[return-value]  # set whenever cluster or fs is None
    points = aws.efs.paginate("describe_access_points", "AccessPoints",
                              FileSystemId=fs["FileSystemId"])
    if not points:
        return failed(f"EFS file system {file_system_label(fs)} has no access point.",
                      expected="an access point with a POSIX user and a root directory",
                      actual="no access points")
    chosen = next((a for a in points if p.name and a.get("Name") == p.name), None)
    note = ""
    if chosen is None:
        # Discovery: the learner's access point under another name, never one the EFS CSI
        # driver made for a claim (those carry efs.csi.aws.com/ tags).
        own = [a for a in points if not any(str(t.get("Key", "")).startswith(CSI_TAG)
                                            for t in a.get("Tags") or [])]
        if not own:
            return failed(f"EFS file system {file_system_label(fs)} has no access point of "
                          "yours, only the ones the EFS CSI driver made for claims.",
                          expected=f"an access point{' named ' + p.name if p.name else ''}",
                          actual="access points: " + ", ".join(a["AccessPointId"]
                                                                 for a in points))
        chosen = own[0]
        note = f" (none is named {p.name})" if p.name else ""
    label = (f"{chosen['AccessPointId']}" + (f" ({chosen['Name']})" if chosen.get("Name") else "")
             + note)
    root = chosen.get("RootDirectory") or {}
    if root.get("Path", "/") == "/":
        return failed(f"Access point {label} exposes the file system's root directory.",
                      expected="a root directory of its own, such as /data",
                      actual="root directory /")
    if not root.get("CreationInfo"):
        return failed(
            f"Access point {label} has root directory {root['Path']} but no CreationInfo: EFS "
            "will not create the directory, and mounts fail until someone makes it.",
            expected="CreationInfo with OwnerUid, OwnerGid and Permissions",
            actual="no CreationInfo")
    if not chosen.get("PosixUser"):
        return failed(f"Access point {label} sets no POSIX user, so each pod writes as its own "
                      "user id.", expected="a PosixUser (Uid, Gid)", actual="no PosixUser")
    return passed(f"Access point {label} on {file_system_label(fs)} roots pods in "
                  f"{root['Path']} as uid {chosen['PosixUser']['Uid']}.")


# --- IAM identities for service accounts ----------------------------------------------------


def oidc_provider_arn(aws: ReadOnlyAws, issuer: str) -> str | None:
    for provider in aws.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        if provider["Arn"].split(":oidc-provider/", 1)[-1] == issuer:
            return str(provider["Arn"])
    return None


def associations_of_role(aws: ReadOnlyAws, cluster: str, role_arn: str,
                         arns: list[str] | None = None) -> list[dict[str, Any]]:
    """The cluster's Pod Identity associations with this role (or, given ``arns``, those)."""
    found = []
    for summary in aws.eks.paginate("list_pod_identity_associations", "associations",
                                    clusterName=cluster):
        if arns is not None and summary.get("associationArn") not in arns:
            continue
        full = aws.eks.describe_pod_identity_association(
            clusterName=cluster, associationId=summary["associationId"])["association"]
        if arns is not None or full.get("roleArn") == role_arn:
            found.append(full)
    return found


def association(aws: ReadOnlyAws, cluster: str, namespace: str,
                service_account: str) -> dict[str, Any] | None:
    found = aws.eks.paginate("list_pod_identity_associations", "associations",
                             clusterName=cluster, namespace=namespace,
                             serviceAccount=service_account)
    if not found:
        return None
    return aws.eks.describe_pod_identity_association(
        clusterName=cluster, associationId=found[0]["associationId"])["association"]


class OidcParams(Params):
    cluster: str
    unless_pod_identity_for: str | None = Field(
        default=None, description="namespace/serviceaccount: a Pod Identity association for it "
                                  "makes the provider unnecessary")


@check("eks.oidc_provider", title="IAM trusts the cluster's OIDC issuer", params=OidcParams,
       hint="aws iam create-open-id-connect-provider --url <the cluster's issuer> "
            "--client-id-list sts.amazonaws.com")
def oidc_provider(aws: ReadOnlyAws, p: OidcParams) -> Result:
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return missing_cluster(aws, p.cluster)
    if p.unless_pod_identity_for:
        namespace, _, account = p.unless_pod_identity_for.partition("/")
        if association(aws, p.cluster, namespace, account):
            return passed(f"{p.unless_pod_identity_for} uses EKS Pod Identity, which needs no "
                          "OIDC provider.")
    issuer = issuer_host(cluster)
    if issuer is None:
        return failed(f"Cluster {p.cluster} has no OIDC issuer yet (is it ACTIVE?).",
                      expected="an ACTIVE cluster", actual=str(cluster.get("status")))
    arn = oidc_provider_arn(aws, issuer)
    if arn is None:
        others = [a["Arn"].split(":oidc-provider/", 1)[-1] for a in
                  aws.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
        return failed(
            f"No IAM OIDC provider exists for cluster {p.cluster}'s issuer, so IAM cannot "
            "trust the tokens of its service accounts.",
            expected=f"an OIDC provider for https://{issuer}",
            actual=("providers for other issuers: " + ", ".join(others)) if others
            else "no OIDC providers")
    audiences = aws.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"]
    if STS not in audiences:
        return failed(f"The OIDC provider for {p.cluster} does not accept the audience {STS}.",
                      expected=f"client id (audience) {STS}",
                      actual="client ids: " + (", ".join(audiences) or "none"))
    return passed(f"IAM trusts cluster {p.cluster}'s issuer https://{issuer} (audience {STS}).")


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [a.lower() for a in ([actions] if isinstance(actions, str) else actions)]


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def irsa_trust_problem(document: Any, issuer: str, provider: str | None, namespace: str,
                       service_account: str) -> tuple[str, str, str] | None:
    """(cause, expected, actual) if the trust does not let exactly this service account in."""
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    statements = parse_document(document or {}).get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    web = [s for s in statements if s.get("Effect") == "Allow" and any(
        a in ("sts:assumerolewithwebidentity", "sts:*", "*") for a in _actions(s))]
    federated = [(s, _values((s.get("Principal") or {}).get("Federated")))
                 for s in web if isinstance(s.get("Principal"), dict)]
    ours = [s for s, principals in federated
            if any(v.endswith(f"oidc-provider/{issuer}") for v in principals)]
    expected_trust = (f"sts:AssumeRoleWithWebIdentity for {provider or 'the cluster OIDC provider'}"
                      f" with StringEquals {issuer}:sub = {subject} and {issuer}:aud = {STS}")
    if not ours:
        named = [v for _, principals in federated for v in principals]
        if named:
            return ("trusts the OIDC provider of another issuer, not this cluster's",
                    expected_trust, "federated principal " + ", ".join(named))
        return ("does not trust the cluster's OIDC provider (no sts:AssumeRoleWithWebIdentity "
                "statement for it)", expected_trust, "no web identity trust")
    for statement in ours:
        conditions = statement.get("Condition") or {}
        equals = {k: _values(v) for k, v in (conditions.get("StringEquals") or {}).items()}
        like = {k: _values(v) for k, v in (conditions.get("StringLike") or {}).items()}
        sub_equals, sub_like = equals.get(f"{issuer}:sub"), like.get(f"{issuer}:sub")
        if sub_equals is None and sub_like is None:
            stray = [k for k in {**equals, **like} if k.endswith(":sub")]
            cause = ("is over-broad: it has no condition on the sub claim, so any service "
                     "account in the cluster can assume it")
            if stray:
                cause += f" (the condition names {', '.join(stray)}, not {issuer}:sub)"
            return cause, expected_trust, "no sub condition"
        if sub_like is not None and any("*" in v or "?" in v for v in sub_like):
            return (f"is over-broad: StringLike {', '.join(sub_like)} on sub admits more "
                    f"service accounts than {subject}", expected_trust,
                    "StringLike sub " + ", ".join(sub_like))
        values = sub_equals if sub_equals is not None else sub_like or []
        if subject not in values:
            return (f"names the wrong service account ({', '.join(values)}); the driver's "
                    f"controller runs as {subject}", expected_trust, "sub " + ", ".join(values))
        if len(values) > 1:
            extra = [v for v in values if v != subject]
            return (f"is over-broad: sub also admits {', '.join(extra)}", expected_trust,
                    "sub " + ", ".join(values))
        aud = equals.get(f"{issuer}:aud") or like.get(f"{issuer}:aud")
        if aud is None:
            return ("has no condition on the aud claim, so tokens minted for other "
                    "audiences are accepted too", expected_trust, "no aud condition")
        if aud != [STS]:
            return (f"expects audience {', '.join(aud)} instead of {STS}", expected_trust,
                    "aud " + ", ".join(aud))
    return None


def pod_identity_trust_problem(role: dict[str, Any]) -> tuple[str, str, str] | None:
    expected = f"{PODS} allowed sts:AssumeRole and sts:TagSession"
    if PODS not in trusted_services(role):
        services = sorted(trusted_services(role))
        return (f"does not trust {PODS}", expected,
                ("trusts " + ", ".join(services)) if services else "trusts no AWS service")
    statements = parse_document(role.get("AssumeRolePolicyDocument") or {}).get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    actions = {a for s in statements if s.get("Effect") == "Allow"
               and PODS in _values((s.get("Principal") or {}).get("Service"))
               for a in _actions(s)}
    if not actions & {"sts:tagsession", "sts:*", "*"}:
        return ("lets the Pod Identity agent assume it but not tag the session "
                "(sts:TagSession), which Pod Identity always does", expected,
                "actions " + ", ".join(sorted(actions)))
    return None


def addon(aws: ReadOnlyAws, cluster: str, name: str) -> dict[str, Any] | None:
    try:
        return aws.eks.describe_addon(clusterName=cluster, addonName=name)["addon"]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


class ServiceAccountRoleParams(Params):
    cluster: str
    service_account: str
    namespace: str = "kube-system"
    role: str | None = Field(default=None, description="the role name the lab suggests")
    addon: str | None = Field(default=None, description="add-on whose role to judge, if set")
    policy: str | None = Field(default=None, description="managed policy the role needs")


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _discover_irsa_role(aws: ReadOnlyAws, issuer: str | None,
                        service_account: str) -> str | None:
    """A role made under another name (CloudFormation's, say) that trusts the cluster's
    provider and mentions the service account, whatever else is right or wrong with it."""
    if issuer is None:
        return None
    for role in aws.iam.paginate("list_roles", "Roles"):
        text = str(parse_document(role.get("AssumeRolePolicyDocument") or {}))
        if f"oidc-provider/{issuer}" in text and service_account in text:
            return str(role["RoleName"])
    return None


@check("eks.service_account_role", title="The service account's IAM role trusts only it",
       params=ServiceAccountRoleParams,
       hint="IRSA: trust the cluster's OIDC provider with StringEquals on <issuer>:sub and "
            "<issuer>:aud. Pod Identity: trust pods.eks.amazonaws.com.")
def service_account_role(aws: ReadOnlyAws, p: ServiceAccountRoleParams) -> Result:
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return missing_cluster(aws, p.cluster)
    issuer = issuer_host(cluster)
    subject = f"system:serviceaccount:{p.namespace}:{p.service_account}"
    linked = association(aws, p.cluster, p.namespace, p.service_account)
    installed = addon(aws, p.cluster, p.addon) if p.addon else None
    suggested = find_role(aws, p.role) if p.role else None
    if linked:
        mode, name = "Pod Identity", _role_name(linked["roleArn"])
    elif installed and installed.get("serviceAccountRoleArn"):
        mode, name = "IRSA", _role_name(installed["serviceAccountRoleArn"])
    elif suggested is not None and PODS in trusted_services(suggested):
        elsewhere = [f"{a['namespace']}/{a['serviceAccount']}" for a in
                     associations_of_role(aws, p.cluster, str(suggested["Arn"]))]
        return failed(
            f"Role {p.role} trusts {PODS} (EKS Pod Identity), but no Pod Identity association "
            f"links it to {p.namespace}/{p.service_account}, so the driver's controller gets no "
            "credentials" + (f"; the role is associated with {', '.join(elsewhere)} instead"
                             if elsewhere else "") + ".",
            expected=f"a Pod Identity association of {p.namespace}/{p.service_account} with "
                     f"role {p.role}",
            actual=("associations of the role: " + ", ".join(elsewhere)) if elsewhere
            else f"no association for {p.namespace}/{p.service_account}")
    elif suggested is not None:
        mode, name = "IRSA", str(p.role)
    else:
        mode, name = "IRSA", _discover_irsa_role(aws, issuer, p.service_account) or p.role or ""
    role = find_role(aws, name) if name else None
    if role is None:
        return failed(
            f"No IAM role exists for service account {p.namespace}/{p.service_account}"
            + (f" (role {name} is named but missing)" if name else "") + ".",
            expected=f"a role {p.role or ''} the service account can assume".replace("  ", " "),
            actual=f"no role {name}" if name else "no role trusts the cluster's OIDC provider")
    if mode == "IRSA" and issuer is None:
        return failed(f"Cluster {p.cluster} has no OIDC issuer yet.", expected="ACTIVE",
                      actual=str(cluster.get("status")))
    if mode == "Pod Identity":
        problem = pod_identity_trust_problem(role)
    else:
        provider = oidc_provider_arn(aws, issuer or "")
        problem = irsa_trust_problem(role.get("AssumeRolePolicyDocument"), issuer or "",
                                     provider, p.namespace, p.service_account)
    if problem:
        cause, expected, actual = problem
        via = ""
        if installed and installed.get("serviceAccountRoleArn") and not linked \
                and name != p.role:
            via = f" (the role add-on {p.addon} is given)"
        return failed(f"Role {name}{via}: its trust policy {cause}.", expected=expected,
                      actual=actual)
    if p.policy:
        attached = [a["PolicyArn"] for a in aws.iam.paginate(
            "list_attached_role_policies", "AttachedPolicies", RoleName=name)]
        missing = managed_policy_problem(attached, p.policy)
        if missing:
            cause, expected, actual = missing
            return failed(f"Role {name} trusts {subject} but {cause}, so the driver may not "
                          "call AWS.", expected=expected, actual=actual)
    return passed(f"Role {name} is assumable only by {subject} ({mode})"
                  + (f" and has {p.policy.rsplit('/', 1)[-1]}." if p.policy else "."))


class AddonParams(Params):
    cluster: str
    addon: str
    service_account: str | None = Field(
        default=None, description="the controller's service account that needs an IAM identity")
    namespace: str = "kube-system"


@check("eks.addon_with_identity", title="The add-on is ACTIVE with an IAM identity",
       params=AddonParams,
       hint="aws eks create-addon --addon-name ... --service-account-role-arn <role ARN> "
            "(or --pod-identity-associations).")
def addon_with_identity(aws: ReadOnlyAws, p: AddonParams) -> Result:
    if find_cluster(aws, p.cluster) is None:
        return missing_cluster(aws, p.cluster)
    found = addon(aws, p.cluster, p.addon)
    if found is None:
        names = aws.eks.paginate("list_addons", "addons", clusterName=p.cluster)
        return failed(f"Add-on {p.addon} is not installed on cluster {p.cluster}.",
                      expected=f"add-on {p.addon}",
                      actual=("installed: " + ", ".join(names)) if names else "no add-ons")
    how = ""
    if p.service_account:
        role_arn = found.get("serviceAccountRoleArn")
        linked = association(aws, p.cluster, p.namespace, p.service_account)
        if role_arn:
            if find_role(aws, _role_name(role_arn)) is None:
                return failed(f"Add-on {p.addon} names role {_role_name(role_arn)}, which does "
                              "not exist.", expected="an existing role",
                              actual=f"serviceAccountRoleArn {role_arn}")
            how = f" with IRSA role {_role_name(role_arn)}"
        elif not linked and found.get("podIdentityAssociations"):
            others = [f"{a['namespace']}/{a['serviceAccount']}" for a in associations_of_role(
                aws, p.cluster, "", list(found["podIdentityAssociations"]))]
            return failed(
                f"Add-on {p.addon}'s Pod Identity association is for "
                f"{', '.join(others) or 'another service account'}, but its controller runs as "
                f"{p.namespace}/{p.service_account}, which therefore gets no credentials.",
                expected=f"a Pod Identity association for {p.namespace}/{p.service_account}",
                actual="associations for " + (", ".join(others) or "other service accounts"))
        elif linked:
            if addon(aws, p.cluster, "eks-pod-identity-agent") is None:
                return failed(
                    f"Add-on {p.addon} relies on Pod Identity, but the eks-pod-identity-agent "
                    "add-on is not installed, so no pod receives its credentials.",
                    expected="add-on eks-pod-identity-agent", actual="not installed")
            how = f" with Pod Identity role {_role_name(linked['roleArn'])}"
        else:
            return failed(
                f"Add-on {p.addon} has no IAM identity for {p.namespace}/{p.service_account}: "
                "its controller cannot call AWS (or borrows the node role's rights).",
                expected="serviceAccountRoleArn or a Pod Identity association",
                actual="neither")
    status = found.get("status")
    if status != "ACTIVE":
        issues = "; ".join(i.get("message", i.get("code", "")) for i in
                           (found.get("health") or {}).get("issues", []))
        why = {"DEGRADED": " (no node can run its controller)",
               "CREATING": " (wait: aws eks wait addon-active)",
               "UPDATING": " (wait: aws eks wait addon-active)"}.get(str(status), "")
        return failed(f"Add-on {p.addon} is {status}{why}.", expected="ACTIVE",
                      actual=f"{status}" + (f": {issues}" if issues else ""))
    return passed(f"Add-on {p.addon} {found.get('addonVersion', '')} is ACTIVE{how}.")
