"""EKS storage checks against the real sandbox: CSI identities, add-ons, EFS networking.

The eks-cluster lab's end state (VPC, cluster, node group, Fargate profile) is built here with
boto3, with the frozen clock advanced past the cluster's and node group's CREATING time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from cloudkata.checks import Result, Status, get
from cloudkata.sandbox import manager
from cloudkata.targets import Target

ACCOUNT = "123456789012"
CLUSTER = "kata-eks"
EBS_SA = "ebs-csi-controller-sa"
EBS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EFS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"


@dataclass
class Eks:
    """The eks-cluster lab's end state, and clients to build on it."""

    target: Target
    clients: dict[str, Any]
    vpc: str
    private: list[str]
    public: list[str]
    cluster_sg: str
    issuer: str
    extra: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, service: str) -> Any:
        if service.startswith("_"):
            raise AttributeError(service)
        clients = self.__dict__["clients"]
        if service not in clients:
            clients[service] = client(self.__dict__["target"], service)
        return clients[service]

    def advance(self, seconds: float) -> None:
        manager.advance(str(self.target.endpoint_url), seconds)


def client(target: Target, service: str) -> Any:
    return boto3.client(service, endpoint_url=target.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def trust(**principal: str) -> str:
    action = "sts:AssumeRoleWithWebIdentity" if "Federated" in principal else "sts:AssumeRole"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": action}]})


def build_eks(target: Target, *, node_subnets: str = "private") -> Eks:
    """kata-eks-vpc 10.20.0.0/16 with public and private subnets in two AZs, the ACTIVE
    cluster kata-eks, node group kata-ondemand and Fargate profile kata-fargate (kata-apps)."""
    ec2, eks, iam = (client(target, s) for s in ("ec2", "eks", "iam"))
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[{
        "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "kata-eks-vpc"}]}])["Vpc"]["VpcId"]
    subnets: dict[str, list[str]] = {"public": [], "private": []}
    for number, (kind, zone) in enumerate([("public", "a"), ("public", "b"), ("private", "a"),
                                           ("private", "b")]):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{number}.0/24",
                                   AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
        subnets[kind].append(subnet)
    iam.create_role(RoleName="kataEksClusterRole",
                    AssumeRolePolicyDocument=trust(Service="eks.amazonaws.com"))
    iam.create_role(RoleName="kataEksNodeRole",
                    AssumeRolePolicyDocument=trust(Service="ec2.amazonaws.com"))
    iam.create_role(RoleName="kataEksPodExecutionRole",
                    AssumeRolePolicyDocument=trust(Service="eks-fargate-pods.amazonaws.com"))
    eks.create_cluster(name=CLUSTER, roleArn=f"arn:aws:iam::{ACCOUNT}:role/kataEksClusterRole",
                       resourcesVpcConfig={"subnetIds": subnets["public"] + subnets["private"]})
    manager.advance(str(target.endpoint_url), 121)
    eks.create_nodegroup(clusterName=CLUSTER, nodegroupName="kata-ondemand",
                         nodeRole=f"arn:aws:iam::{ACCOUNT}:role/kataEksNodeRole",
                         subnets=subnets[node_subnets], instanceTypes=["t3.medium"],
                         scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2})
    eks.create_fargate_profile(
        clusterName=CLUSTER, fargateProfileName="kata-fargate",
        podExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/kataEksPodExecutionRole",
        subnets=subnets["private"], selectors=[{"namespace": "kata-apps"}])
    manager.advance(str(target.endpoint_url), 61)
    cluster = eks.describe_cluster(name=CLUSTER)["cluster"]
    return Eks(target, {"ec2": ec2, "eks": eks, "iam": iam}, vpc, subnets["private"],
               subnets["public"], cluster["resourcesVpcConfig"]["clusterSecurityGroupId"],
               cluster["identity"]["oidc"]["issuer"].removeprefix("https://"))


def irsa_trust(env: Eks, *, sub: str | None = f"system:serviceaccount:kube-system:{EBS_SA}",
               aud: str | None = "sts.amazonaws.com", operator: str = "StringEquals",
               issuer: str | None = None) -> str:
    issuer = issuer or env.issuer
    condition: dict[str, str] = {}
    if sub is not None:
        condition[f"{issuer}:sub"] = sub
    if aud is not None:
        condition[f"{issuer}:aud"] = aud
    statement: dict[str, Any] = {
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"}}
    if condition:
        statement["Condition"] = {operator: condition}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def add_oidc_provider(env: Eks) -> None:
    env.iam.create_open_id_connect_provider(Url=f"https://{env.issuer}",
                                            ClientIDList=["sts.amazonaws.com"],
                                            ThumbprintList=["9" * 40])


def add_ebs_csi(env: Eks, document: str | None = None, *, role: str = "kataEbsCsiRole",
                settle: bool = True) -> None:
    """The EBS CSI step done right (or with the trust document given)."""
    add_oidc_provider(env)
    env.iam.create_role(RoleName=role, AssumeRolePolicyDocument=document or irsa_trust(env))
    env.iam.attach_role_policy(RoleName=role, PolicyArn=EBS_POLICY)
    env.eks.create_addon(clusterName=CLUSTER, addonName="aws-ebs-csi-driver",
                         serviceAccountRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}")
    if settle:
        env.advance(31)


def add_efs(env: Eks, *, zones: int = 2, nfs_port: int | None = 2049,
            source: str = "cluster") -> str:
    """The EFS step: a security group, a file system, mount targets and an access point."""
    group = env.ec2.create_security_group(GroupName="kata-efs-sg", Description="nfs",
                                          VpcId=env.vpc)["GroupId"]
    if nfs_port is not None:
        rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": nfs_port, "ToPort": nfs_port}
        if source == "cluster":
            rule["UserIdGroupPairs"] = [{"GroupId": env.cluster_sg}]
        else:
            rule["IpRanges"] = [{"CidrIp": source}]
        env.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[rule])
    efs = env.efs
    fs = efs.create_file_system(CreationToken="kata-efs", Encrypted=True,
                                Tags=[{"Key": "Name", "Value": "kata-efs"}])["FileSystemId"]
    for subnet in env.private[:zones]:
        efs.create_mount_target(FileSystemId=fs, SubnetId=subnet, SecurityGroups=[group])
    env.extra["efs_sg"] = group
    env.extra["fs"] = fs
    env.extra["ap"] = efs.create_access_point(
        FileSystemId=fs, PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/kata", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000,
                                                         "Permissions": "750"}},
        Tags=[{"Key": "Name", "Value": "kata-efs-ap"}])["AccessPointId"]
    return fs


