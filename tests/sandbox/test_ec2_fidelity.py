"""Launch template versions, Auto Scaling terminations, service-linked role deletion and
scheduled-action cron rules answer as the AWS API reference says (moto 5.2.5 did not, or
crashed). Each test names the page. Everything goes over HTTP to the per-worker sandbox."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from cloudkata.targets import Target
from tests.sandbox.test_api_fidelity import client, refused
from tests.sandbox.test_ec2_autoscaling import Aws, clients, group_instances, two_subnets

IMAGE = "ami-12c6146b"
OTHER_IMAGE = "ami-0123456789abcdef0"
FIRST_SCRIPT = "#!/bin/bash\necho first > /tmp/version"
SECOND_SCRIPT = "#!/bin/bash\necho second > /tmp/version"


def encoded(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


@pytest.fixture
def aws(sandbox: Target) -> Aws:
    return clients(sandbox)


def first_version(aws: Aws, name: str = "kata-lt") -> str:
    aws.ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
        "ImageId": IMAGE, "InstanceType": "t3.small", "UserData": encoded(FIRST_SCRIPT),
        "TagSpecifications": [{"ResourceType": "instance",
                               "Tags": [{"Key": "team", "Value": "kata"}]}]})
    return name


def user_data(aws: Aws, instance_id: str) -> str:
    value = aws.ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")[
        "UserData"]["Value"]
    return base64.b64decode(value).decode()


def asg(aws: Aws, subnets: tuple[str, ...], *, version: str, desired: int, min_size: int = 0,
        name: str = "kata-asg") -> str:
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, MinSize=min_size, MaxSize=4, DesiredCapacity=desired,
        LaunchTemplate={"LaunchTemplateName": "kata-lt", "Version": version},
        VPCZoneIdentifier=",".join(subnets))
    return name


def members(aws: Aws, name: str = "kata-asg") -> tuple[int, list[str]]:
    found = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"][0]
    return found["DesiredCapacity"], sorted(i["InstanceId"] for i in found["Instances"])


def state(aws: Aws, instance_id: str) -> str:
    reservations = aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


# --- 1. CreateLaunchTemplateVersion --source-version ------------------------------------------


def test_a_new_version_inherits_its_source_versions_parameters(aws: Aws) -> None:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplateVersion.html
    SourceVersion: "the new version inherits the launch parameters from the source version. If
    you specify additional launch parameters for the new version, they overwrite any
    corresponding launch parameters inherited from the source version. If you omit this
    parameter, the new version contains only the launch parameters that you specify." (moto
    ignored SourceVersion.)"""
    first_version(aws)
    created = aws.ec2.create_launch_template_version(
        LaunchTemplateName="kata-lt", SourceVersion="1", VersionDescription="new AMI",
        LaunchTemplateData={"ImageId": OTHER_IMAGE})["LaunchTemplateVersion"]
    assert created["VersionNumber"] == 2 and created["DefaultVersion"] is False
    data = created["LaunchTemplateData"]
    assert data["ImageId"] == OTHER_IMAGE
    assert data["InstanceType"] == "t3.small"
    assert data["UserData"] == encoded(FIRST_SCRIPT)
    assert data["TagSpecifications"][0]["Tags"] == [{"Key": "team", "Value": "kata"}]

    alone = aws.ec2.create_launch_template_version(
        LaunchTemplateName="kata-lt", LaunchTemplateData={"ImageId": OTHER_IMAGE})
    assert alone["LaunchTemplateVersion"]["LaunchTemplateData"] == {"ImageId": OTHER_IMAGE}

    versions = {v["VersionNumber"]: v["LaunchTemplateData"] for v in
                aws.ec2.describe_launch_template_versions(LaunchTemplateName="kata-lt")[
                    "LaunchTemplateVersions"]}
    assert versions[2] == data
    assert versions[1]["ImageId"] == IMAGE  # the source itself is unchanged

    error = refused(aws.ec2.create_launch_template_version, LaunchTemplateName="kata-lt",
                    SourceVersion="9", LaunchTemplateData={"ImageId": OTHER_IMAGE})
    template_id = created["LaunchTemplateId"]
    assert error["Code"] == "InvalidLaunchTemplateId.VersionNotFound"
    assert error["Message"] == (
        f"Could not find the specified version 9 for the launch template with ID {template_id}.")


# --- 2. Auto Scaling launches from a version with UserData ------------------------------------


