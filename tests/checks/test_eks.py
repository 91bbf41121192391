"""EKS checks against the real sandbox (frozen clock, advanced explicitly): each passes on the
right state and fails on the wrong one, naming the resource and the cause."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from cloudkata.checks import Status
from cloudkata.sandbox import manager
from cloudkata.targets import Target

from .test_subnets import Network, build_network, client, run

ACCOUNT = "123456789012"
CLUSTER = "kata-eks"
CLUSTER_ROLE = "kataEksClusterRole"
NODE_ROLE = "kataEksNodeRole"
FARGATE_ROLE = "kataEksFargatePodRole"
ASG = "kata-eks-self-managed"
EKS_AMI = ("/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/x86_64/standard/recommended/"
           "image_id")
ECS_AMI = "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"


NODE_USER_DATA = """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="NODECONFIG"

--NODECONFIG
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: {name}
    apiServerEndpoint: {endpoint}
    certificateAuthority: {ca}
    cidr: {cidr}

--NODECONFIG--
"""


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


@dataclass
class World:
    """The learner's clients and the lab's network, all against the sandbox."""

    sandbox: Target
    network: Network
    eks: Any
    ec2: Any
    iam: Any
    ssm: Any
    autoscaling: Any

    def advance(self, seconds: float) -> None:
        manager.advance(str(self.sandbox.endpoint_url), seconds)

    def role(self, name: str, service: str) -> str:
        return str(self.iam.create_role(RoleName=name,
                                        AssumeRolePolicyDocument=trust(service))["Role"]["Arn"])

    def cluster(self, name: str = CLUSTER, *, mode: str = "API_AND_CONFIG_MAP",
                private: bool = True, active: bool = True) -> dict[str, Any]:
        arn = self.role(CLUSTER_ROLE, "eks.amazonaws.com")
        self.eks.create_cluster(
            name=name, version="1.32", roleArn=arn,
            resourcesVpcConfig={"subnetIds": self.network.public + self.network.private,
                                "endpointPublicAccess": True, "endpointPrivateAccess": private},
            accessConfig={"authenticationMode": mode})
        if active:
            self.advance(120)
        return dict(self.eks.describe_cluster(name=name)["cluster"])

    def node_role(self) -> str:
        arn = self.role(NODE_ROLE, "ec2.amazonaws.com")
        self.iam.create_instance_profile(InstanceProfileName=NODE_ROLE)
        self.iam.add_role_to_instance_profile(InstanceProfileName=NODE_ROLE, RoleName=NODE_ROLE)
        return arn

    def nodegroup(self, name: str, capacity: str, types: list[str],
                  subnets: list[str] | None = None) -> None:
        self.eks.create_nodegroup(
            clusterName=CLUSTER, nodegroupName=name, nodeRole=f"arn:aws:iam::{ACCOUNT}:role/"
            f"{NODE_ROLE}", subnets=subnets or self.network.private, capacityType=capacity,
            instanceTypes=types, scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2})

    def user_data(self, cluster_name: str = CLUSTER) -> str:
        """The nodeadm NodeConfig (in MIME, as the lab's node-user-data.txt) for the cluster."""
        cluster = self.eks.describe_cluster(name=CLUSTER)["cluster"]
        text = NODE_USER_DATA.format(
            name=cluster_name, endpoint=cluster["endpoint"],
            ca=cluster["certificateAuthority"]["data"],
            cidr=cluster["kubernetesNetworkConfig"]["serviceIpv4Cidr"])
        return base64.b64encode(text.encode()).decode()

    def self_managed(self, *, ami_parameter: str = EKS_AMI, owned: bool = True,
                     profile: bool = True, user_data: str | None = None) -> None:
        image = self.ssm.get_parameter(Name=ami_parameter)["Parameter"]["Value"]
        data: dict[str, Any] = {"ImageId": image, "InstanceType": "t3.medium",
                                "UserData": self.user_data() if user_data is None
                                else user_data}
        if not data["UserData"]:
            del data["UserData"]
        if profile:
            data["IamInstanceProfile"] = {"Name": NODE_ROLE}
        self.ec2.create_launch_template(LaunchTemplateName="kata-lt", LaunchTemplateData=data)
        tags = [{"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "owned",
                 "PropagateAtLaunch": True}] if owned else []
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=ASG, MinSize=1, MaxSize=2, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "kata-lt", "Version": "$Latest"},
            VPCZoneIdentifier=",".join(self.network.private), Tags=tags)

    def nodegroup_on(self, cluster: str, name: str) -> None:
        self.eks.create_nodegroup(
            clusterName=cluster, nodegroupName=name, nodeRole=f"arn:aws:iam::{ACCOUNT}:role/"
            f"{NODE_ROLE}", subnets=self.network.private, capacityType="ON_DEMAND",
            instanceTypes=["t3.medium"],
            scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2})

    def access_entry(self, principal: str, kind: str = "EC2_LINUX") -> None:
        self.eks.create_access_entry(clusterName=CLUSTER, principalArn=principal, type=kind)

    def fargate(self, subnets: list[str] | None = None, namespace: str = "kata-apps") -> None:
        arn = self.role(FARGATE_ROLE, "eks-fargate-pods.amazonaws.com")
        self.eks.create_fargate_profile(
            clusterName=CLUSTER, fargateProfileName="kata-fargate", podExecutionRoleArn=arn,
            subnets=subnets or self.network.private, selectors=[{"namespace": namespace}])