def add_efs_csi_pod_identity(env: Eks, *, agent: bool = True, tag_session: bool = True) -> None:
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else ["sts:AssumeRole"]
    statement = {"Effect": "Allow", "Action": actions,
                 "Principal": {"Service": "pods.eks.amazonaws.com"}}
    env.iam.create_role(RoleName="kataEfsCsiRole", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [statement]}))
    env.iam.attach_role_policy(RoleName="kataEfsCsiRole", PolicyArn=EFS_POLICY)
    if agent:
        env.eks.create_addon(clusterName=CLUSTER, addonName="eks-pod-identity-agent")
    env.eks.create_addon(clusterName=CLUSTER, addonName="aws-efs-csi-driver",
                         podIdentityAssociations=[{
                             "serviceAccount": "efs-csi-controller-sa",
                             "roleArn": f"arn:aws:iam::{ACCOUNT}:role/kataEfsCsiRole"}])
    env.advance(31)


@pytest.fixture
def env(sandbox: Target) -> Eks:
    return build_eks(sandbox)


def run(target: Target, check_id: str, **params: Any) -> Result:
    """Run a registered check exactly as a lab would: validated params, read-only session."""
    spec = get(check_id)
    return spec.function(target.read_only(), spec.params.model_validate(params))


def ebs_role_check(env: Eks, **extra: Any) -> Result:
    return run(env.target, "eks.service_account_role", cluster=CLUSTER, service_account=EBS_SA,
               role="kataEbsCsiRole", addon="aws-ebs-csi-driver",
               policy="AmazonEBSCSIDriverPolicy", **extra)


# --- eks.oidc_provider ---------------------------------------------------------------------


def test_oidc_provider_passes_for_the_clusters_issuer(env: Eks) -> None:
    add_oidc_provider(env)
    result = run(env.target, "eks.oidc_provider", cluster=CLUSTER)
    assert result.status is Status.PASSED, result
    assert env.issuer in result.message


