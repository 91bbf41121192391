"""The ECS service scheduler: what a learner sees after create-service, scripted as they would.

Everything goes through boto3 over HTTP to the sandbox; time moves only through
``manager.advance`` (the test sandbox's clock is frozen).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cloudkata.sandbox import manager
from cloudkata.targets import Target

REGION = "us-east-1"
_AMI: list[str] = []


class Lab:
    """A VPC with two public subnets, container instances in both, an ALB and a target group:
    what an ECS-on-EC2 lab has built before it creates its service."""

    def __init__(self, sandbox: Target) -> None:
        self.endpoint = sandbox.endpoint_url
        kwargs = {"endpoint_url": self.endpoint, "region_name": REGION,
                  "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.ec2 = boto3.client("ec2", **kwargs)
        self.ecs = boto3.client("ecs", **kwargs)
        self.elbv2 = boto3.client("elbv2", **kwargs)
        self.autoscaling = boto3.client("autoscaling", **kwargs)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.0.{n}.0/24",
                                   AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
            for n, zone in ((1, "a"), (2, "b"))]
        self.alb_sg = self.security_group("alb")
        self.ec2.authorize_security_group_ingress(GroupId=self.alb_sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        self.host_sg = self.security_group("ecs-hosts")
        self.instances: list[str] = []
        self.container_instances: list[str] = []
        self.ecs.create_cluster(clusterName="web")

    def security_group(self, name: str) -> str:
        return self.ec2.create_security_group(GroupName=name, Description=name,
                                              VpcId=self.vpc)["GroupId"]

    def allow_from_alb(self, from_port: int = 32768, to_port: int = 60999) -> None:
        """The usual rule: the ALB's security group may reach the dynamic host ports."""
        self.ec2.authorize_security_group_ingress(GroupId=self.host_sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": from_port, "ToPort": to_port,
             "UserIdGroupPairs": [{"GroupId": self.alb_sg}]}])

    def ami(self) -> str:
        """A plain (not ECS-optimized) Amazon AMI: moto's are the same after every reset, and
        listing them is slow, so it is looked up once."""
        if not _AMI:
            images = self.ec2.describe_images(Owners=["amazon"])["Images"]
            _AMI.append(next(i["ImageId"] for i in images
                             if "ecs" not in (i.get("Name") or "").lower()))
        return _AMI[0]

    def add_instances(self, count: int = 2, instance_type: str = "t3.medium") -> list[str]:
        """Launch instances (one per subnet, round robin) and register them in the cluster,
        as the ECS agent would."""
        ami = self.ami()
        launched = []
        for n in range(count):
            subnet = self.subnets[(len(self.instances) + n) % len(self.subnets)]
            instance = self.ec2.run_instances(
                ImageId=ami, MinCount=1, MaxCount=1, InstanceType=instance_type,
                SubnetId=subnet, SecurityGroupIds=[self.host_sg])["Instances"][0]
            document = json.dumps({"instanceId": instance["InstanceId"], "region": REGION,
                                   "availabilityZone":
                                       instance["Placement"]["AvailabilityZone"]})
            registered = self.ecs.register_container_instance(
                cluster="web", instanceIdentityDocument=document)["containerInstance"]
            self.container_instances.append(registered["containerInstanceArn"])
            launched.append(instance["InstanceId"])
        self.instances.extend(launched)
        return launched

    def load_balancer(self, path: str = "/", interval: int = 10, healthy: int = 3,
                      unhealthy: int = 2, delay: int | None = 30,
                      listener: bool = True) -> str:
        """An internet-facing ALB forwarding port 80 to a new target group; returns the
        group's ARN."""
        self.alb = self.elbv2.create_load_balancer(
            Name="web", Subnets=self.subnets, SecurityGroups=[self.alb_sg])[
            "LoadBalancers"][0]["LoadBalancerArn"]
        group = self.elbv2.create_target_group(
            Name="web", Protocol="HTTP", Port=80, VpcId=self.vpc, HealthCheckPath=path,
            HealthCheckIntervalSeconds=interval, HealthyThresholdCount=healthy,
            UnhealthyThresholdCount=unhealthy)["TargetGroups"][0]["TargetGroupArn"]
        if delay is not None:
            self.elbv2.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
                {"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}])
        if listener:
            self.elbv2.create_listener(LoadBalancerArn=self.alb, Protocol="HTTP", Port=80,
                                       DefaultActions=[{"Type": "forward",
                                                        "TargetGroupArn": group}])
        return group

    def task_definition(self, family: str = "web", host_port: int | None = 0,
                        image: str = "nginx:1.25", memory: int = 256,
                        environment: dict[str, str] | None = None,
                        network_mode: str | None = None) -> str:
        mapping: dict[str, Any] = {"containerPort": 80, "protocol": "tcp"}
        if host_port is not None:
            mapping["hostPort"] = host_port
        container = {"name": "app", "image": image, "memory": memory, "essential": True,
                     "portMappings": [mapping],
                     "environment": [{"name": k, "value": v}
                                     for k, v in (environment or {}).items()]}
        kwargs: dict[str, Any] = {"family": family, "containerDefinitions": [container]}
        if network_mode:
            kwargs["networkMode"] = network_mode
        return self.ecs.register_task_definition(**kwargs)["taskDefinition"][
            "taskDefinitionArn"]

    def service(self, name: str = "web", desired: int = 3, target_group: str | None = None,
                task_definition: str = "web", **extra: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"cluster": "web", "serviceName": name,
                                  "taskDefinition": task_definition, "desiredCount": desired,
                                  **extra}
        if target_group:
            kwargs["loadBalancers"] = [{"targetGroupArn": target_group, "containerName": "app",
                                        "containerPort": 80}]
        return self.ecs.create_service(**kwargs)["service"]

    def advance(self, seconds: float) -> None:
        manager.advance(self.endpoint, seconds)

    def describe(self, name: str = "web") -> dict[str, Any]:
        return self.ecs.describe_services(cluster="web", services=[name])["services"][0]

    def tasks(self, service: str | None = "web", status: str = "RUNNING") -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"cluster": "web", "desiredStatus": status}
        if service:
            kwargs["serviceName"] = service
        arns = self.ecs.list_tasks(**kwargs)["taskArns"]
        if not arns:
            return []
        return self.ecs.describe_tasks(cluster="web", tasks=arns)["tasks"]

    def health(self, group: str) -> list[dict[str, Any]]:
        return self.elbv2.describe_target_health(TargetGroupArn=group)[
            "TargetHealthDescriptions"]

    def events(self, name: str = "web") -> list[str]:
        return [event["message"] for event in self.describe(name)["events"]]


