"""IAM checks against the real sandbox: each passes on the right state and fails, naming the
resource and the cause, on the wrong one."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest

from cloudkata.checks import Result, Status, get
from cloudkata.checks.iam import managed_policy_problem
from cloudkata.engine import check_step
from cloudkata.labs import Catalogue, Step, resolve
from cloudkata.targets import Target

EC2_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
BUCKET = "arn:aws:s3:::kata-assets"


def trust(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                       "Action": "sts:AssumeRole"}],
    })


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def iam(sandbox: Target) -> Any:
    return boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def run(sandbox: Target, check_id: str, **params: Any) -> Result:
    """Run a registered check exactly as a lab would: validated params, read-only session."""
    spec = get(check_id)
    return spec.function(sandbox.read_only(), spec.params.model_validate(params))


def lab_step(lab_id: str, step_id: str) -> Step:
    """A real lab's step with its variables filled in, as a learner's session runs it."""
    lab = Catalogue.default().load(lab_id)
    resolved = resolve(lab, {**lab.variables, "region": "us-east-1",
                             "account_id": "123456789012", "workspace": "."})
    return resolved.step(step_id)


def make_role(iam: Any, name: str, service: str = "ec2.amazonaws.com") -> None:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))


# --- role_exists ---------------------------------------------------------------------------


def test_role_exists_passes_and_names_the_arn(sandbox: Target, iam: Any) -> None:
    make_role(iam, "app")
    result = run(sandbox, "iam.role_exists", role="app")
    assert result.status is Status.PASSED
    assert "arn:aws:iam::123456789012:role/app" in result.message


def test_role_exists_fails_for_a_missing_role(sandbox: Target) -> None:
    result = run(sandbox, "iam.role_exists", role="ghost")
    assert result.status is Status.FAILED
    assert "ghost" in result.message
    assert result.actual == "no such role"


# --- role_trusts_service -------------------------------------------------------------------


def test_trusts_service_passes(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole", "ec2.amazonaws.com")
    result = run(sandbox, "iam.role_trusts_service", role="ecsInstanceRole",
                 service="ec2.amazonaws.com")
    assert result.status is Status.PASSED
    assert "ecsInstanceRole" in result.message


def test_trusts_service_fails_when_it_trusts_another_service(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole", "ecs-tasks.amazonaws.com")
    result = run(sandbox, "iam.role_trusts_service", role="ecsInstanceRole",
                 service="ec2.amazonaws.com")
    assert result.status is Status.FAILED
    assert "ecsInstanceRole" in result.message
    assert "ec2.amazonaws.com" in result.message
    assert result.actual == "trusts ecs-tasks.amazonaws.com"


def test_trusts_service_fails_when_only_an_account_is_trusted(
    sandbox: Target, iam: Any
) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="human", AssumeRolePolicyDocument=document)
    result = run(sandbox, "iam.role_trusts_service", role="human", service="ec2.amazonaws.com")
    assert result.status is Status.FAILED
    assert result.actual == "trusts no AWS service"


def test_trusts_service_missing_role_names_roles_that_do_trust_it(
    sandbox: Target, iam: Any
) -> None:
    make_role(iam, "myEcsRole", "ec2.amazonaws.com")
    result = run(sandbox, "iam.role_trusts_service", role="ecsInstanceRole",
                 service="ec2.amazonaws.com")
    assert result.status is Status.FAILED
    assert "ecsInstanceRole does not exist" in result.message
    assert "myEcsRole" in result.message  # discovery: the learner used another name
    assert result.actual is not None and "myEcsRole" in result.actual


def test_trusts_service_missing_role_without_discovery(sandbox: Target) -> None:
    result = run(sandbox, "iam.role_trusts_service", role="ecsInstanceRole",
                 service="ec2.amazonaws.com")
    assert result.status is Status.FAILED
    assert result.message == "Role ecsInstanceRole does not exist."


# --- role_has_managed_policy ---------------------------------------------------------------


@pytest.mark.parametrize("wanted", ["AmazonEC2ContainerServiceforEC2Role", EC2_ROLE_POLICY])
def test_managed_policy_passes_by_name_or_arn(sandbox: Target, iam: Any, wanted: str) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=EC2_ROLE_POLICY)
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsInstanceRole", policy=wanted)
    assert result.status is Status.PASSED
    assert "AmazonEC2ContainerServiceforEC2Role" in result.message


def test_managed_policy_fails_when_not_attached(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsInstanceRole",
                 policy="AmazonEC2ContainerServiceforEC2Role")
    assert result.status is Status.FAILED
    assert "ecsInstanceRole" in result.message
    assert "AmazonEC2ContainerServiceforEC2Role" in result.message
    assert result.actual == "no managed policies attached"


def test_managed_policy_fails_naming_what_is_attached(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.attach_role_policy(
        RoleName="ecsInstanceRole",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsInstanceRole",
                 policy="AmazonEC2ContainerServiceforEC2Role")
    assert result.status is Status.FAILED
    assert result.actual == "attached: AmazonECSTaskExecutionRolePolicy"


EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


@pytest.mark.parametrize("wanted", [EXECUTION_POLICY,
                                    "service-role/AmazonECSTaskExecutionRolePolicy"])
def test_managed_policy_fails_naming_the_role_it_is_attached_to_instead(
        sandbox: Target, iam: Any, wanted: str) -> None:
    make_role(iam, "ecsTaskExecutionRole", "ecs-tasks.amazonaws.com")
    make_role(iam, "kata-app-task-role", "ecs-tasks.amazonaws.com")
    iam.attach_role_policy(RoleName="kata-app-task-role", PolicyArn=EXECUTION_POLICY)
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsTaskExecutionRole",
                 policy=wanted)
    assert result.status is Status.FAILED
    assert result.message.endswith("AmazonECSTaskExecutionRolePolicy attached; it is attached "
                                   "to role kata-app-task-role instead.")
    assert result.actual == ("no managed policies attached (the policy is attached to role "
                             "kata-app-task-role)")
    iam.attach_role_policy(RoleName="ecsTaskExecutionRole", PolicyArn=EXECUTION_POLICY)
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsTaskExecutionRole",
                 policy=wanted)
    assert result.status is Status.PASSED, result.message


LOOK_ALIKE = "arn:aws:iam::123456789012:policy/AmazonEC2ContainerServiceforEC2Role"


def attach_look_alike(iam: Any, role: str, *statements: dict[str, Any]) -> None:
    """A customer-managed policy that borrows the AWS managed policy's name."""
    iam.create_policy(PolicyName="AmazonEC2ContainerServiceforEC2Role",
                      PolicyDocument=policy(*statements or ({
                          "Effect": "Allow", "Action": "sts:GetCallerIdentity",
                          "Resource": "*"},)))
    iam.attach_role_policy(RoleName=role, PolicyArn=LOOK_ALIKE)