def test_oidc_provider_fails_without_one_and_names_other_issuers(env: Eks) -> None:
    env.iam.create_open_id_connect_provider(Url="https://oidc.eks.us-east-1.amazonaws.com/id/OLD",
                                            ClientIDList=["sts.amazonaws.com"],
                                            ThumbprintList=["9" * 40])
    result = run(env.target, "eks.oidc_provider", cluster=CLUSTER)
    assert result.status is Status.FAILED
    assert "No IAM OIDC provider" in result.message
    assert result.actual is not None and "id/OLD" in result.actual


def test_oidc_provider_fails_without_the_sts_audience(env: Eks) -> None:
    env.iam.create_open_id_connect_provider(Url=f"https://{env.issuer}",
                                            ClientIDList=["kubernetes"], ThumbprintList=["9" * 40])
    result = run(env.target, "eks.oidc_provider", cluster=CLUSTER)
    assert result.status is Status.FAILED
    assert "sts.amazonaws.com" in result.message


def test_oidc_provider_is_not_needed_with_pod_identity(env: Eks) -> None:
    env.eks.create_pod_identity_association(
        clusterName=CLUSTER, namespace="kube-system", serviceAccount=EBS_SA,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/kataEksNodeRole")
    result = run(env.target, "eks.oidc_provider", cluster=CLUSTER,
                 unless_pod_identity_for=f"kube-system/{EBS_SA}")
    assert result.status is Status.PASSED
    assert "Pod Identity" in result.message


def test_oidc_provider_fails_for_a_missing_cluster(sandbox: Target) -> None:
    result = run(sandbox, "eks.oidc_provider", cluster=CLUSTER)
    assert result.status is Status.FAILED
    assert "kata-eks does not exist" in result.message


# --- eks.service_account_role ---------------------------------------------------------------


def test_service_account_role_passes_for_an_exact_irsa_trust(env: Eks) -> None:
    add_ebs_csi(env)
    result = ebs_role_check(env)
    assert result.status is Status.PASSED, result
    assert "IRSA" in result.message and EBS_SA in result.message


def test_service_account_role_without_sub_is_named_over_broad(env: Eks) -> None:
    add_ebs_csi(env, irsa_trust(env, sub=None))
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "over-broad" in result.message
    assert "no condition on the sub claim" in result.message
    assert result.actual == "no sub condition"


def test_service_account_role_with_the_wrong_service_account(env: Eks) -> None:
    add_ebs_csi(env, irsa_trust(env, sub="system:serviceaccount:kube-system:ebs-csi-node-sa"))
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "wrong service account" in result.message
    assert "ebs-csi-node-sa" in result.message
    assert f"system:serviceaccount:kube-system:{EBS_SA}" in result.message


def test_service_account_role_with_a_wildcard_sub_is_over_broad(env: Eks) -> None:
    add_ebs_csi(env, irsa_trust(env, sub="system:serviceaccount:kube-system:*",
                                operator="StringLike"))
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "over-broad" in result.message and "StringLike" in result.message


def test_service_account_role_without_aud(env: Eks) -> None:
    add_ebs_csi(env, irsa_trust(env, aud=None))
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "aud" in result.message


def test_service_account_role_trusting_another_clusters_provider(env: Eks) -> None:
    add_ebs_csi(env, irsa_trust(env, issuer="oidc.eks.us-east-1.amazonaws.com/id/OTHER"))
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "another issuer" in result.message


def test_service_account_role_without_the_driver_policy(env: Eks) -> None:
    add_ebs_csi(env)
    env.iam.detach_role_policy(RoleName="kataEbsCsiRole", PolicyArn=EBS_POLICY)
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "AmazonEBSCSIDriverPolicy" in result.message


def test_service_account_role_follows_the_addons_role_under_another_name(env: Eks) -> None:
    add_ebs_csi(env, role="eks-storage-EbsCsiRole-1A2B3C")  # as CloudFormation names it
    result = ebs_role_check(env)
    assert result.status is Status.PASSED, result
    assert "eks-storage-EbsCsiRole-1A2B3C" in result.message


def test_service_account_role_fails_when_there_is_none(env: Eks) -> None:
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert f"kube-system/{EBS_SA}" in result.message


def test_service_account_role_accepts_pod_identity(env: Eks) -> None:
    add_efs_csi_pod_identity(env)
    result = run(env.target, "eks.service_account_role", cluster=CLUSTER,
                 service_account="efs-csi-controller-sa", role="kataEfsCsiRole",
                 addon="aws-efs-csi-driver", policy="AmazonEFSCSIDriverPolicy")
    assert result.status is Status.PASSED, result
    assert "Pod Identity" in result.message


def test_service_account_role_pod_identity_needs_tag_session(env: Eks) -> None:
    add_efs_csi_pod_identity(env, tag_session=False)
    result = run(env.target, "eks.service_account_role", cluster=CLUSTER,
                 service_account="efs-csi-controller-sa", role="kataEfsCsiRole")
    assert result.status is Status.FAILED
    assert "sts:TagSession" in result.message


def _associate_node_sa_instead(env: Eks) -> None:
    env.eks.update_addon(clusterName=CLUSTER, addonName="aws-efs-csi-driver",
                         podIdentityAssociations=[{
                             "serviceAccount": "efs-csi-node-sa",
                             "roleArn": f"arn:aws:iam::{ACCOUNT}:role/kataEfsCsiRole"}])
    env.advance(31)


def test_service_account_role_pod_identity_role_without_its_association(env: Eks) -> None:
    add_efs_csi_pod_identity(env)
    _associate_node_sa_instead(env)
    result = run(env.target, "eks.service_account_role", cluster=CLUSTER,
                 service_account="efs-csi-controller-sa", role="kataEfsCsiRole",
                 addon="aws-efs-csi-driver")
    assert result.status is Status.FAILED
    assert ("no Pod Identity association links it to kube-system/efs-csi-controller-sa"
            in result.message)
    assert "associated with kube-system/efs-csi-node-sa instead" in result.message


def test_service_account_role_names_the_role_the_addon_is_given(env: Eks) -> None:
    add_ebs_csi(env)
    env.eks.update_addon(clusterName=CLUSTER, addonName="aws-ebs-csi-driver",
                         serviceAccountRoleArn=f"arn:aws:iam::{ACCOUNT}:role/kataEksNodeRole")
    env.advance(31)
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert ("Role kataEksNodeRole (the role add-on aws-ebs-csi-driver is given): its trust "
            "policy does not trust the cluster's OIDC provider") in result.message


# --- eks.addon_with_identity ----------------------------------------------------------------


def addon_check(env: Eks, addon: str = "aws-ebs-csi-driver", sa: str = EBS_SA) -> Result:
    return run(env.target, "eks.addon_with_identity", cluster=CLUSTER, addon=addon,
               service_account=sa)


def test_addon_passes_when_active_with_an_irsa_role(env: Eks) -> None:
    add_ebs_csi(env)
    result = addon_check(env)
    assert result.status is Status.PASSED, result
    assert "ACTIVE" in result.message and "kataEbsCsiRole" in result.message


def test_addon_fails_while_creating(env: Eks) -> None:
    add_ebs_csi(env, settle=False)
    result = addon_check(env)
    assert result.status is Status.FAILED
    assert "CREATING" in result.message


def test_addon_fails_when_missing(env: Eks) -> None:
    result = addon_check(env)
    assert result.status is Status.FAILED
    assert "not installed" in result.message


def test_addon_fails_without_an_identity(env: Eks) -> None:
    env.eks.create_addon(clusterName=CLUSTER, addonName="aws-ebs-csi-driver")
    env.advance(31)
    result = addon_check(env)
    assert result.status is Status.FAILED
    assert "no IAM identity" in result.message


def test_addon_with_pod_identity_passes(env: Eks) -> None:
    add_efs_csi_pod_identity(env)
    result = addon_check(env, "aws-efs-csi-driver", "efs-csi-controller-sa")
    assert result.status is Status.PASSED, result
    assert "Pod Identity" in result.message


def test_addon_with_pod_identity_for_another_service_account(env: Eks) -> None:
    add_efs_csi_pod_identity(env)
    _associate_node_sa_instead(env)
    result = addon_check(env, "aws-efs-csi-driver", "efs-csi-controller-sa")
    assert result.status is Status.FAILED
    assert ("Pod Identity association is for kube-system/efs-csi-node-sa, but its controller "
            "runs as kube-system/efs-csi-controller-sa") in result.message


def test_addon_with_pod_identity_needs_the_agent(env: Eks) -> None:
    add_efs_csi_pod_identity(env, agent=False)
    result = addon_check(env, "aws-efs-csi-driver", "efs-csi-controller-sa")
    assert result.status is Status.FAILED
    assert "eks-pod-identity-agent" in result.message


# --- efs.mount_targets_cover_nodes ----------------------------------------------------------


def test_mount_targets_pass_in_every_node_az(env: Eks) -> None:
    add_efs(env)
    result = run(env.target, "efs.mount_targets_cover_nodes", cluster=CLUSTER,
                 file_system="kata-efs")
    assert result.status is Status.PASSED, result
    assert "us-east-1a" in result.message and "us-east-1b" in result.message


def test_mount_target_missing_in_one_az_names_the_az_and_subnet(env: Eks) -> None:
    add_efs(env, zones=1)
    result = run(env.target, "efs.mount_targets_cover_nodes", cluster=CLUSTER,
                 file_system="kata-efs")
    assert result.status is Status.FAILED
    assert "no mount target in us-east-1b" in result.message
    assert env.private[1] in result.message
    assert "node group kata-ondemand" in result.message
    assert "Fargate profile kata-fargate" in result.message


def test_mount_targets_are_found_by_discovery(env: Eks) -> None:
    add_efs(env)
    result = run(env.target, "efs.mount_targets_cover_nodes", cluster=CLUSTER,
                 file_system="some-other-name")
    assert result.status is Status.PASSED, result
    assert (f"{env.extra['fs']} (kata-efs) (the one with mount targets in the cluster's VPC, "
            "as none is named some-other-name)") in result.message


def test_a_file_system_serving_another_vpc_is_not_taken_for_the_labs(env: Eks) -> None:
    """The only file system in the account, but with no mount target in the cluster's VPC,
    belongs to something else: no check judges it (its access point would pass otherwise)."""
    other_vpc = env.ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = env.ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.99.1.0/24",
                                   AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    fs = env.efs.create_file_system(CreationToken="team-data")["FileSystemId"]
    env.efs.create_mount_target(FileSystemId=fs, SubnetId=subnet)
    env.efs.create_access_point(FileSystemId=fs, PosixUser={"Uid": 1, "Gid": 1},
                                RootDirectory={"Path": "/x", "CreationInfo": {
                                    "OwnerUid": 1, "OwnerGid": 1, "Permissions": "750"}})
    result = run(env.target, "efs.access_point", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.FAILED
    assert "kata-efs does not exist" in result.message and fs in result.message


def test_mount_targets_fail_without_a_file_system(env: Eks) -> None:
    result = run(env.target, "efs.mount_targets_cover_nodes", cluster=CLUSTER,
                 file_system="kata-efs")
    assert result.status is Status.FAILED
    assert "kata-efs does not exist" in result.message


def test_mount_targets_count_public_node_subnets_by_az(sandbox: Target) -> None:
    env = build_eks(sandbox, node_subnets="public")
    add_efs(env)  # mount targets in the private subnets of the same two AZs serve them
    result = run(env.target, "efs.mount_targets_cover_nodes", cluster=CLUSTER,
                 file_system="kata-efs")
    assert result.status is Status.PASSED, result


# --- efs.nfs_from_nodes ---------------------------------------------------------------------


def test_nfs_passes_from_the_cluster_security_group(env: Eks) -> None:
    add_efs(env)
    result = run(env.target, "efs.nfs_from_nodes", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.PASSED, result
    assert env.cluster_sg in result.message


def test_nfs_passes_from_the_vpc_cidr(env: Eks) -> None:
    add_efs(env, source="10.20.0.0/16")
    result = run(env.target, "efs.nfs_from_nodes", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.PASSED, result


def test_security_group_without_2049_is_named(env: Eks) -> None:
    add_efs(env, nfs_port=22)
    result = run(env.target, "efs.nfs_from_nodes", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.FAILED
    assert "kata-efs-sg" in result.message
    assert "admits no NFS (TCP 2049)" in result.message
    assert result.actual is not None and "tcp 22" in result.actual


def test_security_group_with_no_rules_is_named(env: Eks) -> None:
    add_efs(env, nfs_port=None)
    result = run(env.target, "efs.nfs_from_nodes", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.FAILED
    assert result.actual == "no inbound rules"


def test_nfs_from_the_wrong_source_is_named(env: Eks) -> None:
    add_efs(env, source="192.168.0.0/24")
    result = run(env.target, "efs.nfs_from_nodes", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.FAILED
    assert "not from the nodes" in result.message
    assert result.actual is not None and "192.168.0.0/24" in result.actual


# --- efs.access_point -----------------------------------------------------------------------


def test_access_point_passes(env: Eks) -> None:
    add_efs(env)
    result = run(env.target, "efs.access_point", cluster=CLUSTER, file_system="kata-efs",
                 name="kata-efs-ap")
    assert result.status is Status.PASSED, result
    assert "/kata" in result.message


def test_access_point_on_the_root_without_creation_info_fails(env: Eks) -> None:
    fs = env.efs.create_file_system(CreationToken="kata-efs",
                                    Tags=[{"Key": "Name", "Value": "kata-efs"}])["FileSystemId"]
    env.efs.create_access_point(FileSystemId=fs, RootDirectory={"Path": "/data"})
    result = run(env.target, "efs.access_point", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.FAILED
    assert "CreationInfo" in result.message


def test_access_point_of_another_name_is_judged_and_named(env: Eks) -> None:
    fs = add_efs(env)
    env.efs.delete_access_point(AccessPointId=env.extra["ap"])
    point = env.efs.create_access_point(
        FileSystemId=fs, PosixUser={"Uid": 1000, "Gid": 1000},
        RootDirectory={"Path": "/data", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000,
                                                         "Permissions": "750"}},
        Tags=[{"Key": "Name", "Value": "data"}])["AccessPointId"]
    result = run(env.target, "efs.access_point", cluster=CLUSTER, file_system="kata-efs",
                 name="kata-efs-ap")
    assert result.status is Status.PASSED, result
    assert f"{point} (data) (none is named kata-efs-ap)" in result.message


def test_access_points_the_csi_driver_made_are_not_the_learners(env: Eks) -> None:
    fs = env.efs.create_file_system(CreationToken="kata-efs",
                                    Tags=[{"Key": "Name", "Value": "kata-efs"}])["FileSystemId"]
    env.efs.create_access_point(
        FileSystemId=fs, PosixUser={"Uid": 50000, "Gid": 50000},
        RootDirectory={"Path": "/dynamic/pvc-1", "CreationInfo": {
            "OwnerUid": 50000, "OwnerGid": 50000, "Permissions": "700"}},
        Tags=[{"Key": "efs.csi.aws.com/cluster", "Value": "true"}])
    result = run(env.target, "efs.access_point", cluster=CLUSTER, file_system="kata-efs",
                 name="kata-efs-ap")
    assert result.status is Status.FAILED
    assert "only the ones the EFS CSI driver made for claims" in result.message


def test_access_point_missing(env: Eks) -> None:
    env.efs.create_file_system(CreationToken="kata-efs",
                               Tags=[{"Key": "Name", "Value": "kata-efs"}])
    result = run(env.target, "efs.access_point", cluster=CLUSTER, file_system="kata-efs")
    assert result.status is Status.FAILED
    assert result.actual == "no access points"


def test_service_account_role_with_a_look_alike_driver_policy(env: Eks) -> None:
    """A customer policy named like AWS's grants nothing AWS's does: it must not pass."""
    add_ebs_csi(env)
    env.iam.detach_role_policy(RoleName="kataEbsCsiRole", PolicyArn=EBS_POLICY)
    fake = env.iam.create_policy(PolicyName="AmazonEBSCSIDriverPolicy", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "ec2:DescribeVolumes", "Resource": "*"}]}'))["Policy"]["Arn"]
    env.iam.attach_role_policy(RoleName="kataEbsCsiRole", PolicyArn=fake)
    result = ebs_role_check(env)
    assert result.status is Status.FAILED
    assert "customer-managed" in result.message and fake in result.message
