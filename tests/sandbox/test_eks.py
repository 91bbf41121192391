"""EKS in the sandbox behaves as on AWS over time: clusters are CREATING before ACTIVE, managed
node groups own a real Auto Scaling group and instances, and the APIs moto lacks (add-ons,
access entries, pod identity associations, updates) answer as AWS does, to boto3 and to the
``aws`` CLI. The clock is frozen and advanced explicitly; nothing sleeps."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.sandbox import manager
from cloudkata.targets import Target

ACCOUNT = "123456789012"
CLUSTER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksClusterRole"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksNodeRole"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/platform/admin"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"
ADDONS = ("aws-ebs-csi-driver", "aws-efs-csi-driver", "coredns", "eks-pod-identity-agent",
          "kube-proxy", "vpc-cni")


@dataclass
class Aws:
    """The learner's clients, all against the sandbox, and a VPC with two subnets."""

    endpoint: str
    eks: Any
    ec2: Any
    autoscaling: Any
    ssm: Any
    subnets: tuple[str, str]

    def advance(self, seconds: float) -> float:
        return manager.advance(self.endpoint, seconds)

    def cluster(self, name: str = "kata", *, mode: str | None = None,
                version: str = "1.31") -> dict[str, Any]:
        """A cluster as create-cluster answers (CREATING)."""
        extra = {"accessConfig": {"authenticationMode": mode}} if mode else {}
        return self.eks.create_cluster(name=name, version=version, roleArn=CLUSTER_ROLE,
                                       resourcesVpcConfig={"subnetIds": list(self.subnets)},
                                       **extra)["cluster"]

    def active_cluster(self, name: str = "kata", **kwargs: Any) -> dict[str, Any]:
        self.cluster(name, **kwargs)
        self.advance(120)
        return self.eks.describe_cluster(name=name)["cluster"]

    def nodegroup(self, name: str = "workers", cluster: str = "kata",
                  **kwargs: Any) -> dict[str, Any]:
        settings = {"instanceTypes": ["t3.medium"], "capacityType": "ON_DEMAND",
                    "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2}, **kwargs}
        return self.eks.create_nodegroup(clusterName=cluster, nodegroupName=name,
                                         subnets=list(self.subnets), nodeRole=NODE_ROLE,
                                         **settings)["nodegroup"]

    def group_of(self, nodegroup: dict[str, Any]) -> dict[str, Any]:
        name = nodegroup["resources"]["autoScalingGroups"][0]["name"]
        return self.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"][0]

    def instances(self, ids: list[str]) -> list[dict[str, Any]]:
        reservations = self.ec2.describe_instances(InstanceIds=ids)["Reservations"]
        return [i for reservation in reservations for i in reservation["Instances"]]


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                            aws_access_key_id="x", aws_secret_access_key="x")

    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                      AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
                    for i, zone in ((1, "a"), (2, "b")))
    return Aws(str(sandbox.endpoint_url), client("eks"), ec2, client("autoscaling"),
               client("ssm"), subnets)  # type: ignore[arg-type]


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


# --- clusters ------------------------------------------------------------------------------