@pytest.mark.parametrize("wanted", ["AmazonEC2ContainerServiceforEC2Role", EC2_ROLE_POLICY])
def test_managed_policy_look_alike_customer_policy_fails(
    sandbox: Target, iam: Any, wanted: str
) -> None:
    """Regression: only the name was compared, so a policy of your own with the AWS name
    passed as the AWS managed policy."""
    make_role(iam, "ecsInstanceRole")
    attach_look_alike(iam, "ecsInstanceRole")
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsInstanceRole", policy=wanted)
    assert result.status is Status.FAILED
    assert result.message.startswith(
        "Role ecsInstanceRole has a customer-managed policy named "
        f"AmazonEC2ContainerServiceforEC2Role ({LOOK_ALIKE}), not the AWS managed policy ")
    assert result.actual == f"attached: {LOOK_ALIKE}"
    if wanted == EC2_ROLE_POLICY:
        assert result.message.endswith(f"not the AWS managed policy {EC2_ROLE_POLICY}.")
        assert result.expected == f"the AWS managed policy {EC2_ROLE_POLICY} attached"


def test_managed_policy_passes_next_to_a_look_alike(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    attach_look_alike(iam, "ecsInstanceRole")
    iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=EC2_ROLE_POLICY)
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsInstanceRole",
                 policy=EC2_ROLE_POLICY)
    assert result.status is Status.PASSED
    assert EC2_ROLE_POLICY in result.message


