"""IAM refuses malformed trust policies; moto accepts them.

AWS answers CreateRole / UpdateAssumeRolePolicy with MalformedPolicyDocument when the trust
policy is not JSON, has no Statement, or names a Resource (trust policies may not). A learner
who pastes a broken file:// document must see that error here too, not a role that silently
trusts nobody.
"""

from __future__ import annotations

import json
from typing import Any

from ..control import api
from ..control.plane import ControlPlane, Request


def trust_policy_problem(document: str) -> str | None:
    """AWS's message for a trust policy it would refuse, or None when it is acceptable."""
    try:
        policy: Any = json.loads(document)
    except ValueError:
        return "This policy contains invalid Json"
    if not isinstance(policy, dict):
        return "This policy contains invalid Json"
    statements = policy.get("Statement")
    if statements is None:
        return "Syntax errors in policy."
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            return "Syntax errors in policy."
        if "Resource" in statement or "NotResource" in statement:
            return "Has prohibited field Resource"
        if "Principal" not in statement and "NotPrincipal" not in statement:
            return "Missing required field Principal"
        if statement.get("Effect") not in ("Allow", "Deny"):
            return "Syntax errors in policy."
    return None


def _check(_: ControlPlane, request: Request) -> api.Response | None:
    document = request.params.get("AssumeRolePolicyDocument") or request.params.get(
        "PolicyDocument")
    if not isinstance(document, str):
        return None
    problem = trust_policy_problem(document)
    return api.query_error("MalformedPolicyDocument", problem) if problem else None


api.before("iam", action="CreateRole")(_check)
api.before("iam", action="UpdateAssumeRolePolicy")(_check)