def test_cluster_is_creating_for_two_minutes_then_active_and_the_waiter_returns(
        aws: Aws) -> None:
    created = aws.cluster()
    assert created["status"] == "CREATING"
    assert "endpoint" not in created  # no API server yet
    assert created["resourcesVpcConfig"]["vpcId"]
    assert created["resourcesVpcConfig"]["clusterSecurityGroupId"].startswith("sg-")
    assert created["accessConfig"]["authenticationMode"] == "CONFIG_MAP"

    with pytest.raises(ClientError) as caught:
        aws.nodegroup()
    assert error_of(caught) == ("InvalidRequestException",
                                "Cluster 'kata' is not in ACTIVE status")

    aws.advance(115)
    assert aws.eks.describe_cluster(name="kata")["cluster"]["status"] == "CREATING"
    aws.advance(5)
    aws.eks.get_waiter("cluster_active").wait(name="kata",
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    cluster = aws.eks.describe_cluster(name="kata")["cluster"]
    assert cluster["status"] == "ACTIVE"
    assert re.fullmatch(r"https://[0-9A-Z]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com",
                        cluster["endpoint"])
    assert cluster["certificateAuthority"]["data"]


def test_cluster_subnets_must_exist_in_two_availability_zones(aws: Aws) -> None:
    with pytest.raises(ClientError) as caught:
        aws.eks.create_cluster(name="one-az", roleArn=CLUSTER_ROLE,
                               resourcesVpcConfig={"subnetIds": [aws.subnets[0]]})
    assert error_of(caught) == ("InvalidParameterException",
                                "Subnets specified must be in at least two different AZs")


def test_delete_cluster_goes_through_deleting_and_waits_for_its_node_groups(aws: Aws) -> None:
    aws.active_cluster()
    aws.nodegroup()
    with pytest.raises(ClientError) as caught:
        aws.eks.delete_cluster(name="kata")
    assert error_of(caught) == ("ResourceInUseException", "Cluster has nodegroups attached")

    assert aws.eks.delete_nodegroup(clusterName="kata",
                                    nodegroupName="workers")["nodegroup"]["status"] == "DELETING"
    aws.advance(60)
    assert aws.eks.delete_cluster(name="kata")["cluster"]["status"] == "DELETING"
    assert aws.eks.list_clusters()["clusters"] == ["kata"]
    aws.advance(60)
    aws.eks.get_waiter("cluster_deleted").wait(name="kata",
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    assert aws.eks.list_clusters()["clusters"] == []


def test_update_cluster_config_and_version_are_updates_to_follow(aws: Aws) -> None:
    aws.active_cluster()
    update = aws.eks.update_cluster_config(
        name="kata", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})["update"]
    assert (update["type"], update["status"]) == ("AccessConfigUpdate", "InProgress")
    assert aws.eks.describe_cluster(name="kata")["cluster"]["status"] == "UPDATING"
    aws.advance(30)
    assert aws.eks.describe_update(name="kata", updateId=update["id"])["update"]["status"] == (
        "Successful")
    cluster = aws.eks.describe_cluster(name="kata")["cluster"]
    assert (cluster["status"], cluster["accessConfig"]["authenticationMode"]) == (
        "ACTIVE", "API_AND_CONFIG_MAP")

    with pytest.raises(ClientError) as caught:
        aws.eks.update_cluster_version(name="kata", version="1.33")
    assert error_of(caught) == ("InvalidParameterException",
                                "Unsupported Kubernetes minor version update from 1.31 to 1.33")
    upgrade = aws.eks.update_cluster_version(name="kata", version="1.32")["update"]
    aws.advance(120)
    assert aws.eks.describe_cluster(name="kata")["cluster"]["version"] == "1.32"
    assert set(aws.eks.list_updates(name="kata")["updateIds"]) == {update["id"], upgrade["id"]}


def test_fargate_profile_is_creating_then_active_one_at_a_time(aws: Aws) -> None:
    aws.active_cluster()
    role = f"arn:aws:iam::{ACCOUNT}:role/podExecution"
    profile = aws.eks.create_fargate_profile(
        clusterName="kata", fargateProfileName="apps", podExecutionRoleArn=role,
        subnets=list(aws.subnets), selectors=[{"namespace": "apps"}])["fargateProfile"]
    assert profile["status"] == "CREATING"
    with pytest.raises(ClientError) as caught:
        aws.eks.create_fargate_profile(clusterName="kata", fargateProfileName="system",
                                       podExecutionRoleArn=role,
                                       selectors=[{"namespace": "kube-system"}])
    assert caught.value.response["Error"]["Code"] == "ResourceInUseException"
    aws.advance(30)
    aws.eks.get_waiter("fargate_profile_active").wait(
        clusterName="kata", fargateProfileName="apps", WaiterConfig={"Delay": 1,
                                                                     "MaxAttempts": 1})


# --- node groups ---------------------------------------------------------------------------

def test_on_demand_node_group_owns_an_asg_with_tagged_instances_in_its_subnets(
        aws: Aws) -> None:
    aws.active_cluster()
    nodegroup = aws.nodegroup()
    assert nodegroup["status"] == "CREATING"
    assert (nodegroup["version"], nodegroup["amiType"]) == ("1.31", "AL2023_x86_64_STANDARD")
    uuid = nodegroup["nodegroupArn"].rsplit("/", 1)[1]
    group = aws.group_of(nodegroup)
    assert group["AutoScalingGroupName"] == f"eks-workers-{uuid}"
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 3, 2)
    assert set(group["VPCZoneIdentifier"].split(",")) == set(aws.subnets)

    instances = aws.instances([i["InstanceId"] for i in group["Instances"]])
    assert len(instances) == 2
    assert {i["SubnetId"] for i in instances} == set(aws.subnets)  # one per AZ
    for instance in instances:
        assert instance["InstanceType"] == "t3.medium"
        assert "InstanceLifecycle" not in instance
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags["eks:nodegroup-name"] == "workers"
        assert tags["eks:cluster-name"] == "kata"
        assert tags["kubernetes.io/cluster/kata"] == "owned"
    image = instances[0]["ImageId"]
    assert aws.ec2.describe_images(ImageIds=[image])["Images"]
    recommended = aws.ssm.get_parameter(
        Name="/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/"
             "recommended/image_id")["Parameter"]["Value"]
    assert image == recommended

    aws.advance(60)
    aws.eks.get_waiter("nodegroup_active").wait(clusterName="kata", nodegroupName="workers",
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 1})