def test_managed_policy_compares_the_whole_arn_path_included(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=EC2_ROLE_POLICY)
    wrong_path = "arn:aws:iam::aws:policy/AmazonEC2ContainerServiceforEC2Role"
    result = run(sandbox, "iam.role_has_managed_policy", role="ecsInstanceRole",
                 policy=wrong_path)
    assert result.status is Status.FAILED
    assert f"an AWS managed policy at another path ({EC2_ROLE_POLICY})" in result.message
    assert result.expected == f"the AWS managed policy {wrong_path} attached"


@pytest.mark.parametrize(("attached", "wanted", "ok"), [
    ([EC2_ROLE_POLICY], EC2_ROLE_POLICY, True),
    ([EC2_ROLE_POLICY], "AmazonEC2ContainerServiceforEC2Role", True),
    ([EC2_ROLE_POLICY], "service-role/AmazonEC2ContainerServiceforEC2Role", True),
    ([EC2_ROLE_POLICY], "/service-role/AmazonEC2ContainerServiceforEC2Role", True),
    ([EC2_ROLE_POLICY], "job-function/AmazonEC2ContainerServiceforEC2Role", False),
    ([LOOK_ALIKE], "AmazonEC2ContainerServiceforEC2Role", False),
    ([LOOK_ALIKE], EC2_ROLE_POLICY, False),
    ([LOOK_ALIKE], LOOK_ALIKE, True),  # a lab may ask for a customer-managed policy by ARN
    (["arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2RoleV2"],
     EC2_ROLE_POLICY, False),
    ([], EC2_ROLE_POLICY, False),
])
def test_managed_policy_problem(attached: list[str], wanted: str, ok: bool) -> None:
    assert (managed_policy_problem(attached, wanted) is None) is ok


def test_look_alike_fails_the_instance_role_step(sandbox: Target, iam: Any) -> None:
    """The ecs-iam-roles lab's instance-role step, with a look-alike that even grants what the
    step's role_may_call asks for: only the managed-policy check can catch it, and does."""
    make_role(iam, "ecsInstanceRole")
    attach_look_alike(iam, "ecsInstanceRole", {
        "Effect": "Allow", "Resource": "*",
        "Action": ["ecs:RegisterContainerInstance", "logs:PutLogEvents", "ecr:BatchGetImage"]})
    iam.create_instance_profile(InstanceProfileName="ecsInstanceRole")
    iam.add_role_to_instance_profile(InstanceProfileName="ecsInstanceRole",
                                     RoleName="ecsInstanceRole")
    report = check_step(sandbox.read_only(), lab_step("ecs-iam-roles", "instance-role"))
    assert not report.passed
    failures = [r for r in report.results if r.status is not Status.PASSED]
    assert [r.check_id for r in failures] == ["iam.role_has_managed_policy"]
    assert "customer-managed policy named AmazonEC2ContainerServiceforEC2Role" \
        in failures[0].message
    assert EC2_ROLE_POLICY in failures[0].message


def test_the_instance_role_steps_solution_passes(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=EC2_ROLE_POLICY)
    iam.create_instance_profile(InstanceProfileName="ecsInstanceRole")
    iam.add_role_to_instance_profile(InstanceProfileName="ecsInstanceRole",
                                     RoleName="ecsInstanceRole")
    report = check_step(sandbox.read_only(), lab_step("ecs-iam-roles", "instance-role"))
    assert report.passed, [r.message for r in report.results]


def test_managed_policy_fails_for_a_missing_role(sandbox: Target) -> None:
    result = run(sandbox, "iam.role_has_managed_policy", role="ghost",
                 policy="AmazonEC2ContainerServiceforEC2Role")
    assert result.status is Status.FAILED
    assert "ghost does not exist" in result.message


# --- instance_profile_contains_role --------------------------------------------------------


