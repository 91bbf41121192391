"""IAM checks: roles, trust, attached policies, instance profiles and effective permissions."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


AWS_MANAGED_ACCOUNT = "aws"
"""The account field of every AWS managed policy's ARN: only AWS can create policies there."""


@dataclass(frozen=True)
class PolicyArn:
    """The parts of a managed policy's ARN that tell AWS's policies from look-alikes."""

    arn: str
    partition: str
    account: str
    path: str
    name: str

    @classmethod
    def parse(cls, arn: str) -> PolicyArn | None:
        match = _POLICY_ARN.fullmatch(arn)
        if match is None:
            return None
        return cls(arn, match["partition"], match["account"], match["path"], match["name"])

    @property
    def aws_managed(self) -> bool:
        return self.account == AWS_MANAGED_ACCOUNT


_POLICY_ARN = re.compile(
    r"arn:(?P<partition>[a-z0-9-]+):iam::(?P<account>[^:]+):policy(?P<path>/(?:[^/]+/)*)(?P<name>[^/]+)"
)


def managed_policy_problem(attached: list[str], wanted: str) -> tuple[str, str, str] | None:
    """Is the managed policy ``wanted`` among the ``attached`` ARNs? None when it is.

    ``wanted`` is compared as a full ARN, path included (``arn:aws:iam::aws:policy/service-role/
    AmazonEC2ContainerServiceforEC2Role``). A bare name (``AmazonEC2ContainerServiceforEC2Role``,
    or with its path, ``service-role/AmazonEC2ContainerServiceforEC2Role``) means *the AWS
    managed policy* of that name: only an ARN in AWS's own account matches, never a policy the
    learner created with the same name. Otherwise returns ``(reason, expected, actual)``, where
    the reason says plainly when a look-alike customer-managed policy is attached instead.
    """
    name, described, aws_wanted = _wanted_policy(wanted)
    if any(_is_wanted(arn, wanted) for arn in attached):
        return None
    parsed = [(arn, PolicyArn.parse(arn)) for arn in attached]
    actual = ("attached: " + ", ".join(_policy_label(arn, found) for arn, found in parsed)
              if attached else "no managed policies attached")
    look_alikes = [_look_alike(arn, found, name, aws_wanted) for arn, found in parsed
                   if found and found.name == name]
    if look_alikes:
        return f"has {', '.join(look_alikes)}, not {described}", f"{described} attached", actual
    return f"does not have {described} attached", f"{described} attached", actual


def managed_policy_described(wanted: str) -> str:
    """``the AWS managed policy arn:aws:iam::aws:policy/...`` (or its name, when not an ARN)."""
    return _wanted_policy(wanted)[1]


def _wanted_policy(wanted: str) -> tuple[str, str, bool]:
    """(name, words for it, whether it is an AWS managed policy)."""
    if wanted.startswith("arn:"):
        target = PolicyArn.parse(wanted)
        name = target.name if target else wanted.rsplit("/", 1)[-1]
        aws_managed = bool(target and target.aws_managed)
        kind = "the AWS managed policy" if aws_managed else "the managed policy"
        return name, f"{kind} {wanted}", aws_managed
    path, _, name = wanted.strip("/").rpartition("/")
    shown = f"arn:aws:iam::aws:policy/{path}/{name}" if path else name
    return name, f"the AWS managed policy {shown}", True


def _is_wanted(arn: str, wanted: str) -> bool:
    if wanted.startswith("arn:"):
        return arn == wanted
    found = PolicyArn.parse(arn)
    path, _, name = wanted.strip("/").rpartition("/")
    return bool(found and found.aws_managed and found.name == name
                and (not path or found.path == f"/{path}/"))


def _look_alike(arn: str, found: PolicyArn, name: str, aws_wanted: bool) -> str:
    if not found.aws_managed:
        return f"a customer-managed policy named {name} ({arn})"
    if aws_wanted:
        return f"an AWS managed policy at another path ({arn})"
    return f"the AWS managed policy of that name ({arn})"


def _policy_label(arn: str, found: PolicyArn | None) -> str:
    """AWS managed policies by name; anything else by ARN, so a look-alike cannot hide."""
    return found.name if found and found.aws_managed else arn