def test_update_nodegroup_config_resizes_and_delete_removes_the_asg(aws: Aws) -> None:
    aws.active_cluster()
    nodegroup = aws.nodegroup()
    with pytest.raises(ClientError) as caught:
        aws.eks.update_nodegroup_config(clusterName="kata", nodegroupName="workers",
                                        scalingConfig={"desiredSize": 3})
    assert error_of(caught) == (
        "ResourceInUseException",
        "Nodegroup cannot be updated as it is currently not in Active State")
    aws.advance(60)

    update = aws.eks.update_nodegroup_config(
        clusterName="kata", nodegroupName="workers",
        scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 3})["update"]
    assert {p["type"]: p["value"] for p in update["params"]} == {
        "MinSize": "1", "MaxSize": "4", "DesiredSize": "3"}
    group = aws.group_of(nodegroup)
    assert (group["MaxSize"], group["DesiredCapacity"], len(group["Instances"])) == (4, 3, 3)
    aws.advance(30)
    described = aws.eks.describe_update(name="kata", updateId=update["id"],
                                        nodegroupName="workers")["update"]
    assert described["status"] == "Successful"
    assert aws.eks.describe_nodegroup(clusterName="kata", nodegroupName="workers")[
        "nodegroup"]["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 3}

    ids = [i["InstanceId"] for i in group["Instances"]]
    aws.eks.delete_nodegroup(clusterName="kata", nodegroupName="workers")
    aws.advance(60)
    with pytest.raises(ClientError) as caught:
        aws.eks.describe_nodegroup(clusterName="kata", nodegroupName="workers")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"] == []
    assert {i["State"]["Name"] for i in aws.instances(ids)} == {"terminated"}


def test_spot_node_group_instances_are_spot(aws: Aws) -> None:
    aws.active_cluster()
    nodegroup = aws.nodegroup("spot", capacityType="SPOT",
                              instanceTypes=["t3.medium", "t3a.medium"])
    group = aws.group_of(nodegroup)
    distribution = group["MixedInstancesPolicy"]["InstancesDistribution"]
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 0
    instances = aws.instances([i["InstanceId"] for i in group["Instances"]])
    assert len(instances) == 2
    assert {i["InstanceLifecycle"] for i in instances} == {"spot"}
    assert {i["InstanceType"] for i in instances} <= {"t3.medium", "t3a.medium"}


# --- add-ons -------------------------------------------------------------------------------

def test_addon_is_creating_then_active_and_can_be_listed_described_and_deleted(
        aws: Aws) -> None:
    aws.active_cluster()
    irsa = f"arn:aws:iam::{ACCOUNT}:role/vpc-cni-irsa"
    addon = aws.eks.create_addon(clusterName="kata", addonName="vpc-cni",
                                 serviceAccountRoleArn=irsa)["addon"]
    assert addon["status"] == "CREATING"
    assert addon["addonArn"].startswith(f"arn:aws:eks:us-east-1:{ACCOUNT}:addon/kata/vpc-cni/")
    assert aws.eks.list_addons(clusterName="kata")["addons"] == ["vpc-cni"]
    aws.advance(30)
    aws.eks.get_waiter("addon_active").wait(clusterName="kata", addonName="vpc-cni",
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    described = aws.eks.describe_addon(clusterName="kata", addonName="vpc-cni")["addon"]
    assert (described["status"], described["serviceAccountRoleArn"]) == ("ACTIVE", irsa)

    with pytest.raises(ClientError) as caught:
        aws.eks.create_addon(clusterName="kata", addonName="vpc-cni")
    assert error_of(caught) == ("ResourceInUseException", "Addon already exists.")
    with pytest.raises(ClientError) as caught:
        aws.eks.create_addon(clusterName="kata", addonName="not-an-addon")
    assert error_of(caught) == ("InvalidParameterException", "Addon specified is not supported")
    with pytest.raises(ClientError) as caught:
        aws.eks.create_addon(clusterName="nowhere", addonName="vpc-cni")
    assert error_of(caught) == ("ResourceNotFoundException",
                                "No cluster found for name: nowhere.")

    assert aws.eks.delete_addon(clusterName="kata",
                                addonName="vpc-cni")["addon"]["status"] == "DELETING"
    aws.advance(30)
    with pytest.raises(ClientError) as caught:
        aws.eks.describe_addon(clusterName="kata", addonName="vpc-cni")
    assert error_of(caught) == ("ResourceNotFoundException",
                                "No addon: vpc-cni found in cluster: kata")


def test_coredns_needs_nodes_to_become_active(aws: Aws) -> None:
    aws.active_cluster()
    aws.eks.create_addon(clusterName="kata", addonName="coredns")
    aws.advance(60)
    assert aws.eks.describe_addon(clusterName="kata",
                                  addonName="coredns")["addon"]["status"] == "CREATING"
    aws.nodegroup()
    aws.advance(60)
    assert aws.eks.describe_addon(clusterName="kata",
                                  addonName="coredns")["addon"]["status"] == "ACTIVE"


def test_describe_addon_versions_lists_plausible_versions_per_kubernetes_version(
        aws: Aws) -> None:
    everything = aws.eks.describe_addon_versions(kubernetesVersion="1.31")["addons"]
    assert {a["addonName"] for a in everything} == set(ADDONS)
    for addon in everything:
        defaults = [v["addonVersion"] for v in addon["addonVersions"]
                    if v["compatibilities"][0]["defaultVersion"]]
        assert len(defaults) == 1, addon["addonName"]
        assert all(v["compatibilities"][0]["clusterVersion"] == "1.31"
                   for v in addon["addonVersions"])
    proxy = aws.eks.describe_addon_versions(kubernetesVersion="1.32", addonName="kube-proxy")
    assert [v["addonVersion"] for v in proxy["addons"][0]["addonVersions"]] == [
        "v1.32.9-eksbuild.2"]

    aws.active_cluster()
    with pytest.raises(ClientError) as caught:
        aws.eks.create_addon(clusterName="kata", addonName="kube-proxy",
                             addonVersion="v1.32.9-eksbuild.2")
    assert error_of(caught) == ("InvalidParameterException",
                                "Addon version specified is not supported")


def test_an_addon_through_the_real_aws_cli(aws: Aws) -> None:
    aws.active_cluster()
    env = {**os.environ, "AWS_ENDPOINT_URL": aws.endpoint, "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def cli(*args: str) -> dict[str, Any]:
        result = subprocess.run([sys.executable, "-m", "awscli", "eks", *args,
                                 "--output", "json"], env=env, capture_output=True, text=True,
                                timeout=60, check=True)
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    created = cli("create-addon", "--cluster-name", "kata", "--addon-name", "kube-proxy")
    assert created["addon"]["status"] == "CREATING"
    assert created["addon"]["addonVersion"] == "v1.31.13-eksbuild.2"
    aws.advance(30)
    described = cli("describe-addon", "--cluster-name", "kata", "--addon-name", "kube-proxy")
    assert described["addon"]["status"] == "ACTIVE"


# --- access entries and pod identity -------------------------------------------------------

def test_access_entries_need_the_api_authentication_mode(aws: Aws) -> None:
    aws.active_cluster()
    with pytest.raises(ClientError) as caught:
        aws.eks.create_access_entry(clusterName="kata", principalArn=ADMIN)
    assert error_of(caught) == (
        "InvalidRequestException", "The cluster's authentication mode must be set to one of "
        "[API, API_AND_CONFIG_MAP] to perform this operation.")


def test_access_entries_and_policies_round_trip(aws: Aws) -> None:
    aws.active_cluster(mode="API_AND_CONFIG_MAP")
    policies = {p["name"]: p["arn"] for p in aws.eks.list_access_policies()["accessPolicies"]}
    for name in ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy",
                 "AmazonEKSViewPolicy"):
        assert policies[name] == POLICY + name

    entry = aws.eks.create_access_entry(clusterName="kata", principalArn=ADMIN,
                                        kubernetesGroups=["ops"])["accessEntry"]
    assert entry["type"] == "STANDARD"
    assert entry["username"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/{{{{SessionName}}}}"
    assert entry["accessEntryArn"].startswith(
        f"arn:aws:eks:us-east-1:{ACCOUNT}:access-entry/kata/role/{ACCOUNT}/admin/")
    with pytest.raises(ClientError) as caught:
        aws.eks.create_access_entry(clusterName="kata", principalArn=ADMIN)
    assert error_of(caught) == ("ResourceInUseException", "The specified access entry "
                                "resource is already in use on this cluster.")

    associated = aws.eks.associate_access_policy(
        clusterName="kata", principalArn=ADMIN, policyArn=POLICY + "AmazonEKSViewPolicy",
        accessScope={"type": "namespace", "namespaces": ["dev"]})["associatedAccessPolicy"]
    assert associated["accessScope"] == {"type": "namespace", "namespaces": ["dev"]}
    listed = aws.eks.list_associated_access_policies(clusterName="kata", principalArn=ADMIN)
    assert [p["policyArn"] for p in listed["associatedAccessPolicies"]] == [
        POLICY + "AmazonEKSViewPolicy"]
    assert aws.eks.list_access_entries(
        clusterName="kata", associatedPolicyArn=POLICY + "AmazonEKSViewPolicy")[
        "accessEntries"] == [ADMIN]
    assert aws.eks.describe_access_entry(clusterName="kata", principalArn=ADMIN)[
        "accessEntry"]["kubernetesGroups"] == ["ops"]

    aws.eks.disassociate_access_policy(clusterName="kata", principalArn=ADMIN,
                                       policyArn=POLICY + "AmazonEKSViewPolicy")
    assert aws.eks.list_associated_access_policies(
        clusterName="kata", principalArn=ADMIN)["associatedAccessPolicies"] == []
    aws.eks.delete_access_entry(clusterName="kata", principalArn=ADMIN)
    with pytest.raises(ClientError) as caught:
        aws.eks.describe_access_entry(clusterName="kata", principalArn=ADMIN)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_node_group_adds_the_access_entry_for_its_role(aws: Aws) -> None:
    aws.active_cluster(mode="API")
    aws.nodegroup()
    entry = aws.eks.describe_access_entry(clusterName="kata",
                                          principalArn=NODE_ROLE)["accessEntry"]
    assert (entry["type"], entry["username"]) == ("EC2_LINUX",
                                                  "system:node:{{EC2PrivateDNSName}}")
    with pytest.raises(ClientError) as caught:
        aws.eks.create_access_entry(clusterName="kata", principalArn=NODE_ROLE)
    assert caught.value.response["Error"]["Code"] == "ResourceInUseException"


def test_pod_identity_associations_round_trip(aws: Aws) -> None:
    aws.active_cluster()
    role = f"arn:aws:iam::{ACCOUNT}:role/s3-reader"
    association = aws.eks.create_pod_identity_association(
        clusterName="kata", namespace="apps", serviceAccount="reader",
        roleArn=role)["association"]
    association_id = association["associationId"]
    assert re.fullmatch(r"a-[a-z0-9]{17}", association_id)
    assert association["associationArn"] == (
        f"arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/kata/{association_id}")
    with pytest.raises(ClientError) as caught:
        aws.eks.create_pod_identity_association(clusterName="kata", namespace="apps",
                                                serviceAccount="reader", roleArn=role)
    assert error_of(caught) == ("ResourceInUseException",
                                f"Association already exists: {association_id}")

    listed = aws.eks.list_pod_identity_associations(clusterName="kata", namespace="apps")
    assert [a["associationId"] for a in listed["associations"]] == [association_id]
    described = aws.eks.describe_pod_identity_association(
        clusterName="kata", associationId=association_id)["association"]
    assert (described["serviceAccount"], described["roleArn"]) == ("reader", role)
    aws.eks.delete_pod_identity_association(clusterName="kata", associationId=association_id)
    assert aws.eks.list_pod_identity_associations(clusterName="kata")["associations"] == []


# --- SSM public parameters -----------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.29", "1.30", "1.31", "1.32"])
def test_eks_optimized_ami_parameters_name_existing_amis(aws: Aws, version: str) -> None:
    base = f"/aws/service/eks/optimized-ami/{version}"
    names = [f"{base}/amazon-linux-2/recommended/image_id",
             f"{base}/amazon-linux-2023/x86_64/standard/recommended/image_id"]
    found = aws.ssm.get_parameters(Names=names)
    assert found["InvalidParameters"] == []
    images = [p["Value"] for p in found["Parameters"]]
    assert len(aws.ec2.describe_images(ImageIds=images)["Images"]) == 2
    document = json.loads(aws.ssm.get_parameter(
        Name=f"{base}/amazon-linux-2/recommended")["Parameter"]["Value"])
    assert document["release_version"].startswith(version + ".")


def test_ecs_optimized_ami_document_is_json(aws: Aws) -> None:
    value = aws.ssm.get_parameter(
        Name="/aws/service/ecs/optimized-ami/amazon-linux-2/recommended")["Parameter"]["Value"]
    document = json.loads(value)
    assert aws.ec2.describe_images(ImageIds=[document["image_id"]])["Images"]