def test_a_group_launches_from_a_new_version_with_its_user_data(aws: Aws) -> None:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RequestLaunchTemplateData.html
    UserData, base64: the group's instances run their launch template version's user data
    (moto crashed on an assertion for a version made by CreateLaunchTemplateVersion)."""
    first_version(aws)
    aws.ec2.create_launch_template_version(
        LaunchTemplateName="kata-lt", SourceVersion="1",
        LaunchTemplateData={"UserData": encoded(SECOND_SCRIPT)})
    asg(aws, two_subnets(aws), version="2", desired=1)
    (instance,) = group_instances(aws)
    assert user_data(aws, instance["InstanceId"]) == SECOND_SCRIPT
    assert instance["ImageId"] == IMAGE and instance["InstanceType"] == "t3.small"

    error = refused(aws.ec2.create_launch_template_version, LaunchTemplateName="kata-lt",
                    LaunchTemplateData={"UserData": "not base64!"})
    assert error["Code"] == "InvalidUserData.Malformed"


def test_an_instance_refresh_rolls_the_group_onto_the_new_user_data(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html
    The refresh replaces the instances from the group's launch template version ($Latest
    here), so the new instance runs version 2's user data (moto crashed, and the group was
    left with no instance)."""
    first_version(aws)
    asg(aws, two_subnets(aws), version="$Latest", desired=1)
    (old,) = group_instances(aws)
    assert user_data(aws, old["InstanceId"]) == FIRST_SCRIPT
    aws.ec2.create_launch_template_version(
        LaunchTemplateName="kata-lt", LaunchTemplateData={
            "ImageId": IMAGE, "InstanceType": "t3.small", "UserData": encoded(SECOND_SCRIPT)})
    aws.autoscaling.start_instance_refresh(AutoScalingGroupName="kata-asg")
    (new,) = group_instances(aws)
    assert new["InstanceId"] != old["InstanceId"]
    assert user_data(aws, new["InstanceId"]) == SECOND_SCRIPT
    assert state(aws, old["InstanceId"]) == "terminated"


# --- 3. IAM DeleteServiceLinkedRole ----------------------------------------------------------


def test_a_service_linked_role_is_deleted_with_its_policy(aws: Aws) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteServiceLinkedRole.html
    The role is deleted with the policy its service attached (moto: DeleteConflict, "must
    detach all policies first"); the DeletionTaskId has the form
    task/aws-service-role/<service-principal-name>/<role-name>/<task-uuid>, and
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLinkedRoleDeletionStatus.html
    then says SUCCEEDED."""
    name = aws.iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")[
        "Role"]["RoleName"]
    assert name == "AWSServiceRoleForAutoScaling"
    assert aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]

    task = aws.iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    prefix = "task/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling/"
    assert task.startswith(prefix) and len(task) > len(prefix)
    status = aws.iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "SUCCEEDED"
    assert refused(aws.iam.get_role, RoleName=name)["Code"] == "NoSuchEntity"
    # the service may make it again
    aws.iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")

    assert refused(aws.iam.delete_service_linked_role,
                   RoleName="AWSServiceRoleForNothing")["Code"] == "NoSuchEntity"


# --- 4. TerminateInstanceInAutoScalingGroup ---------------------------------------------------


def activity_ids(aws: Aws) -> list[str]:
    return [a["ActivityId"] for a in aws.autoscaling.describe_scaling_activities(
        AutoScalingGroupName="kata-asg")["Activities"]]


def test_terminating_each_instance_with_decrement_shrinks_the_group(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html
    With ShouldDecrementDesiredCapacity the group shrinks by one per instance, and the answer
    is the termination's activity (moto raised StopIteration for an instance no group
    manages; AWS: ValidationError "Instance Id not found - ...")."""
    first_version(aws)
    asg(aws, two_subnets(aws), version="1", desired=2)
    first, second = members(aws)[1]

    answer = aws.autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=first, ShouldDecrementDesiredCapacity=True)["Activity"]
    assert answer["Description"] == f"Terminating EC2 instance: {first}"
    assert answer["Cause"].endswith(
        f"instance {first} was taken out of service in response to a user request, shrinking "
        "the capacity from 2 to 1.")
    assert answer["Cause"].startswith("At 20") and answer["StatusCode"] == "InProgress"
    assert answer["AutoScalingGroupName"] == "kata-asg"
    assert members(aws) == (1, [second])
    assert state(aws, first) == "terminated"
    assert activity_ids(aws)[0] == answer["ActivityId"]

    answer = aws.autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=second, ShouldDecrementDesiredCapacity=True)["Activity"]
    assert answer["Cause"].endswith("shrinking the capacity from 1 to 0.")
    assert members(aws) == (0, [])
    assert state(aws, second) == "terminated"

    error = refused(aws.autoscaling.terminate_instance_in_auto_scaling_group,
                    InstanceId=first, ShouldDecrementDesiredCapacity=True)
    assert error["Code"] == "ValidationError"
    assert error["Message"] == (
        f"Instance Id not found - No managed instance found for instance ID: {first}")