class ManagedPolicyParams(Params):
    role: str
    policy: str = Field(description=(
        "the managed policy's ARN, e.g. "
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role (compared "
        "in full, path included); a bare name means the AWS managed policy of that name"))


@check("iam.role_has_managed_policy", title="The role has the managed policy",
       params=ManagedPolicyParams, hint="aws iam attach-role-policy attaches a managed policy.")
def role_has_managed_policy(aws: ReadOnlyAws, p: ManagedPolicyParams) -> Result:
    if find_role(aws, p.role) is None:
        return _missing_role(aws, p.role)
    problem = managed_policy_problem(attached_policy_arns(aws, p.role), p.policy)
    if problem is not None:
        reason, expected, actual = problem
        elsewhere = _attached_elsewhere(aws, p.policy, p.role)
        if elsewhere:
            reason += f"; it is attached to {elsewhere} instead"
            actual += f" (the policy is attached to {elsewhere})"
        return failed(f"Role {p.role} {reason}.", expected=expected, actual=actual)
    return passed(f"Role {p.role} has {managed_policy_described(p.policy)} attached.")


def _attached_elsewhere(aws: ReadOnlyAws, wanted: str, role: str) -> str | None:
    """Words naming the other roles (and users, groups) the wanted managed policy is attached
    to, or None: a policy attached to the wrong role is a mistake worth naming."""
    if wanted.startswith("arn:"):
        arn = wanted
    else:
        path, _, name = wanted.strip("/").rpartition("/")
        if not path:
            return None  # a bare name without its path: its ARN is not known for sure
        arn = f"arn:aws:iam::aws:policy/{path}/{name}"
    try:
        entities = aws.iam.list_entities_for_policy(PolicyArn=arn)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    named = [f"role {r['RoleName']}" for r in entities.get("PolicyRoles", [])
             if r["RoleName"] != role]
    named += [f"user {u['UserName']}" for u in entities.get("PolicyUsers", [])]
    named += [f"group {g['GroupName']}" for g in entities.get("PolicyGroups", [])]
    return ", ".join(named) or None


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
        expected = f"role {p.name} under path {prefix}"
        if names:
            return failed(f"The service-linked role {p.name} for {p.service} does not exist.",
                          expected=expected, actual="found " + ", ".join(names))
        same_name = find_role(aws, p.name)
        if same_name is not None:  # made with create-role: an ordinary role, not the SLR
            path = same_name.get("Path", "/")
            return failed(
                f"Role {p.name} exists at path {path}, so it is an ordinary role made with "
                f"create-role, not the service-linked role of {p.service}; it also takes the "
                f"name, so create-service-linked-role answers that the name has been taken. "
                f"Delete it, then run create-service-linked-role --aws-service-name "
                f"{p.service}.",
                expected=expected, actual=f"an ordinary role {p.name} at path {path}")
        others = [f"{r['RoleName']} (for {r['Path'].split('/')[2]})" for r in aws.iam.paginate(
            "list_roles", "Roles", PathPrefix="/aws-service-role/")
            if r.get("Path", "").count("/") >= 3]
        seen = (f"; the service-linked roles here are for other services: {', '.join(others)}"
                if others else "")
        return failed(
            f"The service-linked role {p.name} for {p.service} does not exist{seen}.",
            expected=expected,
            actual="no service-linked role for it" + (
                f" (found only {', '.join(others)})" if others else ""),
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
    unallowed: list[str] = []
    denied: list[str] = []
    for action in p.actions:
        verdict = evaluate(policies, action, p.resource)
        if not verdict.allowed:
            why = f" by {verdict.matched}" if verdict.decision is Decision.EXPLICIT_DENY else ""
            refused.append(f"{action} {verdict.decision.value}{why}")
            if verdict.decision is Decision.EXPLICIT_DENY:
                denied.append(f"{action} {verdict.decision.value}{why}")
            else:
                unallowed.append(action)
    on = "" if p.resource == "*" else f" on {p.resource}"
    if refused:
        pronoun = "it" if len(unallowed) == 1 else "them"
        parts = ([f"{', '.join(unallowed)} {Decision.IMPLICIT_DENY.value} (no statement of its "
                  f"policies allows {pronoun})"] if unallowed else []) + denied
        return failed(
            f"Role {p.role} may not call what it needs{on}: {'; '.join(parts)}.",
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
            expected=("exact actions (no * or ?) on named resources (a wildcard only inside one "
                      "named resource, as in arn:aws:s3:::bucket/*); no NotAction or NotResource"),
            actual="; ".join(findings),
        )
    return passed(f"Role {p.role} names exact actions and resources.")