@pytest.fixture
def world(sandbox: Target) -> World:
    ec2 = client(sandbox, "ec2")
    return World(sandbox, build_network(ec2), client(sandbox, "eks"), ec2,
                 client(sandbox, "iam"), client(sandbox, "ssm"),
                 client(sandbox, "autoscaling"))


def cluster_check(world: World, **overrides: Any) -> Any:
    params = {"cluster": CLUSTER, "role": CLUSTER_ROLE, "endpoint_public": True,
              "endpoint_private": True, "authentication_modes": ["API_AND_CONFIG_MAP", "API"],
              **overrides}
    return run(world.sandbox, "eks.cluster_active", **params)


# --- cluster_active ------------------------------------------------------------------------

def test_cluster_active_passes_for_an_active_well_configured_cluster(world: World) -> None:
    world.cluster()
    result = cluster_check(world)
    assert result.status is Status.PASSED, result.message
    assert "ACTIVE" in result.message and "API_AND_CONFIG_MAP" in result.message


def test_cluster_active_fails_while_creating_and_says_how_to_wait(world: World) -> None:
    world.cluster(active=False)
    result = cluster_check(world)
    assert result.status is Status.FAILED
    assert "CREATING" in result.message
    assert "aws eks wait cluster-active" in result.message


def test_cluster_active_fails_on_config_map_mode_and_private_endpoint_off(world: World) -> None:
    world.cluster(mode="CONFIG_MAP", private=False)
    result = cluster_check(world)
    assert result.status is Status.FAILED
    assert "private endpoint access is off" in result.message
    assert "authentication mode is CONFIG_MAP" in result.message


def test_cluster_active_fails_for_a_missing_cluster_naming_the_others(world: World) -> None:
    world.cluster("other", active=False)
    result = run(world.sandbox, "eks.cluster_active", cluster=CLUSTER, role="someOtherRole")
    assert result.status is Status.FAILED
    assert CLUSTER in result.message and "other" in (result.actual or "")


def test_cluster_active_discovers_a_generated_name_by_its_role(world: World) -> None:
    world.cluster("EksCluster-AbC123")
    result = cluster_check(world)
    assert result.status is Status.PASSED, result.message
    assert "EksCluster-AbC123" in result.message


def test_cluster_active_fails_for_another_kubernetes_version(world: World) -> None:
    world.cluster()
    result = cluster_check(world, version="1.31")
    assert result.status is Status.FAILED
    assert "runs Kubernetes 1.32, not 1.31" in result.message


def test_a_cluster_of_another_name_and_role_is_not_taken_for_the_labs(world: World) -> None:
    """Discovery takes a cluster with a generated name only if it uses the lab's cluster role;
    without the role to go by, a check judges the named cluster or nothing."""
    world.cluster("EksCluster-AbC123")
    world.nodegroup_on("EksCluster-AbC123", "kata-ondemand")
    found = run(world.sandbox, "eks.nodegroup_configured", cluster=CLUSTER,
                cluster_role=CLUSTER_ROLE, nodegroup="kata-ondemand")
    assert found.status is Status.PASSED, found.message
    assert (f"Node group kata-ondemand of cluster EksCluster-AbC123 (found by its role "
            f"{CLUSTER_ROLE}, as no cluster is named {CLUSTER})") in found.message
    strict = run(world.sandbox, "eks.nodegroup_configured", cluster=CLUSTER,
                 nodegroup="kata-ondemand")
    assert strict.status is Status.FAILED
    assert f"EKS cluster {CLUSTER} does not exist" in strict.message
    other_role = run(world.sandbox, "eks.nodegroup_configured", cluster=CLUSTER,
                     cluster_role="someoneElsesRole", nodegroup="kata-ondemand")
    assert other_role.status is Status.FAILED
    assert "no other cluster uses role someoneElsesRole" in other_role.message


