"""ECS service checks against the real sandbox, on the state the alb-service lab builds.

``Kata`` builds that state with boto3 as the prerequisite labs (ecs-cluster, task-definitions)
and the alb-service steps would: the other test modules of these labs reuse it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.checks import Result, Status, get
from cloudkata.sandbox import manager
from cloudkata.targets import Target

ECS_FOR_EC2 = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id"
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def run(sandbox: Target, check_id: str, **params: Any) -> Result:
    """Run a registered check as a lab would: validated params, read-only session."""
    spec = get(check_id)
    return spec.function(sandbox.read_only(), spec.params.model_validate(params))


class Kata:
    """The sandbox as the ECS labs leave it, built step by step with boto3."""

    def __init__(self, sandbox: Target) -> None:
        self.endpoint = str(sandbox.endpoint_url)

        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                                aws_access_key_id="x", aws_secret_access_key="x")

        self.iam, self.ec2, self.ecs = client("iam"), client("ec2"), client("ecs")
        self.elbv2, self.autoscaling, self.ssm = (client("elbv2"), client("autoscaling"),
                                                  client("ssm"))
        self.cloudformation = client("cloudformation")
        self.vpc = self.ec2.describe_vpcs(
            Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = self.ec2.describe_subnets(
            Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        self.subnets = [s["SubnetId"] for s in
                        sorted(subnets, key=lambda s: s["AvailabilityZone"])[:2]]
        self.ids: dict[str, str] = {}

    def advance(self, seconds: float) -> None:
        manager.advance(self.endpoint, seconds)

    # -- prerequisite labs ---------------------------------------------------------------------

    def cluster(self) -> Kata:
        """ecs-cluster: the instance role and profile, kata-instances-sg (no ingress), a launch
        template with the ECS AMI and ECS_CLUSTER user data, kata-cluster and an ASG of two
        t2.micro in two AZs; 70 s later both instances are registered."""
        self.iam.create_role(RoleName="ecsInstanceRole", AssumeRolePolicyDocument=EC2_TRUST)
        self.iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=ECS_FOR_EC2)
        self.iam.create_instance_profile(InstanceProfileName="ecsInstanceRole")
        self.iam.add_role_to_instance_profile(InstanceProfileName="ecsInstanceRole",
                                              RoleName="ecsInstanceRole")
        self.ids["instances"] = self.security_group("kata-instances-sg")
        ami = self.ssm.get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
        user_data = "#!/bin/bash\necho ECS_CLUSTER=kata-cluster >> /etc/ecs/ecs.config"
        self.ec2.create_launch_template(LaunchTemplateName="kata-ecs-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t2.micro",
            "UserData": base64.b64encode(user_data.encode()).decode(),
            "IamInstanceProfile": {"Name": "ecsInstanceRole"},
            "SecurityGroupIds": [self.ids["instances"]]})
        self.ecs.create_cluster(clusterName="kata-cluster")
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="kata-ecs-asg", MinSize=1, MaxSize=3, DesiredCapacity=2,
            LaunchTemplate={"LaunchTemplateName": "kata-ecs-lt", "Version": "$Latest"},
            VPCZoneIdentifier=",".join(self.subnets))
        self.advance(70)
        return self

    def task_definitions(self, *, health_path: str | None = None) -> Kata:
        """task-definitions: kata-web revisions 1 and 2 (bridge, web:80 on hostPort 0)."""
        for revision in (1, 2):
            environment = [{"name": "APP_VERSION", "value": str(revision)}] \
                if revision == 2 else []
            if health_path:
                environment.append({"name": "HEALTH_PATH", "value": health_path})
            self.ecs.register_task_definition(family="kata-web", networkMode="bridge",
                                              containerDefinitions=[{
                "name": "web", "image": "nginx:1.27", "memory": 256, "cpu": 256,
                "essential": True, "environment": environment,
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}]}])
        return self

    def prerequisites(self, **kw: Any) -> Kata:
        return self.cluster().task_definitions(**kw)

    # -- alb-service steps ---------------------------------------------------------------------

    def security_group(self, name: str) -> str:
        return self.ec2.create_security_group(GroupName=name, Description=name,
                                              VpcId=self.vpc)["GroupId"]

    def allow(self, group: str, low: int, high: int, *, cidr: str | None = None,
              source: str | None = None) -> None:
        permission: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": low, "ToPort": high}
        if cidr:
            permission["IpRanges"] = [{"CidrIp": cidr}]
        if source:
            permission["UserIdGroupPairs"] = [{"GroupId": source}]
        self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[permission])

    def security_groups(self, *, instance_range: tuple[int, int] | None = (32768, 65535)
                        ) -> Kata:
        self.ids["alb_sg"] = self.security_group("kata-alb-sg")
        self.allow(self.ids["alb_sg"], 80, 80, cidr="0.0.0.0/0")
        if instance_range:
            self.allow(self.ids["instances"], *instance_range, source=self.ids["alb_sg"])
        return self

    def load_balancer(self, *, subnets: list[str] | None = None,
                      scheme: str = "internet-facing") -> Kata:
        self.ids["alb"] = self.elbv2.create_load_balancer(
            Name="kata-alb", Subnets=subnets or self.subnets, Scheme=scheme, Type="application",
            SecurityGroups=[self.ids["alb_sg"]])["LoadBalancers"][0]["LoadBalancerArn"]
        return self

    def target_group(self, name: str = "kata-web-tg", *, path: str = "/health",
                     target_type: str = "instance", matcher: str = "200") -> str:
        arn = self.elbv2.create_target_group(
            Name=name, Protocol="HTTP", Port=80, VpcId=self.vpc, TargetType=target_type,
            HealthCheckPath=path, Matcher={"HttpCode": matcher}, HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=3)["TargetGroups"][0]["TargetGroupArn"]
        self.ids[name] = arn
        return arn

    def listener(self, target_group: str = "kata-web-tg") -> Kata:
        self.ids["listener"] = self.elbv2.create_listener(
            LoadBalancerArn=self.ids["alb"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.ids[target_group]}])[
            "Listeners"][0]["ListenerArn"]
        return self

    def service(self, name: str = "web", target_group: str = "kata-web-tg", *,
                desired: int = 2, container: str = "web", port: int = 80,
                task_definition: str = "kata-web:1", **extra: Any) -> dict[str, Any]:
        return self.ecs.create_service(
            cluster="kata-cluster", serviceName=name, taskDefinition=task_definition,
            desiredCount=desired, healthCheckGracePeriodSeconds=60,
            deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 200},
            loadBalancers=[{"targetGroupArn": self.ids[target_group], "containerName": container,
                            "containerPort": port}], **extra)["service"]

    def web(self, *, path: str = "/health", instance_range: tuple[int, int] | None = (
            32768, 65535), settle: float = 60) -> Kata:
        """Steps 1-5: security groups, ALB, target group, listener, service web (2 tasks)."""
        self.security_groups(instance_range=instance_range).load_balancer()
        self.target_group(path=path)
        self.listener()
        self.service()
        self.advance(settle)
        return self


@pytest.fixture
def kata(sandbox: Target) -> Kata:
    return Kata(sandbox)


WEB = {"cluster": "kata-cluster", "service": "web", "target_group": "kata-web-tg",
       "load_balancer": "kata-alb"}


# --- service_load_balancer -------------------------------------------------------------------


def test_load_balancer_wiring_passes(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web()
    result = run(sandbox, "ecs.service_load_balancer", **WEB, container="web",
                 container_port=80, grace_period=60)
    assert result.status is Status.PASSED, result.message
    assert "container web port 80" in result.message


def test_load_balancer_wiring_fails_without_the_service(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites()
    result = run(sandbox, "ecs.service_load_balancer", **WEB, container="web",
                 container_port=80)
    assert result.status is Status.FAILED
    assert "Service web does not exist in cluster kata-cluster" in result.message


def test_wrong_container_port_is_refused_by_aws_at_create_time(sandbox: Target,
                                                               kata: Kata) -> None:
    """The sandbox refuses it as AWS does: the learner's feedback is AWS's own error."""
    kata.prerequisites().security_groups().load_balancer()
    kata.target_group()
    kata.listener()
    with pytest.raises(ClientError) as caught:
        kata.service(port=8080)
    assert "did not have a container port 8080" in caught.value.response["Error"]["Message"]


def test_wiring_names_a_container_port_the_lab_did_not_ask_for(sandbox: Target,
                                                               kata: Kata) -> None:
    """A task definition that maps 8080 and a service on 8080: valid for AWS, not the lab."""
    kata.prerequisites().security_groups().load_balancer()
    kata.target_group()
    kata.listener()
    kata.ecs.register_task_definition(family="kata-alt", containerDefinitions=[{
        "name": "web", "image": "nginx:1.27", "memory": 128,
        "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
    kata.service(port=8080, task_definition="kata-alt")
    result = run(sandbox, "ecs.service_load_balancer", **WEB, container="web",
                 container_port=80)
    assert result.status is Status.FAILED
    assert "container web port 8080" in result.message
    assert result.expected == "container web port 80"


def test_wiring_compares_the_service_port_with_the_task_definition(sandbox: Target,
                                                                   kata: Kata) -> None:
    """AWS and the sandbox refuse, through the API, a service whose containerPort its task
    definition lacks, so that state cannot be built; the comparison is run on the described
    service with its port changed in memory, against the real task definition."""
    from cloudkata.checks.ecs_services import LoadBalancerWiringParams, _wiring_problems

    kata.prerequisites().web(settle=0)
    aws = sandbox.read_only()
    service = aws.ecs.describe_services(cluster="kata-cluster", services=["web"])["services"][0]
    service = dict(service, loadBalancers=[dict(service["loadBalancers"][0],
                                                containerPort=8080)])
    group = aws.elbv2.describe_target_groups(Names=["kata-web-tg"])["TargetGroups"][0]
    params = LoadBalancerWiringParams(**WEB, container="web", container_port=8080)
    problems = _wiring_problems(aws, service, group, params)
    assert [m for m, _, _ in problems] == [
        "container web in kata-web:1 maps container port(s) 80, not 8080"]


def test_wiring_fails_for_an_ip_target_group_with_bridge_tasks(sandbox: Target,
                                                               kata: Kata) -> None:
    """AWS refuses this at create-service; the sandbox accepts it, so the check says it."""
    kata.prerequisites().security_groups().load_balancer()
    kata.target_group(target_type="ip")
    kata.listener()
    kata.service()
    result = run(sandbox, "ecs.service_load_balancer", **WEB, container="web",
                 container_port=80)
    assert result.status is Status.FAILED
    assert "kata-web:1 uses bridge networking but kata-web-tg has target type ip" in (
        result.message)


def test_wiring_fails_for_a_short_grace_period(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web(settle=0)
    kata.ecs.update_service(cluster="kata-cluster", service="web",
                            healthCheckGracePeriodSeconds=5)
    result = run(sandbox, "ecs.service_load_balancer", **WEB, container="web",
                 container_port=80, grace_period=60)
    assert result.status is Status.FAILED
    assert "grace period is 5 s" in result.message


def test_service_is_discovered_through_its_target_group(sandbox: Target, kata: Kata) -> None:
    """A service whose name was generated (CloudFormation) is found by its target group."""
    kata.prerequisites().security_groups().load_balancer()
    kata.target_group()
    kata.listener()
    kata.service(name="stack-WebService-1A2B3C")
    result = run(sandbox, "ecs.service_load_balancer", **WEB, container="web",
                 container_port=80)
    assert result.status is Status.PASSED, result.message
    assert "stack-WebService-1A2B3C" in result.message


# --- service_deployment ----------------------------------------------------------------------


def test_deployment_passes(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web(settle=0)
    result = run(sandbox, "ecs.service_deployment", **WEB, minimum_healthy_percent=50,
                 maximum_percent=200)
    assert result.status is Status.PASSED, result.message
    assert "(1 of 2)" in result.message


def test_deployment_fails_with_the_default_bounds(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web(settle=0)
    kata.ecs.update_service(cluster="kata-cluster", service="web", deploymentConfiguration={
        "minimumHealthyPercent": 100, "maximumPercent": 200})
    result = run(sandbox, "ecs.service_deployment", **WEB, minimum_healthy_percent=50,
                 maximum_percent=200)
    assert result.status is Status.FAILED
    assert result.message == ("Service web rolls out with minimumHealthyPercent 100 and "
                              "maximumPercent 200.")


# --- service_running -------------------------------------------------------------------------


def test_running_passes_once_tasks_run(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web()
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2,
                 task_definition="kata-web:1")
    assert result.status is Status.PASSED, result.message


def test_running_fails_on_the_desired_count(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web()
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=4)
    assert result.status is Status.FAILED
    assert result.message == "Service web: desiredCount expected 4, found 2."


def test_running_fails_while_tasks_are_pending(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web(settle=0)
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2)
    assert result.status is Status.FAILED
    assert "runs 0 of 2 tasks" in result.message


def test_running_fails_on_the_wrong_revision(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web()
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2,
                 task_definition="kata-web:2")
    assert result.status is Status.FAILED
    assert result.message == "Service web runs kata-web:1, not kata-web:2."


# --- service_targets -------------------------------------------------------------------------


def test_targets_pass_one_per_task_on_distinct_ports(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web()
    kata.ecs.update_service(cluster="kata-cluster", service="web", desiredCount=4)
    kata.advance(60)
    result = run(sandbox, "ecs.service_targets", **WEB)
    assert result.status is Status.PASSED, result.message
    assert "the 4 tasks of service web" in result.message


def test_targets_fail_while_the_scale_out_has_not_started_tasks(sandbox: Target,
                                                                kata: Kata) -> None:
    kata.prerequisites().web()
    kata.ecs.update_service(cluster="kata-cluster", service="web", desiredCount=4)
    result = run(sandbox, "ecs.service_targets", **WEB)
    assert result.status is Status.FAILED
    assert result.message == "Service web has 2 running tasks, not its desired 4."


def test_targets_fail_for_fixed_host_ports(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().security_groups(instance_range=(80, 80)).load_balancer()
    kata.target_group()
    kata.listener()
    kata.ecs.register_task_definition(family="kata-fixed", containerDefinitions=[{
        "name": "web", "image": "nginx:1.27", "memory": 128,
        "portMappings": [{"containerPort": 80, "hostPort": 80}]}])
    kata.service(task_definition="kata-fixed")
    kata.advance(60)
    result = run(sandbox, "ecs.service_targets", **WEB)
    assert result.status is Status.FAILED
    assert "do not each have their own dynamic host port" in result.message


def test_running_at_least_accepts_a_later_scale_out(sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web()
    kata.ecs.update_service(cluster="kata-cluster", service="web", desiredCount=3)
    kata.advance(60)
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2, at_least=True)
    assert result.status is Status.PASSED, result.message
    kata.ecs.update_service(cluster="kata-cluster", service="web", desiredCount=1)
    kata.advance(60)
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2, at_least=True)
    assert result.status is Status.FAILED
    assert result.message == "Service web: desiredCount expected at least 2, found 1."


def test_service_discovery_takes_no_service_the_lab_names_otherwise(sandbox: Target,
                                                                    kata: Kata) -> None:
    """No service web; web-green sits behind web's group. Discovery names what it took, and
    never takes it when the lab names web-green as another of its services."""
    kata.prerequisites().web(settle=0)
    kata.ecs.delete_service(cluster="kata-cluster", service="web", force=True)
    kata.service(name="web-green", task_definition="kata-web:2")
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2)
    assert result.message.startswith("Service web-green (found by discovery: there is no "
                                     "service web; web-green is the one service behind target "
                                     "group kata-web-tg)")
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=2,
                 other_services=["web-green"])
    assert result.status is Status.FAILED
    assert result.message.startswith("Service web does not exist in cluster kata-cluster")


def test_service_discovery_takes_nothing_when_two_services_share_the_group(
        sandbox: Target, kata: Kata) -> None:
    kata.prerequisites().web(settle=0)
    kata.ecs.delete_service(cluster="kata-cluster", service="web", force=True)
    kata.service(name="stack-Web-1", desired=1)
    kata.service(name="stack-Web-2", desired=1)
    result = run(sandbox, "ecs.service_running", **WEB, desired_count=1)
    assert result.status is Status.FAILED
    assert result.message.startswith("Service web does not exist in cluster kata-cluster")