@pytest.fixture
def lab(sandbox: Target) -> Lab:
    return Lab(sandbox)


def _bindings(task: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for c in task["containers"] for b in c.get("networkBindings", [])]


def test_service_runs_three_tasks_on_distinct_dynamic_ports_behind_healthy_targets(
        lab: Lab) -> None:
    lab.add_instances(2)
    lab.allow_from_alb()
    group = lab.load_balancer(interval=10, healthy=3)
    lab.task_definition()
    created = lab.service(desired=3, target_group=group)
    assert (created["runningCount"], created["pendingCount"]) == (0, 0)
    assert [d["status"] for d in created["deployments"]] == ["PRIMARY"]
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    tasks = lab.tasks()
    assert len(tasks) == 3
    assert {t["lastStatus"] for t in tasks} == {"PENDING"}
    assert lab.describe()["pendingCount"] == 3
    for task in tasks:
        assert task["desiredStatus"] == "RUNNING"
        assert task["startedBy"].startswith("ecs-svc/")
        assert task["group"] == "service:web"
        assert task["containerInstanceArn"] in lab.container_instances
        (binding,) = _bindings(task)
        assert binding["containerPort"] == 80 and binding["protocol"] == "tcp"
        assert binding["bindIP"] == "0.0.0.0"
        assert 32768 <= binding["hostPort"] <= 60999
    placed = {(t["containerInstanceArn"], _bindings(t)[0]["hostPort"]) for t in tasks}
    assert len(placed) == 3
    assert len({arn for arn, _ in placed}) == 2  # spread over both instances
    assert lab.health(group) == []  # registered only once RUNNING

    lab.advance(10)
    tasks = lab.tasks()
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert all(t.get("startedAt") for t in tasks)
    health = lab.health(group)
    instance_of = dict(zip(lab.container_instances, lab.instances, strict=True))
    assert sorted((h["Target"]["Id"], h["Target"]["Port"]) for h in health) == sorted(
        (instance_of[t["containerInstanceArn"]], _bindings(t)[0]["hostPort"]) for t in tasks)
    assert {h["TargetHealth"]["State"] for h in health} == {"initial"}
    assert health[0]["TargetHealth"]["Reason"] == "Elb.RegistrationInProgress"
    service = lab.describe()
    assert (service["runningCount"], service["pendingCount"]) == (3, 0)
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    lab.advance(30)  # interval 10 s x healthy threshold 3
    assert {h["TargetHealth"]["State"] for h in lab.health(group)} == {"healthy"}
    service = lab.describe()
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert "(service web) has reached a steady state." in lab.events()
    cluster = lab.ecs.describe_clusters(clusters=["web"])["clusters"][0]
    assert (cluster["runningTasksCount"], cluster["activeServicesCount"]) == (3, 1)


