"""Where moto is not AWS, and a lab's lesson depends on it, we correct moto here.

Each correction is a small, named patch applied in the sandbox's own process only, through
the registry in :mod:`cloudkata.sandbox.patches` (so applying them twice changes nothing).
moto is pinned to one exact version because these reach into its backends; re-measure on
upgrade (see shared/design/sandbox-fidelity.md).
"""

from __future__ import annotations

import json
from typing import Any

from . import patches

# service principal -> (the role name AWS really uses, the managed policy AWS attaches)
SERVICE_LINKED_ROLES: dict[str, tuple[str, str]] = {
    "ecs.amazonaws.com": ("AWSServiceRoleForECS", "AmazonECSServiceRolePolicy"),
    "eks.amazonaws.com": ("AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy"),
    "eks-nodegroup.amazonaws.com": (
        "AWSServiceRoleForAmazonEKSNodegroup", "AWSServiceRoleForAmazonEKSNodegroup"),
    "eks-fargate.amazonaws.com": (
        "AWSServiceRoleForAmazonEKSForFargate", "AmazonEKSForFargateServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": (
        "AWSServiceRoleForElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy"),
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy"),
    "ecs.application-autoscaling.amazonaws.com": (
        "AWSServiceRoleForApplicationAutoScaling_ECSService",
        "AWSApplicationAutoscalingECSServicePolicy"),
}


def _patch_service_linked_roles() -> None:
    """moto names them ``AWSServiceRoleForecs`` and attaches no policy; AWS does neither.

    A second create answers like AWS too (InvalidInput, "has been taken"), not moto's
    EntityAlreadyExists: the lab tells learners what that AWS message means.
    """
    from moto.iam.exceptions import InvalidInput
    from moto.iam.models import IAMBackend

    @patches.wrap(IAMBackend, "create_service_linked_role",
                  why="AWS's service-linked role names and managed policies, and its error "
                      "on a second create")
    def create_service_linked_role(original: Any, self: Any, service_name: str,
                                   description: str, suffix: str) -> Any:
        if service_name not in SERVICE_LINKED_ROLES:
            return original(self, service_name, description, suffix)
        role_name, policy_name = SERVICE_LINKED_ROLES[service_name]
        if suffix:
            role_name = f"{role_name}_{suffix}"
        if any(role.name == role_name for role in self.get_roles()):
            raise InvalidInput(f"Service role name {role_name} has been taken in this account, "
                               "please try a different suffix.")
        trust = {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": ["sts:AssumeRole"],
                "Effect": "Allow",
                "Principal": {"Service": [service_name]},
            }],
        }
        role = self.create_role(
            role_name,
            json.dumps(trust),
            f"/aws-service-role/{service_name}/",
            permissions_boundary=None,
            description=description,
            tags=[],
            max_session_duration="3600",
            linked_service=service_name,
        )
        policy_arn = f"arn:aws:iam::aws:policy/aws-service-role/{policy_name}"
        if any(p.arn == policy_arn for p in self.managed_policies.values()):
            self.attach_role_policy(policy_arn, role_name)
        return role


def _patch_managed_policies_for_the_aws_partition_only() -> None:
    """moto builds ~1,600 AWS managed policies for each of six partitions (aws, aws-cn,
    aws-us-gov, ...) on every reset and first use: about a second per reset. Labs run in the
    ``aws`` partition, so the others get none; a reset then takes ~0.1 s."""
    from moto.iam.models import IAMBackend

    built: dict[str, list[Any]] = {}

    @patches.wrap(IAMBackend, "_init_aws_policies",
                  why="AWS managed policies for the aws partition only, built once per account "
                      "and copied on every reset: a reset takes ~0.05 s instead of ~0.5 s")
    def _init_aws_policies(original: Any, self: Any) -> Any:
        if self.region_name != "aws":
            return []
        if self.account_id not in built:
            built[self.account_id] = original(self)
        return [_fresh_copy(policy) for policy in built[self.account_id]]


def _fresh_copy(policy: Any) -> Any:
    """A managed policy as a new backend would make it, without re-parsing moto's 1.6 MB of
    JSON and drawing 1,600 random ids: its own versions, tags and attachment count."""
    import copy

    clone = copy.copy(policy)
    clone.versions = [copy.copy(version) for version in policy.versions]
    clone.tags = dict(policy.tags)
    clone.attachment_count = 0
    return clone


def apply_all() -> None:
    _patch_service_linked_roles()
    _patch_managed_policies_for_the_aws_partition_only()
