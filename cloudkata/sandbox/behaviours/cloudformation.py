"""CloudFormation: create what moto skips, refuse clearly what the sandbox cannot make.

moto's CloudFormation silently skips resource types it has no model for (only a log line), so a
stack reaches CREATE_COMPLETE with pieces missing and a lab check fails for no visible reason.
Here the Application Auto Scaling types are implemented (the ECS labs' CloudFormation
equivalence tests need them), and a template naming any other type moto cannot create is
refused up front with a sentence that names the type and the logical id.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from ..control import api
from ..control.plane import ControlPlane, Request


def _aas(account_id: str, region_name: str) -> Any:
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    return applicationautoscaling_backends[account_id][region_name]


class CfnScalableTarget(CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalableTarget (with its ScheduledActions)."""

    def __init__(self, resource_id: str, dimension: str, namespace: str) -> None:
        self.resource_id, self.dimension, self.namespace = resource_id, dimension, namespace

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @property
    def physical_resource_id(self) -> str:
        # what Ref returns, and what ScalingPolicy.ScalingTargetId takes
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str, **kwargs: Any,
    ) -> CfnScalableTarget:
        props = cloudformation_json["Properties"]
        backend = _aas(account_id, region_name)
        namespace, resource_id = props["ServiceNamespace"], props["ResourceId"]
        dimension = props["ScalableDimension"]
        backend.register_scalable_target(
            namespace, resource_id, dimension, int(props["MinCapacity"]),
            int(props["MaxCapacity"]), props.get("RoleARN", ""), props.get("SuspendedState"))
        for action in props.get("ScheduledActions", []):
            backend.put_scheduled_action(
                namespace, action["Schedule"], action.get("Timezone"),
                action["ScheduledActionName"], resource_id, dimension,
                action.get("StartTime"), action.get("EndTime"),
                {key: int(value) for key, value in action.get("ScalableTargetAction", {}).items()})
        return cls(resource_id, dimension, namespace)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str,
    ) -> None:
        props = cloudformation_json["Properties"]
        _aas(account_id, region_name).deregister_scalable_target(
            props["ServiceNamespace"], props["ResourceId"], props["ScalableDimension"])


def _policy_target(props: dict[str, Any]) -> tuple[str, str, str]:
    """(resource id, dimension, namespace) from ScalingTargetId, or from the three properties."""
    if props.get("ScalingTargetId"):
        resource_id, dimension, namespace = str(props["ScalingTargetId"]).split("|")
        return resource_id, dimension, namespace
    return props["ResourceId"], props["ScalableDimension"], props["ServiceNamespace"]


class CfnScalingPolicy(CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy (step scaling or target tracking)."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PolicyName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @property
    def physical_resource_id(self) -> str:
        return str(self.policy.policy_arn)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.policy.policy_arn
        raise NotImplementedError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str, **kwargs: Any,
    ) -> CfnScalingPolicy:
        props = cloudformation_json["Properties"]
        resource_id, dimension, namespace = _policy_target(props)
        policy_type = props["PolicyType"]
        body = (props.get("StepScalingPolicyConfiguration") if policy_type == "StepScaling"
                else props.get("TargetTrackingScalingPolicyConfiguration")) or {}
        policy = _aas(account_id, region_name).put_scaling_policy(
            props.get("PolicyName", resource_name), namespace, resource_id, dimension, body,
            policy_type)
        return cls(policy)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str,
    ) -> None:
        props = cloudformation_json["Properties"]
        resource_id, dimension, namespace = _policy_target(props)
        _aas(account_id, region_name).delete_scaling_policy(
            props.get("PolicyName", resource_name), namespace, resource_id, dimension)


def _refresh_model_map() -> None:
    from moto.cloudformation import parsing

    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


_refresh_model_map()


def unsupported_resources(template: str) -> list[tuple[str, str]]:
    """(logical id, type) of every resource moto would silently skip."""
    from moto.cloudformation.models import Stack
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    try:
        parsed = Stack.parse_template(template)
    except Exception:  # noqa: BLE001 - let moto report template errors its own way
        return []
    resources = parsed.get("Resources", {}) if isinstance(parsed, dict) else {}
    known = get_model_map()
    return [(logical_id, spec.get("Type", "?")) for logical_id, spec in resources.items()
            if isinstance(spec, dict) and spec.get("Type") not in known
            and spec.get("Type") not in NULL_MODELS
            and not str(spec.get("Type", "")).startswith("Custom::")]


def _refuse_unsupported(_: ControlPlane, request: Request) -> api.Response | None:
    template = request.params.get("TemplateBody")
    if not isinstance(template, str):
        return None
    missing = unsupported_resources(template)
    if not missing:
        return None
    listed = ", ".join(f"{kind} ({logical_id})" for logical_id, kind in missing)
    return api.query_error(
        "ValidationError",
        f"The cloudkata sandbox cannot create {listed}: its emulator does not support "
        "this resource type. Create it with the aws CLI, or use a real AWS account.")


for _action in ("CreateStack", "UpdateStack", "CreateChangeSet"):
    api.before("cloudformation", action=_action)(_refuse_unsupported)