def test_fixed_host_port_fits_one_task_per_instance(lab: Lab) -> None:
    lab.add_instances(2)
    lab.task_definition(family="fixed", host_port=80)
    lab.service(name="fixed", desired=4, task_definition="fixed")
    lab.advance(15)
    service = lab.describe("fixed")
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (4, 2, 0)
    tasks = lab.tasks("fixed")
    assert len({t["containerInstanceArn"] for t in tasks}) == 2
    assert {_bindings(t)[0]["hostPort"] for t in tasks} == {80}
    unplaced = [m for m in lab.events("fixed") if "was unable to place a task" in m]
    assert unplaced
    assert unplaced[0].startswith("service fixed was unable to place a task because no "
                                  "container instance met all of its requirements.")
    assert "is already using a port required by your task" in unplaced[0]
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"


def test_run_task_uses_dynamic_ports_and_reports_failures_like_aws(lab: Lab) -> None:
    lab.ecs.create_cluster(clusterName="empty")
    lab.task_definition()
    with pytest.raises(ClientError) as caught:
        lab.ecs.run_task(cluster="empty", taskDefinition="web")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert caught.value.response["Error"]["Message"] == (
        "No Container Instances were found in your cluster.")

    lab.add_instances(1)
    run = lab.ecs.run_task(cluster="web", taskDefinition="web", count=2)
    assert run["failures"] == []
    ports = sorted(_bindings(t)[0]["hostPort"] for t in run["tasks"])
    assert ports == [32768, 32769]
    assert {t["lastStatus"] for t in run["tasks"]} == {"PENDING"}

    lab.task_definition(family="fixed", host_port=8080)
    assert len(lab.ecs.run_task(cluster="web", taskDefinition="fixed")["tasks"]) == 1
    again = lab.ecs.run_task(cluster="web", taskDefinition="fixed")
    assert again["tasks"] == []
    assert again["failures"] == [{"arn": lab.container_instances[0],
                                  "reason": "RESOURCE:PORTS"}]
    lab.task_definition(family="huge", memory=100_000)
    huge = lab.ecs.run_task(cluster="web", taskDefinition="huge")
    assert huge["failures"][0]["reason"] == "RESOURCE:MEMORY"

    instance = lab.ecs.describe_container_instances(
        cluster="web", containerInstances=lab.container_instances)["containerInstances"][0]
    registered = {r["name"]: r for r in instance["registeredResources"]}
    remaining = {r["name"]: r for r in instance["remainingResources"]}
    assert remaining["MEMORY"]["integerValue"] == registered["MEMORY"]["integerValue"] - 3 * 256
    assert "8080" in remaining["PORTS"]["stringSetValue"]
    assert instance["pendingTasksCount"] == 3

    stopped = lab.ecs.stop_task(cluster="web", task=run["tasks"][0]["taskArn"],
                                reason="done")["task"]
    assert (stopped["desiredStatus"], stopped["stoppedReason"]) == ("STOPPED", "done")
    assert len(lab.tasks(service=None)) == 2
    assert len(lab.tasks(service=None, status="STOPPED")) == 1