def test_cluster_active_names_the_cluster_it_discovered(world: World) -> None:
    world.cluster("EksCluster-AbC123")
    result = cluster_check(world)
    assert result.status is Status.PASSED, result.message
    assert (f"EksCluster-AbC123 (found by its role {CLUSTER_ROLE}, as no cluster is named "
            f"{CLUSTER})") in result.message


# --- managed node groups -------------------------------------------------------------------

def nodegroup_check(world: World, name: str, **params: Any) -> Any:
    return run(world.sandbox, "eks.nodegroup_configured", cluster=CLUSTER, nodegroup=name,
               node_role=NODE_ROLE, private_subnets_only=True, **params)


def test_nodegroup_configured_passes_for_on_demand(world: World) -> None:
    world.cluster()
    world.nodegroup("kata-ondemand", "ON_DEMAND", ["t3.medium"])
    result = nodegroup_check(world, "kata-ondemand", capacity_type="ON_DEMAND",
                             instance_types=["t3.medium"], min_size=1, max_size=3,
                             desired_size=2)
    assert result.status is Status.PASSED, result.message


def test_nodegroup_configured_fails_for_spot_on_one_type(world: World) -> None:
    world.cluster()
    world.nodegroup("kata-spot", "SPOT", ["t3.large"])
    result = nodegroup_check(world, "kata-spot", capacity_type="SPOT", min_instance_types=2)
    assert result.status is Status.FAILED
    assert "1 instance type" in result.message and "at least 2" in result.message


def test_nodegroup_configured_fails_on_public_subnets_naming_them(world: World) -> None:
    world.cluster()
    world.nodegroup("kata-ondemand", "ON_DEMAND", ["t3.medium"], world.network.public)
    result = nodegroup_check(world, "kata-ondemand", capacity_type="ON_DEMAND")
    assert result.status is Status.FAILED
    assert world.network.public[0] in result.message and "public" in result.message


def test_nodegroup_configured_fails_for_wrong_scaling_and_capacity(world: World) -> None:
    world.cluster()
    world.nodegroup("kata-spot", "ON_DEMAND", ["t3.large", "m5.large"])
    result = nodegroup_check(world, "kata-spot", capacity_type="SPOT", max_size=4)
    assert result.status is Status.FAILED
    assert "ON_DEMAND" in result.message and "maxSize 3" in result.message


def test_nodegroup_is_discovered_by_capacity_type(world: World) -> None:
    world.cluster()
    world.nodegroup("eksctl-spot-ng-1A2B", "SPOT", ["t3.large", "m5.large"])
    result = nodegroup_check(world, "kata-spot", capacity_type="SPOT", min_instance_types=2)
    assert result.status is Status.PASSED, result.message
    assert ("eksctl-spot-ng-1A2B (the cluster's only SPOT node group, as none is named "
            "kata-spot)") in result.message


def test_nodegroup_instances_running_passes_once_active(world: World) -> None:
    world.cluster()
    world.nodegroup("kata-spot", "SPOT", ["t3.large", "m5.large"])
    world.advance(60)
    result = run(world.sandbox, "eks.nodegroup_instances_running", cluster=CLUSTER,
                 nodegroup="kata-spot")
    assert result.status is Status.PASSED, result.message
    assert "2 running node(s)" in result.message and "spot" in result.message


def test_nodegroup_instances_running_fails_while_creating(world: World) -> None:
    world.cluster()
    world.nodegroup("kata-ondemand", "ON_DEMAND", ["t3.medium"])
    result = run(world.sandbox, "eks.nodegroup_instances_running", cluster=CLUSTER,
                 nodegroup="kata-ondemand")
    assert result.status is Status.FAILED
    assert "CREATING" in result.message


def test_nodegroup_checks_fail_for_a_missing_group(world: World) -> None:
    world.cluster()
    result = run(world.sandbox, "eks.nodegroup_instances_running", cluster=CLUSTER,
                 nodegroup="kata-ondemand")
    assert result.status is Status.FAILED
    assert "no node group kata-ondemand" in result.message


# --- self-managed nodes --------------------------------------------------------------------