def test_terminating_each_instance_without_decrement_replaces_it(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html
    "If you do not specify the option to decrement the desired capacity, Amazon EC2 Auto
    Scaling launches instances to replace the ones that are terminated." """
    first_version(aws)
    asg(aws, two_subnets(aws), version="1", desired=2)
    first, second = members(aws)[1]

    answer = aws.autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=first, ShouldDecrementDesiredCapacity=False)["Activity"]
    assert answer["Cause"].endswith(
        f"instance {first} was taken out of service in response to a user request.")
    desired, now = members(aws)
    assert desired == 2 and len(now) == 2 and second in now and first not in now
    (replacement,) = set(now) - {second}

    aws.autoscaling.terminate_instance_in_auto_scaling_group(
        InstanceId=second, ShouldDecrementDesiredCapacity=False)
    desired, now = members(aws)
    assert desired == 2 and len(now) == 2 and replacement in now and second not in now
    assert state(aws, first) == state(aws, second) == "terminated"
    activities = aws.autoscaling.describe_scaling_activities(
        AutoScalingGroupName="kata-asg")["Activities"]
    causes = [a["Cause"] for a in activities if a["Description"].startswith("Terminating")]
    assert all("in response to a user request." in cause for cause in causes)
    assert len(causes) == 2


def test_decrementing_below_the_minimum_is_refused(aws: Aws) -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_TerminateInstanceInAutoScalingGroup.html
    At MinSize AWS refuses to decrement (ValidationError), rather than shrinking the group
    (moto) or launching a replacement while saying it shrank."""
    first_version(aws)
    asg(aws, two_subnets(aws), version="1", desired=2, min_size=2)
    before = members(aws)
    error = refused(aws.autoscaling.terminate_instance_in_auto_scaling_group,
                    InstanceId=before[1][0], ShouldDecrementDesiredCapacity=True)
    assert error == {"Type": "Sender", "Code": "ValidationError", "Message": (
        "Currently, desiredSize equals minSize (2). Terminating instance without replacement "
        "will violate group's min size constraint. Either set shouldDecrementDesiredCapacity "
        "flag to false or lower group's min size.")}
    assert members(aws) == before


# --- 5. Application Auto Scaling cron day fields ----------------------------------------------


def scalable_service(sandbox: Target, aws: Aws) -> Any:
    aws.ecs.create_cluster(clusterName="kata")
    aws.ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "web", "image": "nginx", "memory": 64}])
    aws.ecs.create_service(cluster="kata", serviceName="web", taskDefinition="web",
                           desiredCount=0)
    scaling = client(sandbox, "application-autoscaling")
    scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/kata/web",
                                     ScalableDimension="ecs:service:DesiredCount",
                                     MinCapacity=1, MaxCapacity=3)
    return scaling


@pytest.mark.parametrize(("schedule", "fixed"), [
    ("cron(0 8 * * MON-FRI *)", "cron(0 8 ? * MON-FRI *)"),
    ("cron(0 8 1 * * *)", "cron(0 8 1 * ? *)"),
    ("cron(0 8 ? * ? *)", "cron(0 8 * * ? *)"),
])
def test_a_cron_schedule_needs_a_question_mark_in_one_day_field(
        sandbox: Target, aws: Aws, schedule: str, fixed: str) -> None:
    """https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html
    with the cron rules of https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html:
    "You can't specify the Day-of-month and Day-of-week fields in the same cron expression. If
    you specify a value or a * (asterisk) in one of the fields, you must use a ? (question
    mark) in the other." AWS: ValidationException, "Invalid schedule expression. Details:
    Invalid CRON expression: ..." (the sandbox stored it and fired it)."""
    scaling = scalable_service(sandbox, aws)
    action = {"ServiceNamespace": "ecs", "ResourceId": "service/kata/web",
              "ScalableDimension": "ecs:service:DesiredCount", "ScheduledActionName": "morning",
              "ScalableTargetAction": {"MinCapacity": 2}}
    error = refused(scaling.put_scheduled_action, Schedule=schedule, **action)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(
        "Invalid schedule expression. Details: Invalid CRON expression: ")
    assert error["Message"].endswith(f"e.g. {fixed}.")
    assert not scaling.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]

    scaling.put_scheduled_action(Schedule=fixed, **action)
    (stored,) = scaling.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    assert stored["Schedule"] == fixed
