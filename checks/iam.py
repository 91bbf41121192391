"""IAM checks: roles, trust, attached policies, instance profiles and effective permissions."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .policy import Decision, broad_grants, evaluate, parse_document
from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found


def find_role(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    try:
        return aws.iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def trusted_services(role: dict[str, Any]) -> set[str]:
    """Service principals allowed to assume the role (Allow + sts:AssumeRole)."""
    document = parse_document(role.get("AssumeRolePolicyDocument") or {})
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    services: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a.lower() in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        if not isinstance(principal, dict):
            continue
        value = principal.get("Service", [])
        services.update([value] if isinstance(value, str) else value)
    return services


def roles_trusting(aws: ReadOnlyAws, service: str) -> list[str]:
    """Discovery: names of roles that trust ``service`` (made by any tool)."""
    return [r["RoleName"] for r in aws.iam.paginate("list_roles", "Roles")
            if service in trusted_services(r)]


def attached_policy_arns(aws: ReadOnlyAws, role: str) -> list[str]:
    return [p["PolicyArn"] for p in
            aws.iam.paginate("list_attached_role_policies", "AttachedPolicies", RoleName=role)]


def role_policies(aws: ReadOnlyAws, role: str) -> list[tuple[str, Any]]:
    """(label, document) for every managed and inline policy of the role."""
    documents: list[tuple[str, Any]] = []
    for arn in attached_policy_arns(aws, role):
        version = aws.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        version_data = aws.iam.get_policy_version(PolicyArn=arn, VersionId=version)
        documents.append((f"policy {arn.rsplit('/', 1)[-1]}",
                          version_data["PolicyVersion"]["Document"]))
    for name in aws.iam.paginate("list_role_policies", "PolicyNames", RoleName=role):
        document = aws.iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        documents.append((f"inline policy {name}", document))
    return documents


def _missing_role(aws: ReadOnlyAws, role: str, service: str | None = None) -> Result:
    others = roles_trusting(aws, service) if service else []
    found = f"; roles that trust {service}: {', '.join(others)}" if others else ""
    return failed(
        f"Role {role} does not exist{found}.",
        expected=f"a role named {role}",
        actual="no such role" + (f" (but {', '.join(others)} trust {service})" if others else ""),
    )


class RoleParams(Params):
    role: str


@check("iam.role_exists", title="The role exists", params=RoleParams,
       hint="Create it with aws iam create-role.")
def role_exists(aws: ReadOnlyAws, p: RoleParams) -> Result:
    role = find_role(aws, p.role)
    if role is None:
        return _missing_role(aws, p.role)
    return passed(f"Role {p.role} exists ({role['Arn']}).")


class TrustParams(Params):
    role: str
    service: str = Field(description="service principal, e.g. ec2.amazonaws.com")


@check("iam.role_trusts_service", title="The role trusts the right service", params=TrustParams,
       hint="The trust policy's Principal names who may assume the role.")
def role_trusts_service(aws: ReadOnlyAws, p: TrustParams) -> Result:
    role = find_role(aws, p.role)
    if role is None:
        return _missing_role(aws, p.role, p.service)
    services = trusted_services(role)
    if p.service not in services:
        return failed(
            f"Role {p.role} does not let {p.service} assume it.",
            expected=f"a trust policy allowing sts:AssumeRole for {p.service}",
            actual=("trusts " + ", ".join(sorted(services))) if services
            else "trusts no AWS service",
        )
    return passed(f"Role {p.role} trusts {p.service}.")


class ManagedPolicyParams(Params):
    role: str
    policy: str = Field(description="policy name or ARN")


@check("iam.role_has_managed_policy", title="The role has the managed policy",
       params=ManagedPolicyParams, hint="aws iam attach-role-policy attaches a managed policy.")
def role_has_managed_policy(aws: ReadOnlyAws, p: ManagedPolicyParams) -> Result:
    if find_role(aws, p.role) is None:
        return _missing_role(aws, p.role)
    arns = attached_policy_arns(aws, p.role)
    wanted = p.policy.rsplit("/", 1)[-1]
    if not any(arn == p.policy or arn.rsplit("/", 1)[-1] == wanted for arn in arns):
        names = [arn.rsplit("/", 1)[-1] for arn in arns]
        return failed(
            f"Role {p.role} does not have {wanted} attached.",
            expected=f"managed policy {wanted} attached",
            actual=("attached: " + ", ".join(names)) if names else "no managed policies attached",
        )
    return passed(f"Role {p.role} has {wanted} attached.")


class InstanceProfileParams(Params):
    profile: str
    role: str


@check("iam.instance_profile_contains_role", title="The instance profile holds the role",
       params=InstanceProfileParams,
       hint="EC2 takes a role through an instance profile: create one and add the role to it.")
def instance_profile_contains_role(aws: ReadOnlyAws, p: InstanceProfileParams) -> Result:
    try:
        profile = aws.iam.get_instance_profile(InstanceProfileName=p.profile)["InstanceProfile"]
    except ClientError as exc:
        if not is_not_found(exc):
            raise
        return failed(f"Instance profile {p.profile} does not exist.",
                      expected=f"an instance profile named {p.profile}", actual="no such profile")
    roles = [r["RoleName"] for r in profile.get("Roles", [])]
    if p.role not in roles:
        return failed(
            f"Instance profile {p.profile} does not hold role {p.role}.",
            expected=f"role {p.role} in the profile",
            actual=("holds " + ", ".join(roles)) if roles else "the profile holds no role",
        )
    return passed(f"Instance profile {p.profile} holds role {p.role}.")


class ServiceLinkedParams(Params):
    service: str = Field(description="e.g. ecs.amazonaws.com")
    name: str = Field(description="the role name AWS gives it, e.g. AWSServiceRoleForECS")


@check("iam.service_linked_role_present", title="The service-linked role exists",
       params=ServiceLinkedParams,
       hint="aws iam create-service-linked-role --aws-service-name <service> makes it.")
def service_linked_role_present(aws: ReadOnlyAws, p: ServiceLinkedParams) -> Result:
    prefix = f"/aws-service-role/{p.service}/"
    roles = aws.iam.paginate("list_roles", "Roles", PathPrefix=prefix)
    names = [r["RoleName"] for r in roles]
    if p.name not in names:
        return failed(
            f"The service-linked role {p.name} for {p.service} does not exist.",
            expected=f"role {p.name} under path {prefix}",
            actual=("found " + ", ".join(names)) if names else "no service-linked role for it",
        )
    return passed(f"Service-linked role {p.name} exists for {p.service}.")


class MayCallParams(Params):
    role: str
    actions: list[str] = Field(min_length=1)
    resource: str = "*"


@check("iam.role_may_call", title="The role's policies allow the actions", params=MayCallParams,
       hint="Attach a policy that allows these actions (or fix a Deny).")
def role_may_call(aws: ReadOnlyAws, p: MayCallParams) -> Result:
    if find_role(aws, p.role) is None:
        return _missing_role(aws, p.role)
    policies = role_policies(aws, p.role)
    refused: list[str] = []
    for action in p.actions:
        verdict = evaluate(policies, action, p.resource)
        if not verdict.allowed:
            why = f" by {verdict.matched}" if verdict.decision is Decision.EXPLICIT_DENY else ""
            refused.append(f"{action} {verdict.decision.value}{why}")
    on = "" if p.resource == "*" else f" on {p.resource}"
    if refused:
        return failed(
            f"Role {p.role} may not call {', '.join(refused)}{on}.",
            expected="allowed: " + ", ".join(p.actions) + on,
            actual="; ".join(refused) if policies else "the role has no policies",
        )
    return passed(f"Role {p.role} may call {', '.join(p.actions)}{on}.")


class LeastPrivilegeParams(Params):
    role: str


@check("iam.role_least_privilege", title="The role grants no more than it needs",
       params=LeastPrivilegeParams,
       hint="Name exact actions (s3:GetObject) and exact resources (arn:aws:s3:::bucket/*).")
def role_least_privilege(aws: ReadOnlyAws, p: LeastPrivilegeParams) -> Result:
    if find_role(aws, p.role) is None:
        return _missing_role(aws, p.role)
    policies = role_policies(aws, p.role)
    if not policies:
        return failed(f"Role {p.role} has no policies, so it grants nothing yet.",
                      expected="a policy naming exact actions and resources", actual="no policies")
    findings = [f"{label}: {finding}" for label, document in policies
                for finding in broad_grants(document)]
    if findings:
        return failed(
            f"Role {p.role} grants more than it needs.",
            expected="exact actions on exact resources",
            actual="; ".join(findings),
        )
    return passed(f"Role {p.role} names exact actions and resources.")
