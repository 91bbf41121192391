"""The sandbox's ECS agent: instances join their cluster as on AWS, or say why they do not."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.request
from typing import Any

import pytest

from cloudkata.sandbox import manager
from cloudkata.sandbox.behaviours.ecs_agent import decode_user_data, ecs_cluster_setting
from cloudkata.sandbox.behaviours.instance_types import DEFAULT, lookup
from cloudkata.targets import Target

from .test_ec2_autoscaling import (
    USER_DATA,
    Aws,
    clients,
    ecs_ami,
    group,
    group_instances,
    instance_role,
    launch_template,
    two_subnets,
)


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def agent(aws: Aws) -> dict[str, dict[str, Any]]:
    """The sandbox's own account of each instance's agent."""
    request = urllib.request.Request(aws.endpoint + "/cloudkata/agent", data=b"{}",
                                     method="POST", headers={"Content-Type": "application/json",
                                                             **manager.control_headers(aws.endpoint)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def container_instances(aws: Aws, cluster: str = "kata-cluster") -> list[dict]:
    arns = aws.ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
    if not arns:
        return []
    return aws.ecs.describe_container_instances(cluster=cluster,
                                                containerInstances=arns)["containerInstances"]


def resource(container_instance: dict, name: str, which: str = "registeredResources") -> int:
    return next(r["integerValue"] for r in container_instance[which] if r["name"] == name)


def attribute(container_instance: dict, name: str) -> str | None:
    return next((a.get("value") for a in container_instance["attributes"] if a["name"] == name),
                None)


def run(aws: Aws, *, user_data: str | None = USER_DATA, profile: str | None = "ecsInstanceRole",
        instance_type: str = "t2.micro", image_id: str | None = None) -> str:
    """One instance, launched by hand (no Auto Scaling group)."""
    arguments: dict[str, Any] = {"ImageId": image_id or ecs_ami(aws),
                                 "InstanceType": instance_type, "MinCount": 1, "MaxCount": 1}
    if user_data is not None:
        arguments["UserData"] = user_data
    if profile:
        arguments["IamInstanceProfile"] = {"Name": profile}
    return aws.ec2.run_instances(**arguments)["Instances"][0]["InstanceId"]


def test_asg_instances_register_after_booting(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    launch_template(aws)
    group(aws, two_subnets(aws), desired=2)
    instances = {i["InstanceId"]: i for i in group_instances(aws)}
    assert len({i["Placement"]["AvailabilityZone"] for i in instances.values()}) == 2
    assert all(i["IamInstanceProfile"]["Arn"].endswith("/ecsInstanceRole")
               for i in instances.values())

    aws.advance(30)
    assert container_instances(aws) == []
    assert all(a["reason"].startswith("booting") for a in agent(aws).values())

    aws.advance(40)
    registered = container_instances(aws)
    assert len(registered) == 2
    assert {c["ec2InstanceId"] for c in registered} == set(instances)
    for container_instance in registered:
        assert container_instance["status"] == "ACTIVE"
        assert container_instance["agentConnected"] is True
        assert resource(container_instance, "CPU") == 1024
        assert resource(container_instance, "MEMORY") == 982
        assert resource(container_instance, "CPU", "remainingResources") == 1024
        assert resource(container_instance, "MEMORY", "remainingResources") == 982
        ports = next(r for r in container_instance["registeredResources"] if r["name"] == "PORTS")
        assert set(ports["stringSetValue"]) == {"22", "2375", "2376", "51678", "51679"}
        assert attribute(container_instance, "ecs.instance-type") == "t2.micro"
        launched = instances[container_instance["ec2InstanceId"]]
        assert attribute(container_instance, "ecs.availability-zone") == (
            launched["Placement"]["AvailabilityZone"])
    cluster = aws.ecs.describe_clusters(clusters=["kata-cluster"])["clusters"][0]
    assert cluster["registeredContainerInstancesCount"] == 2
    assert all(a == {"registered": True, "reason": None} for a in agent(aws).values())


def test_a_role_without_the_ecs_policy_never_registers_until_fixed(aws: Aws) -> None:
    instance_role(aws, managed_policy=False)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    launch_template(aws)
    group(aws, two_subnets(aws), desired=2)

    aws.advance(120)
    assert container_instances(aws) == []
    reasons = {a["reason"] for a in agent(aws).values()}
    assert reasons == {"role ecsInstanceRole may not call ecs:RegisterContainerInstance"}

    # the real agent is restarted until it registers: fixing the role is enough
    aws.iam.attach_role_policy(
        RoleName="ecsInstanceRole",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    aws.advance(5)
    assert len(container_instances(aws)) == 2


def test_an_explicit_deny_is_named(aws: Aws) -> None:
    instance_role(aws)
    deny = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "ecs:*", "Resource": "*"}]}
    aws.iam.put_role_policy(RoleName="ecsInstanceRole", PolicyName="no-ecs",
                            PolicyDocument=json.dumps(deny))
    aws.ecs.create_cluster(clusterName="kata-cluster")
    instance = run(aws)

    aws.advance(70)
    reason = agent(aws)[instance]["reason"]
    assert reason.startswith("role ecsInstanceRole may not call ecs:RegisterContainerInstance")
    assert "explicitly denied by policy no-ecs" in reason


def test_no_instance_profile_and_untrusting_role_are_explained(aws: Aws) -> None:
    aws.ecs.create_cluster(clusterName="kata-cluster")
    lambda_trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    instance_role(aws, "wrongTrust", trust=lambda_trust)
    bare = run(aws, profile=None)
    untrusted = run(aws, profile="wrongTrust")

    aws.advance(70)
    status = agent(aws)
    assert status[bare] == {"registered": False, "reason": "no instance profile"}
    assert status[untrusted]["reason"].startswith(
        "role wrongTrust does not trust ec2.amazonaws.com")
    assert container_instances(aws) == []


def test_a_missing_cluster_is_named_and_awaited(aws: Aws) -> None:
    instance_role(aws)
    instance = run(aws)

    aws.advance(70)
    assert agent(aws)[instance] == {"registered": False,
                                    "reason": "cluster kata-cluster does not exist"}
    assert aws.ecs.list_clusters()["clusterArns"] == []  # a named cluster is never created

    aws.ecs.create_cluster(clusterName="kata-cluster")
    assert [c["ec2InstanceId"] for c in container_instances(aws)] == [instance]


def test_a_wrong_cluster_name_is_named(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    typo = "#!/bin/bash\necho ECS_CLUSTER=kata-clster >> /etc/ecs/ecs.config"
    instance = run(aws, user_data=typo)

    aws.advance(70)
    assert agent(aws)[instance]["reason"] == "cluster kata-clster does not exist"
    assert container_instances(aws) == []


def test_without_ecs_cluster_the_agent_joins_default_creating_it_if_allowed(aws: Aws) -> None:
    """ECS_CLUSTER unset means "default"; the agent creates it, which is why
    AmazonEC2ContainerServiceforEC2Role grants ecs:CreateCluster."""
    instance_role(aws)
    instance = run(aws, user_data="#!/bin/bash\nyum update -y\n")

    aws.advance(70)
    assert [c["ec2InstanceId"] for c in container_instances(aws, "default")] == [instance]


def test_without_ecs_cluster_and_create_cluster_the_agent_waits_for_default(aws: Aws) -> None:
    instance_role(aws, "registerOnly", managed_policy=False)
    register_only = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:RegisterContainerInstance", "Resource": "*"}]}
    aws.iam.put_role_policy(RoleName="registerOnly", PolicyName="register",
                            PolicyDocument=json.dumps(register_only))
    aws.ecs.create_cluster(clusterName="kata-cluster")
    instance = run(aws, user_data=None, profile="registerOnly")

    aws.advance(70)
    reason = agent(aws)[instance]["reason"]
    assert reason.startswith("cluster default does not exist")
    assert "ecs:CreateCluster" in reason
    assert container_instances(aws) == []

    aws.ecs.create_cluster(clusterName="default")
    assert [c["ec2InstanceId"] for c in container_instances(aws, "default")] == [instance]


def test_an_instance_without_an_ecs_agent_never_joins(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="default")
    plain_ami = aws.ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["al2023-ami-2023*x86_64"]}])["Images"][0]["ImageId"]
    bastion = run(aws, user_data=None, image_id=plain_ami)

    aws.advance(70)
    assert agent(aws)[bastion]["reason"].startswith("no ECS agent")
    assert container_instances(aws, "default") == []


def test_terminating_an_instance_deregisters_it(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    launch_template(aws)
    group(aws, two_subnets(aws), desired=2, min_size=2, max_size=2)
    aws.advance(70)
    before = container_instances(aws)
    assert len(before) == 2
    victim = before[0]

    aws.ec2.terminate_instances(InstanceIds=[victim["ec2InstanceId"]])

    after = container_instances(aws)
    assert [c["ec2InstanceId"] for c in after] == [before[1]["ec2InstanceId"]]
    cluster = aws.ecs.describe_clusters(clusters=["kata-cluster"])["clusters"][0]
    assert cluster["registeredContainerInstancesCount"] == 1
    assert agent(aws)[victim["ec2InstanceId"]] == {"registered": False,
                                                    "reason": "instance is terminated"}

    # the group replaced it; the replacement boots and registers
    aws.advance(70)
    assert len(container_instances(aws)) == 2


def test_a_stopped_instance_disconnects_and_reconnects_after_boot(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    instance = run(aws)
    aws.advance(70)
    (registered,) = container_instances(aws)

    aws.ec2.stop_instances(InstanceIds=[instance])
    (stopped,) = container_instances(aws)
    assert stopped["containerInstanceArn"] == registered["containerInstanceArn"]
    assert stopped["agentConnected"] is False

    aws.ec2.start_instances(InstanceIds=[instance])
    aws.advance(30)
    assert container_instances(aws)[0]["agentConnected"] is False
    aws.advance(40)
    assert container_instances(aws)[0]["agentConnected"] is True


def test_a_container_instance_deregistered_by_hand_stays_deregistered(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    instance = run(aws)
    aws.advance(70)
    (registered,) = container_instances(aws)

    answer = aws.ecs.deregister_container_instance(
        cluster="kata-cluster", containerInstance=registered["containerInstanceArn"])
    assert answer["containerInstance"]["status"] == "INACTIVE"
    aws.advance(120)
    assert container_instances(aws) == []
    assert agent(aws)[instance]["registered"] is False
    cluster = aws.ecs.describe_clusters(clusters=["kata-cluster"])["clusters"][0]
    assert cluster["registeredContainerInstancesCount"] == 0


@pytest.mark.parametrize(("instance_type", "cpu", "memory"),
                         [("t3.micro", 2048, 943), ("m5.large", 2048, 7667),
                          ("c5.xlarge", 4096, 7529)])
def test_registered_resources_follow_the_instance_type(aws: Aws, instance_type: str, cpu: int,
                                                       memory: int) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    run(aws, instance_type=instance_type)
    aws.advance(70)
    (registered,) = container_instances(aws)
    assert resource(registered, "CPU") == cpu
    assert resource(registered, "MEMORY") == memory
    assert attribute(registered, "ecs.instance-type") == instance_type


def test_instances_of_a_capacity_provider_group_are_linked_to_it(aws: Aws) -> None:
    instance_role(aws)
    launch_template(aws)
    group(aws, two_subnets(aws), desired=0)
    arn = aws.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["kata-asg"])["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    aws.ecs.create_capacity_provider(name="kata-cp",
                                     autoScalingGroupProvider={"autoScalingGroupArn": arn})
    aws.ecs.create_cluster(clusterName="kata-cluster", capacityProviders=["kata-cp"])

    aws.autoscaling.set_desired_capacity(AutoScalingGroupName="kata-asg", DesiredCapacity=2)
    aws.advance(70)
    registered = container_instances(aws)
    assert [c.get("capacityProviderName") for c in registered] == ["kata-cp", "kata-cp"]


def test_an_agent_of_an_instance_launched_by_hand_has_no_capacity_provider(aws: Aws) -> None:
    instance_role(aws)
    aws.ecs.create_cluster(clusterName="kata-cluster")
    run(aws)
    aws.advance(70)
    (registered,) = container_instances(aws)
    assert "capacityProviderName" not in registered


def test_the_agent_route_without_instances_is_empty(aws: Aws) -> None:
    assert agent(aws) == {}


# --- user data and instance types, without a sandbox ---------------------------------------


@pytest.mark.parametrize(("script", "cluster"), [
    ("#!/bin/bash\necho ECS_CLUSTER=kata-cluster >> /etc/ecs/ecs.config", "kata-cluster"),
    ('#!/bin/bash\necho "ECS_CLUSTER=kata-cluster" >> /etc/ecs/ecs.config', "kata-cluster"),
    ("#!/bin/bash\ncat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER=web\nECS_LOGLEVEL=debug\nEOF",
     "web"),
    ("#!/bin/bash\n# echo ECS_CLUSTER=old >> /etc/ecs/ecs.config\necho ECS_CLUSTER=new >> x",
     "new"),
    ("#!/bin/bash\nyum update -y\n", None),
    ("", None),
])
def test_the_cluster_is_read_from_user_data_as_the_agent_reads_ecs_config(
        script: str, cluster: str | None) -> None:
    assert ecs_cluster_setting(script) == cluster


def test_user_data_is_decoded_from_base64_and_gzip() -> None:
    from moto.core.types import Base64EncodedString

    text = "#!/bin/bash\necho ECS_CLUSTER=kata >> /etc/ecs/ecs.config"
    assert decode_user_data(Base64EncodedString.from_raw_string(text)) == text
    assert decode_user_data(base64.b64encode(text.encode()).decode()) == text
    assert decode_user_data(base64.b64encode(gzip.compress(text.encode())).decode()) == text
    assert decode_user_data(None) == ""


def test_instance_types_register_1024_cpu_units_per_vcpu_and_less_memory() -> None:
    assert lookup("t2.micro").ecs_cpu == 1024 and lookup("t2.micro").ecs_memory_mib == 982
    for name in ("t3a.xlarge", "m5.xlarge", "c5.large", "t2.medium"):
        known = lookup(name)
        assert known.ecs_cpu == 1024 * known.vcpus
        assert 0.9 * known.memory_mib < known.ecs_memory_mib < known.memory_mib
    derived = lookup("m6i.large")  # not in the table: from moto's catalogue
    assert (derived.vcpus, derived.ecs_cpu, derived.memory_mib) == (2, 2048, 8192)
    assert derived.ecs_memory_mib < 8192
    assert lookup("zz9.huge") == DEFAULT