def test_scaling_in_stops_the_newest_tasks_and_drains_their_targets(lab: Lab) -> None:
    lab.add_instances(2)
    lab.allow_from_alb()
    group = lab.load_balancer(delay=30)
    lab.task_definition()
    lab.service(desired=2, target_group=group)
    lab.advance(40)
    first = {t["taskArn"] for t in lab.tasks()}
    lab.ecs.update_service(cluster="web", service="web", desiredCount=3)
    lab.advance(40)
    newest = {t["taskArn"] for t in lab.tasks()} - first
    assert len(newest) == 1 and lab.describe()["runningCount"] == 3

    updated = lab.ecs.update_service(cluster="web", service="web", desiredCount=2)["service"]
    assert updated["desiredCount"] == 2
    (stopping,) = lab.ecs.describe_tasks(cluster="web", tasks=list(newest))["tasks"]
    assert stopping["desiredStatus"] == "STOPPED"
    assert stopping["lastStatus"] == "DEACTIVATING"
    assert stopping["stoppedReason"].startswith("Scaling activity initiated by (deployment ")
    assert {t["taskArn"] for t in lab.tasks()} == first
    states = [h["TargetHealth"]["State"] for h in lab.health(group)]
    assert sorted(states) == ["draining", "healthy", "healthy"]

    lab.advance(30)  # the deregistration delay
    (stopped,) = lab.ecs.describe_tasks(cluster="web", tasks=list(newest))["tasks"]
    assert stopped["lastStatus"] == "STOPPED" and stopped.get("stoppedAt")
    assert [h["TargetHealth"]["State"] for h in lab.health(group)] == ["healthy", "healthy"]
    assert lab.describe()["runningCount"] == 2


def test_new_revision_rolls_out_and_services_stable_returns(lab: Lab) -> None:
    lab.add_instances(2)
    lab.allow_from_alb()
    group = lab.load_balancer(delay=20)
    lab.task_definition(image="nginx:1.25")
    lab.service(desired=2, target_group=group,
                deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50})
    lab.advance(40)
    assert lab.describe()["deployments"][0]["rolloutState"] == "COMPLETED"

    revision = lab.task_definition(image="nginx:1.27")
    updated = lab.ecs.update_service(cluster="web", service="web",
                                     taskDefinition="web")["service"]
    assert [(d["status"], d["taskDefinition"]) for d in updated["deployments"]] == [
        ("PRIMARY", revision), ("ACTIVE", revision.replace(":2", ":1"))]
    assert updated["taskDefinition"] == revision
    assert updated["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    most = 0
    for _ in range(30):
        live = lab.tasks()
        most = max(most, len([t for t in live if t["lastStatus"] in ("PENDING", "RUNNING")]))
        service = lab.describe()
        if len(service["deployments"]) == 1 and service["runningCount"] == 2:
            break
        lab.advance(5)
    assert most <= 3  # maximumPercent 150 of 2
    service = lab.describe()
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY"]
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert {t["taskDefinitionArn"] for t in lab.tasks()} == {revision}
    events = lab.events()
    assert events[0] == "(service web) has reached a steady state."
    assert any("deployment completed." in e for e in events)
    waiter = lab.ecs.get_waiter("services_stable")
    waiter.wait(cluster="web", services=["web"], WaiterConfig={"Delay": 1, "MaxAttempts": 2})

    old = lab.tasks(status="STOPPED")
    assert len(old) == 2
    assert all(t["stoppedReason"].startswith("Scaling activity initiated by (deployment ")
               for t in old)


def test_circuit_breaker_rolls_back_a_revision_that_fails_health_checks(lab: Lab) -> None:
    lab.add_instances(2)
    lab.allow_from_alb()
    group = lab.load_balancer(path="/health", interval=5, healthy=2, unhealthy=2, delay=5)
    first = lab.task_definition()
    lab.service(desired=2, target_group=group, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200, "minimumHealthyPercent": 100})
    lab.advance(20)
    assert lab.describe()["deployments"][0]["rolloutState"] == "COMPLETED"

    broken = lab.task_definition(environment={"HEALTH_PATH": "/ready"})  # /health now 404s
    lab.ecs.update_service(cluster="web", service="web", taskDefinition="web")
    failed = None
    for _ in range(40):
        lab.advance(5)
        deployments = lab.describe()["deployments"]
        failed = next((d for d in deployments if d["rolloutState"] == "FAILED"), None)
        if failed:
            break
    assert failed is not None and failed["taskDefinition"] == broken
    assert failed["failedTasks"] >= 3
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert lab.describe()["taskDefinition"] == first
    assert lab.describe()["runningCount"] >= 2  # minimumHealthyPercent kept the old tasks
    for _ in range(30):
        service = lab.describe()
        if len(service["deployments"]) == 1 and service["runningCount"] == 2:
            break
        lab.advance(5)
    (primary,) = lab.describe()["deployments"]
    assert (primary["taskDefinition"], primary["rolloutState"]) == (first, "COMPLETED")
    assert {t["taskDefinitionArn"] for t in lab.tasks()} == {first}