def test_instance_profile_passes(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.create_instance_profile(InstanceProfileName="ecsProfile")
    iam.add_role_to_instance_profile(InstanceProfileName="ecsProfile", RoleName="ecsInstanceRole")
    result = run(sandbox, "iam.instance_profile_contains_role", profile="ecsProfile",
                 role="ecsInstanceRole")
    assert result.status is Status.PASSED
    assert "ecsProfile" in result.message and "ecsInstanceRole" in result.message


def test_instance_profile_missing(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    result = run(sandbox, "iam.instance_profile_contains_role", profile="ecsProfile",
                 role="ecsInstanceRole")
    assert result.status is Status.FAILED
    assert "Instance profile ecsProfile does not exist" in result.message
    assert result.actual == "no such profile"


def test_instance_profile_empty(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.create_instance_profile(InstanceProfileName="ecsProfile")
    result = run(sandbox, "iam.instance_profile_contains_role", profile="ecsProfile",
                 role="ecsInstanceRole")
    assert result.status is Status.FAILED
    assert "ecsProfile" in result.message and "ecsInstanceRole" in result.message
    assert result.actual == "the profile holds no role"


def test_instance_profile_holding_another_role(sandbox: Target, iam: Any) -> None:
    make_role(iam, "other")
    iam.create_instance_profile(InstanceProfileName="ecsProfile")
    iam.add_role_to_instance_profile(InstanceProfileName="ecsProfile", RoleName="other")
    result = run(sandbox, "iam.instance_profile_contains_role", profile="ecsProfile",
                 role="ecsInstanceRole")
    assert result.status is Status.FAILED
    assert result.actual == "holds other"


# --- service_linked_role_present -----------------------------------------------------------


def test_service_linked_role_passes(sandbox: Target, iam: Any) -> None:
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    result = run(sandbox, "iam.service_linked_role_present", service="ecs.amazonaws.com",
                 name="AWSServiceRoleForECS")
    assert result.status is Status.PASSED
    assert "AWSServiceRoleForECS" in result.message


def test_service_linked_role_missing(sandbox: Target, iam: Any) -> None:
    result = run(sandbox, "iam.service_linked_role_present", service="ecs.amazonaws.com",
                 name="AWSServiceRoleForECS")
    assert result.status is Status.FAILED
    assert result.message == ("The service-linked role AWSServiceRoleForECS for "
                              "ecs.amazonaws.com does not exist.")
    assert result.actual == "no service-linked role for it"


def test_service_linked_role_an_ordinary_role_with_its_name_is_not_it(
        sandbox: Target, iam: Any) -> None:
    # A role merely *named* like the SLR, outside the service-role path, is not the SLR.
    make_role(iam, "AWSServiceRoleForECS", "ecs.amazonaws.com")
    result = run(sandbox, "iam.service_linked_role_present", service="ecs.amazonaws.com",
                 name="AWSServiceRoleForECS")
    assert result.status is Status.FAILED
    assert result.message.startswith("Role AWSServiceRoleForECS exists at path /, so it is an "
                                     "ordinary role made with create-role")
    assert "create-service-linked-role --aws-service-name ecs.amazonaws.com" in result.message
    assert result.actual == "an ordinary role AWSServiceRoleForECS at path /"


def test_service_linked_role_missing_names_other_services_roles(
        sandbox: Target, iam: Any) -> None:
    iam.create_service_linked_role(AWSServiceName="ecs.application-autoscaling.amazonaws.com")
    result = run(sandbox, "iam.service_linked_role_present", service="ecs.amazonaws.com",
                 name="AWSServiceRoleForECS")
    assert result.status is Status.FAILED
    assert result.message == (
        "The service-linked role AWSServiceRoleForECS for ecs.amazonaws.com does not exist; "
        "the service-linked roles here are for other services: "
        "AWSServiceRoleForApplicationAutoScaling_ECSService (for "
        "ecs.application-autoscaling.amazonaws.com).")


def test_service_linked_role_with_another_name(sandbox: Target, iam: Any) -> None:
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com", CustomSuffix="x")
    result = run(sandbox, "iam.service_linked_role_present", service="ecs.amazonaws.com",
                 name="AWSServiceRoleForECS")
    assert result.status is Status.FAILED
    assert result.actual == "found AWSServiceRoleForECS_x"


# --- role_may_call -------------------------------------------------------------------------


def test_may_call_allowed_by_managed_policy(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=EC2_ROLE_POLICY)
    result = run(sandbox, "iam.role_may_call", role="ecsInstanceRole",
                 actions=["ecs:RegisterContainerInstance", "logs:PutLogEvents"])
    assert result.status is Status.PASSED
    assert "ecs:RegisterContainerInstance" in result.message


def test_may_call_refused_by_an_explicit_deny(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    iam.attach_role_policy(RoleName="ecsInstanceRole", PolicyArn=EC2_ROLE_POLICY)
    iam.put_role_policy(RoleName="ecsInstanceRole", PolicyName="no-register",
                        PolicyDocument=policy({"Sid": "NoRegister", "Effect": "Deny",
                                               "Action": "ecs:Register*", "Resource": "*"}))
    result = run(sandbox, "iam.role_may_call", role="ecsInstanceRole",
                 actions=["ecs:RegisterContainerInstance", "logs:PutLogEvents"])
    assert result.status is Status.FAILED
    assert "ecs:RegisterContainerInstance explicitly denied" in result.message
    assert "no-register" in result.message and "NoRegister" in result.message
    assert "logs:PutLogEvents" not in result.message  # that one is allowed


def test_may_call_refused_without_policies(sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsInstanceRole")
    result = run(sandbox, "iam.role_may_call", role="ecsInstanceRole",
                 actions=["ecs:RegisterContainerInstance"])
    assert result.status is Status.FAILED
    assert "ecsInstanceRole" in result.message
    assert "ecs:RegisterContainerInstance not allowed" in result.message
    assert result.actual == "the role has no policies"


def test_may_call_says_plainly_which_actions_no_statement_allows(
        sandbox: Target, iam: Any) -> None:
    make_role(iam, "ecsTaskExecutionRole", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="pull-images",
                        PolicyDocument=policy({"Effect": "Allow", "Resource": "*",
                                               "Action": ["ecr:GetAuthorizationToken",
                                                          "ecr:BatchGetImage"]}))
    result = run(sandbox, "iam.role_may_call", role="ecsTaskExecutionRole",
                 actions=["ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"])
    assert result.status is Status.FAILED
    assert result.message == (
        "Role ecsTaskExecutionRole may not call what it needs: logs:CreateLogStream, "
        "logs:PutLogEvents not allowed (no statement of its policies allows them).")


def test_may_call_scoped_to_a_resource(sandbox: Target, iam: Any) -> None:
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="task", PolicyName="read",
                        PolicyDocument=policy({"Effect": "Allow", "Action": "s3:GetObject",
                                               "Resource": f"{BUCKET}/*"}))
    inside = run(sandbox, "iam.role_may_call", role="task", actions=["s3:GetObject"],
                 resource=f"{BUCKET}/reports/latest.json")
    outside = run(sandbox, "iam.role_may_call", role="task", actions=["s3:GetObject"],
                  resource="arn:aws:s3:::other-bucket/x")
    assert inside.status is Status.PASSED
    assert outside.status is Status.FAILED
    assert "arn:aws:s3:::other-bucket/x" in outside.message


def test_may_call_missing_role(sandbox: Target) -> None:
    result = run(sandbox, "iam.role_may_call", role="ghost", actions=["s3:GetObject"])
    assert result.status is Status.FAILED
    assert "ghost does not exist" in result.message


# --- role_least_privilege ------------------------------------------------------------------


def test_least_privilege_passes_for_a_tight_policy(sandbox: Target, iam: Any) -> None:
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="task", PolicyName="read", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET},
    ))
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.PASSED
    assert "task" in result.message


def test_least_privilege_fails_for_a_whole_service_action(sandbox: Target, iam: Any) -> None:
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="task", PolicyName="read", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": f"{BUCKET}/*"}))
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.FAILED
    assert "task" in result.message
    assert result.actual is not None
    assert result.actual.startswith(
        "inline policy read: Statement 1 allows s3:*, which grants every s3 action (")
    assert result.actual.endswith(f"on {BUCKET}/*")


def test_least_privilege_fails_for_every_resource(sandbox: Target, iam: Any) -> None:
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="task", PolicyName="read", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.FAILED
    assert result.actual == (
        "inline policy read: Statement 1 allows s3:GetObject on * (every resource)")


def test_least_privilege_fails_for_a_partial_action_wildcard_on_every_bucket(
    sandbox: Target, iam: Any
) -> None:
    """Regression: s3:*Object on arn:aws:s3:::* passed (only "s3:*" and "*" counted)."""
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="task", PolicyName="read", PolicyDocument=policy(
        {"Sid": "S3", "Effect": "Allow", "Action": "s3:*Object", "Resource": "arn:aws:s3:::*"}))
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.FAILED
    assert result.actual == (
        "inline policy read: Statement 'S3' allows s3:*Object, which grants 5 actions "
        "(s3:DeleteObject, s3:GetObject, s3:PutObject, ...; 1 Read, 4 Write) on "
        "arn:aws:s3:::* (every bucket)")


def test_least_privilege_fails_for_pass_star(sandbox: Target, iam: Any) -> None:
    """Regression: iam:Pass* passed; it is iam:PassRole, a permissions-management action."""
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.put_role_policy(RoleName="task", PolicyName="deploy", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"},
        {"Effect": "Allow", "Action": "iam:Pass*",
         "Resource": "arn:aws:iam::123456789012:role/app"}))
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.FAILED
    assert result.actual == (
        "inline policy deploy: Statement 2 allows iam:Pass*, which grants 1 action "
        "(iam:PassRole; 1 Permissions management) on arn:aws:iam::123456789012:role/app")


def test_least_privilege_the_task_role_steps_draft_fails_and_solution_passes(
    sandbox: Target, iam: Any
) -> None:
    step = lab_step("ecs-iam-roles", "task-role")
    make_role(iam, "kata-app-task-role", "ecs-tasks.amazonaws.com")
    draft = (Path(str(resources.files("cloudkata.content"))) / "ecs-iam-roles" / "workspace"
             / "task-role-policy.json").read_text(encoding="utf-8")
    iam.put_role_policy(RoleName="kata-app-task-role", PolicyName="read-assets",
                        PolicyDocument=draft)
    report = check_step(sandbox.read_only(), step)
    [least] = [r for r in report.results if r.check_id == "iam.role_least_privilege"]
    assert least.status is Status.FAILED
    assert least.actual is not None
    assert "Statement 'DraftTooBroad' allows s3:*, which grants every s3 action" in least.actual
    assert least.actual.endswith("on * (every resource)")
    iam.put_role_policy(RoleName="kata-app-task-role", PolicyName="read-assets",
                        PolicyDocument=policy(
                            {"Effect": "Allow", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::kata-app-assets/*"},
                            {"Effect": "Allow", "Action": "s3:ListBucket",
                             "Resource": "arn:aws:s3:::kata-app-assets"}))
    report = check_step(sandbox.read_only(), step)
    assert report.passed, [r.message for r in report.results]


def test_least_privilege_judges_managed_policies_too(sandbox: Target, iam: Any) -> None:
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    iam.attach_role_policy(RoleName="task",
                           PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.FAILED
    assert result.actual is not None and "AmazonS3FullAccess" in result.actual


def test_least_privilege_fails_without_policies(sandbox: Target, iam: Any) -> None:
    make_role(iam, "task", "ecs-tasks.amazonaws.com")
    result = run(sandbox, "iam.role_least_privilege", role="task")
    assert result.status is Status.FAILED
    assert "task has no policies" in result.message
    assert result.actual == "no policies"


def test_least_privilege_missing_role(sandbox: Target) -> None:
    result = run(sandbox, "iam.role_least_privilege", role="ghost")
    assert result.status is Status.FAILED
    assert "ghost does not exist" in result.message


def test_every_iam_check_is_covered() -> None:
    """A new IAM check must get tests here too."""
    from cloudkata.checks import all_checks

    covered = {"iam.role_exists", "iam.role_trusts_service", "iam.role_has_managed_policy",
               "iam.instance_profile_contains_role", "iam.service_linked_role_present",
               "iam.role_may_call", "iam.role_least_privilege"}
    assert {cid for cid in all_checks() if cid.startswith("iam.")} == covered