def self_managed(world: World, check_id: str) -> Any:
    return run(world.sandbox, check_id, cluster=CLUSTER, asg=ASG)


def test_self_managed_nodes_pass_with_the_eks_ami_and_owned_tag(world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed()
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.PASSED, result.message
    assert "1.32" in result.message and "owned" in result.message


def test_self_managed_nodes_fail_on_a_non_eks_ami(world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed(ami_parameter=ECS_AMI)
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.FAILED
    assert "not an EKS-optimised AMI for Kubernetes 1.32" in result.message


def test_self_managed_nodes_fail_without_the_owned_tag(world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed(owned=False)
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.FAILED
    assert f"kubernetes.io/cluster/{CLUSTER}=owned" in result.message


def test_self_managed_nodes_fail_when_the_user_data_names_another_cluster(
        world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed(user_data=world.user_data("my-cluster"))
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.FAILED
    assert f"NodeConfig has name my-cluster, not cluster {CLUSTER}'s name" in result.message
    assert "nodeadm" in result.message


def test_self_managed_nodes_fail_without_user_data_or_with_placeholders_left(
        world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed(user_data="")
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.FAILED
    assert "no user data" in result.message
    text = base64.b64decode(world.user_data()).decode()
    endpoint = world.eks.describe_cluster(name=CLUSTER)["cluster"]["endpoint"]
    placeholder = base64.b64encode(text.replace(endpoint, "@ENDPOINT@").encode()).decode()
    world.ec2.create_launch_template_version(
        LaunchTemplateName="kata-lt", SourceVersion="1", LaunchTemplateData={
            "ImageId": world.ssm.get_parameter(Name=EKS_AMI)["Parameter"]["Value"],
            "IamInstanceProfile": {"Name": NODE_ROLE}, "UserData": placeholder})
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.FAILED
    assert "NodeConfig is not valid YAML (line " in result.message
    assert "the placeholders @ENDPOINT@ are still in it" in result.message


def test_self_managed_nodes_accept_an_al2_bootstrap_script_for_the_cluster(
        world: World) -> None:
    world.cluster()
    world.node_role()
    script = f"#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh {CLUSTER} --kubelet-extra-args ''\n"
    world.self_managed(user_data=base64.b64encode(script.encode()).decode())
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.PASSED, result.message
    assert f"user data that joins cluster {CLUSTER}" in result.message


def test_self_managed_nodes_fail_for_a_missing_group(world: World) -> None:
    world.cluster()
    result = self_managed(world, "eks.self_managed_nodes")
    assert result.status is Status.FAILED
    assert ASG in result.message


def test_nodes_can_join_passes_with_an_ec2_linux_entry(world: World) -> None:
    world.cluster()
    world.access_entry(world.node_role())
    world.self_managed()
    result = self_managed(world, "eks.nodes_can_join")
    assert result.status is Status.PASSED, result.message
    assert NODE_ROLE in result.message


def test_nodes_can_join_fails_without_an_access_entry(world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed()
    result = self_managed(world, "eks.nodes_can_join")
    assert result.status is Status.FAILED
    assert "no access entry" in result.message and "cannot join" in result.message
    assert NODE_ROLE in result.message


def test_nodes_can_join_fails_for_a_standard_entry(world: World) -> None:
    world.cluster()
    world.access_entry(world.node_role(), "STANDARD")
    world.self_managed()
    result = self_managed(world, "eks.nodes_can_join")
    assert result.status is Status.FAILED
    assert "type STANDARD" in result.message and "EC2_LINUX" in result.message


def test_nodes_can_join_fails_on_a_config_map_cluster(world: World) -> None:
    world.cluster(mode="CONFIG_MAP")
    world.node_role()
    world.self_managed()
    result = self_managed(world, "eks.nodes_can_join")
    assert result.status is Status.FAILED
    assert "CONFIG_MAP" in result.message and "API_AND_CONFIG_MAP" in result.message


def test_nodes_can_join_fails_without_an_instance_profile(world: World) -> None:
    world.cluster()
    world.node_role()
    world.self_managed(profile=False)
    result = self_managed(world, "eks.nodes_can_join")
    assert result.status is Status.FAILED
    assert "no instance profile" in result.message


# --- Fargate -------------------------------------------------------------------------------

def fargate_check(world: World) -> Any:
    return run(world.sandbox, "eks.fargate_profile", cluster=CLUSTER, profile="kata-fargate",
               role=FARGATE_ROLE, namespace="kata-apps")


def test_fargate_profile_passes_once_active_on_private_subnets(world: World) -> None:
    world.cluster()
    world.fargate()
    world.advance(30)
    result = fargate_check(world)
    assert result.status is Status.PASSED, result.message
    assert "kata-apps" in result.message


def test_fargate_profile_fails_while_creating(world: World) -> None:
    world.cluster()
    world.fargate()
    result = fargate_check(world)
    assert result.status is Status.FAILED
    assert "CREATING" in result.message


def test_fargate_profile_fails_when_a_subnet_became_public(world: World) -> None:
    """EKS refuses a public subnet at creation; a subnet whose route table later gains an
    internet gateway route is public all the same, and the check names it."""
    world.cluster()
    world.fargate()
    world.advance(30)
    subnet = world.network.private[1]
    table = world.ec2.create_route_table(VpcId=world.network.vpc)["RouteTable"]["RouteTableId"]
    world.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
                           GatewayId=world.network.igw)
    association = next(
        a["RouteTableAssociationId"] for t in world.ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["RouteTables"]
        for a in t["Associations"] if a.get("SubnetId") == subnet)
    world.ec2.replace_route_table_association(AssociationId=association, RouteTableId=table)
    result = fargate_check(world)
    assert result.status is Status.FAILED
    assert f"subnet {subnet}" in result.message and "is public" in result.message
    assert world.network.igw in result.message


def test_fargate_profile_fails_for_the_wrong_namespace(world: World) -> None:
    world.cluster()
    world.fargate(namespace="default")
    world.advance(30)
    result = run(world.sandbox, "eks.fargate_profile", cluster=CLUSTER, profile="kata-fargate",
                 role=FARGATE_ROLE, namespace="kata-apps")
    assert result.status is Status.FAILED
    assert "namespace kata-apps" in result.message


def _fargate_trust_condition(world: World, source_arn: str) -> None:
    world.iam.update_assume_role_policy(RoleName=FARGATE_ROLE, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnLike": {"aws:SourceArn": source_arn}}}]}))


def test_fargate_profile_fails_when_its_role_trusts_only_another_clusters_profiles(
        world: World) -> None:
    """AWS's documented trust adds aws:SourceArn .../fargateprofile/my-cluster/*; left at the
    example cluster, Fargate can never assume the role for this profile."""
    world.cluster()
    world.fargate()
    world.advance(30)
    _fargate_trust_condition(world, f"arn:aws:eks:us-east-1:{ACCOUNT}:fargateprofile/my-cluster/*")
    result = fargate_check(world)
    assert result.status is Status.FAILED
    assert "ArnLike aws:SourceArn" in result.message and "my-cluster/*" in result.message
    assert f"fargateprofile/{CLUSTER}/*" in (result.expected or "")
    _fargate_trust_condition(world, f"arn:aws:eks:us-east-1:{ACCOUNT}:fargateprofile/{CLUSTER}/*")
    result = fargate_check(world)
    assert result.status is Status.PASSED, result.message


def test_fargate_profile_fails_when_its_selector_also_needs_labels(world: World) -> None:
    world.cluster()
    arn = world.role(FARGATE_ROLE, "eks-fargate-pods.amazonaws.com")
    world.eks.create_fargate_profile(
        clusterName=CLUSTER, fargateProfileName="kata-fargate", podExecutionRoleArn=arn,
        subnets=world.network.private,
        selectors=[{"namespace": "kata-apps", "labels": {"compute": "fargate"}}])
    world.advance(30)
    result = fargate_check(world)
    assert result.status is Status.FAILED
    assert "also requires the labels compute=fargate" in result.message


def test_fargate_profile_names_the_profile_it_discovered(world: World) -> None:
    world.cluster()
    arn = world.role(FARGATE_ROLE, "eks-fargate-pods.amazonaws.com")
    world.eks.create_fargate_profile(
        clusterName=CLUSTER, fargateProfileName="fp-generated-1", podExecutionRoleArn=arn,
        subnets=world.network.private, selectors=[{"namespace": "kata-apps"}])
    world.advance(30)
    result = fargate_check(world)
    assert result.status is Status.PASSED, result.message
    assert ("Fargate profile fp-generated-1 (the one selecting namespace kata-apps, as none is "
            "named kata-fargate)") in result.message


def test_fargate_profile_fails_when_missing(world: World) -> None:
    world.cluster()
    result = fargate_check(world)
    assert result.status is Status.FAILED
    assert "no Fargate profile kata-fargate" in result.message