def test_service_keeps_what_moto_drops_and_binpacks_when_asked(lab: Lab) -> None:
    lab.add_instances(2)
    lab.task_definition()
    created = lab.service(desired=3, deploymentConfiguration={"maximumPercent": 100,
                                                              "minimumHealthyPercent": 0},
                          placementStrategy=[{"type": "binpack", "field": "memory"}])
    assert created["deploymentConfiguration"]["maximumPercent"] == 100
    assert created["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    assert created["placementStrategy"] == [{"type": "binpack", "field": "memory"}]
    lab.advance(10)
    assert len({t["containerInstanceArn"] for t in lab.tasks()}) == 1  # packed on one

    described = lab.describe()
    assert described["placementStrategy"] == [{"type": "binpack", "field": "memory"}]
    assert described["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": False, "rollback": False}
    lab.ecs.update_service(cluster="web", service="web",
                           deploymentConfiguration={"minimumHealthyPercent": 50})
    configuration = lab.describe()["deploymentConfiguration"]
    assert (configuration["maximumPercent"], configuration["minimumHealthyPercent"]) == (100, 50)

    lab.service(name="spread", desired=2)  # the default: spread over Availability Zones
    lab.advance(10)
    assert len({t["containerInstanceArn"] for t in lab.tasks("spread")}) == 2


def test_list_tasks_filters_by_service_name(lab: Lab) -> None:
    lab.add_instances(1)
    lab.task_definition()
    lab.service(name="api", desired=2)
    lab.service(name="worker", desired=1)
    lab.ecs.run_task(cluster="web", taskDefinition="web")
    lab.advance(10)
    api = lab.ecs.list_tasks(cluster="web", serviceName="api")["taskArns"]
    worker = lab.ecs.list_tasks(cluster="web", serviceName="worker")["taskArns"]
    everything = lab.ecs.list_tasks(cluster="web")["taskArns"]
    assert (len(api), len(worker), len(everything)) == (2, 1, 4)
    assert not set(api) & set(worker)
    described = lab.ecs.describe_tasks(cluster="web", tasks=api)["tasks"]
    assert {t["group"] for t in described} == {"service:api"}


def test_tasks_stop_with_their_instance_and_move_elsewhere(lab: Lab) -> None:
    lab.add_instances(2)
    lab.task_definition()
    lab.service(desired=2)
    lab.advance(10)
    doomed = lab.tasks()[0]
    index = lab.container_instances.index(doomed["containerInstanceArn"])
    lab.ec2.terminate_instances(InstanceIds=[lab.instances[index]])
    lab.advance(15)
    (gone,) = lab.ecs.describe_tasks(cluster="web", tasks=[doomed["taskArn"]])["tasks"]
    assert gone["lastStatus"] == "STOPPED"
    assert gone["stoppedReason"] == f"Host EC2 (instance {lab.instances[index]}) terminated."
    tasks = lab.tasks()
    assert len(tasks) == 2 and {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert {t["containerInstanceArn"] for t in tasks} == {lab.container_instances[1 - index]}


def test_fargate_service_registers_task_addresses_in_an_ip_target_group(lab: Lab) -> None:
    tasks_sg = lab.security_group("tasks")
    lab.ec2.authorize_security_group_ingress(GroupId=tasks_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "UserIdGroupPairs": [{"GroupId": lab.alb_sg}]}])
    alb = lab.elbv2.create_load_balancer(Name="api", Subnets=lab.subnets,
                                         SecurityGroups=[lab.alb_sg])["LoadBalancers"][0]
    group = lab.elbv2.create_target_group(
        Name="api", Protocol="HTTP", Port=8080, VpcId=lab.vpc, TargetType="ip",
        HealthCheckIntervalSeconds=10, HealthyThresholdCount=2)["TargetGroups"][0][
        "TargetGroupArn"]
    lab.elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    lab.ecs.register_task_definition(
        family="api", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
        memory="512", containerDefinitions=[{"name": "app", "image": "api",
                                             "portMappings": [{"containerPort": 8080}]}])
    network = {"awsvpcConfiguration": {"subnets": lab.subnets, "securityGroups": [tasks_sg],
                                       "assignPublicIp": "DISABLED"}}
    assert _refused(lambda: lab.service(name="api", task_definition="api", desired=2,
                                        launchType="FARGATE")) == (
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    lab.ecs.create_service(cluster="web", serviceName="api", taskDefinition="api",
                           desiredCount=2, launchType="FARGATE", networkConfiguration=network,
                           loadBalancers=[{"targetGroupArn": group, "containerName": "app",
                                           "containerPort": 8080}])
    lab.advance(10)
    tasks = lab.tasks("api")
    assert {(t["lastStatus"], t["launchType"]) for t in tasks} == {("RUNNING", "FARGATE")}
    assert {t["availabilityZone"] for t in tasks} == {"us-east-1a", "us-east-1b"}
    addresses = {d["value"] for t in tasks for d in t["attachments"][0]["details"]
                 if d["name"] == "privateIPv4Address"}
    assert {a.rsplit(".", 1)[0] for a in addresses} == {"10.0.1", "10.0.2"}
    assert {(h["Target"]["Id"], h["Target"]["Port"]) for h in lab.health(group)} == {
        (a, 8080) for a in addresses}
    lab.advance(20)
    assert {h["TargetHealth"]["State"] for h in lab.health(group)} == {"healthy"}
    assert lab.describe("api")["runningCount"] == 2


# --- what AWS refuses ----------------------------------------------------------------------


def _refused(call: Any, code: str = "InvalidParameterException") -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


@pytest.mark.parametrize(("container", "port", "message"), [
    ("web", 80, "The container web does not exist in the task definition."),
    ("app", 8080, "The container app did not have a container port 8080 defined."),
])
def test_load_balancer_must_name_a_container_and_port_of_the_task_definition(
        lab: Lab, container: str, port: int, message: str) -> None:
    group = lab.load_balancer()
    lab.task_definition()
    balancers = [{"targetGroupArn": group, "containerName": container, "containerPort": port}]
    assert _refused(lambda: lab.service(loadBalancers=balancers)) == message
    assert lab.ecs.list_services(cluster="web")["serviceArns"] == []


def test_target_group_must_have_a_load_balancer(lab: Lab) -> None:
    group = lab.load_balancer(listener=False)
    lab.task_definition()
    message = _refused(lambda: lab.service(target_group=group))
    assert message == (f"The target group with targetGroupArn {group} does not have an "
                       f"associated load balancer.")


def test_awsvpc_needs_host_port_equal_to_container_port(lab: Lab) -> None:
    message = _refused(lambda: lab.task_definition(network_mode="awsvpc", host_port=0),
                       code="ClientException")
    assert message == ("When networkMode=awsvpc, the host ports and container ports in port "
                       "mappings must match.")
    lab.task_definition(network_mode="awsvpc", host_port=80)
    lab.task_definition(network_mode="awsvpc", host_port=None)


def test_fargate_needs_task_level_cpu_and_memory(lab: Lab) -> None:
    container = {"name": "app", "image": "nginx", "memory": 512,
                 "portMappings": [{"containerPort": 80}]}

    def register(**extra: Any) -> Any:
        return lab.ecs.register_task_definition(
            family="fargate", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
            containerDefinitions=[container], **extra)

    assert _refused(register, code="ClientException") == (
        "Fargate requires that 'cpu' be defined at the task level.")
    assert _refused(lambda: register(cpu="256"), code="ClientException") == (
        "Fargate requires that 'memory' be defined at the task level.")
    assert register(cpu="256", memory="512")["taskDefinition"]["compatibilities"] == [
        "EC2", "FARGATE"]
    lab.task_definition(family="ec2only")
    assert _refused(lambda: lab.service(task_definition="ec2only", launchType="FARGATE")) == (
        "Task definition does not support launch_type FARGATE.")


def test_capacity_provider_needs_an_existing_auto_scaling_group(lab: Lab) -> None:
    missing = ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
               "11111111-2222-3333-4444-555555555555:autoScalingGroupName/nope")
    message = _refused(lambda: lab.ecs.create_capacity_provider(
        name="cp", autoScalingGroupProvider={"autoScalingGroupArn": missing}))
    assert missing in message
    lab.autoscaling.create_launch_configuration(LaunchConfigurationName="lc",
                                                ImageId=lab.ami(), InstanceType="t3.micro")
    lab.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg", LaunchConfigurationName="lc", MinSize=0, MaxSize=2,
        VPCZoneIdentifier=",".join(lab.subnets))
    arn = lab.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["asg"])[
        "AutoScalingGroups"][0]["AutoScalingGroupARN"]
    created = lab.ecs.create_capacity_provider(
        name="cp", autoScalingGroupProvider={"autoScalingGroupArn": arn})
    assert created["capacityProvider"]["status"] == "ACTIVE"
