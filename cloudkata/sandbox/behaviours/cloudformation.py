"""CloudFormation: create what moto skips, refuse clearly what the sandbox cannot make.

moto's CloudFormation silently skips resource types it has no model for (only a log line), so a
stack reaches CREATE_COMPLETE with pieces missing and a lab check fails for no visible reason.
Here the Application Auto Scaling types are implemented (the ECS labs' CloudFormation
equivalence tests need them), and a template naming any other type moto cannot create is
refused up front with a sentence that names the type and the logical id.

moto's ``AWS::ECS::Service`` passed only the cluster, task definition and desired count on:
``LoadBalancers``, ``DeploymentConfiguration``, ``HealthCheckGracePeriodSeconds``, the launch
type, network configuration and placement were dropped, so a stack's service registered no
targets and deployed with the defaults. Here the service is created with all of them
(:func:`_patch_ecs_service_from_stacks`); the settings the ECS scheduler keeps beside moto's
service (deployment configuration, grace period, placement) are handed to it once it has
adopted the new service (:func:`apply_stack_service_settings`).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from .. import patches
from ..control import api
from ..control.backends import loaded
from ..control.plane import ControlPlane, Request, reconciler


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
    def create_from_cloudformation_json(
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
    def delete_from_cloudformation_json(
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
    def create_from_cloudformation_json(
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
    def delete_from_cloudformation_json(
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


# --------------------------------------------------------------------------- AWS::ECS::Service

STACK_SETTINGS = "_cloudkata_stack_settings"
"""Set on a moto ECS ``Service`` made by a stack: the settings the scheduler keeps, in the
API's shape, until :func:`apply_stack_service_settings` has handed them over."""


def _camel(value: Any) -> Any:
    """A CloudFormation property value in the ECS API's shape: keys lowerCamelCase, "true" and
    "false" booleans, digit strings numbers where the API has numbers."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _number(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _name_of(value: Any, attribute: str) -> Any:
    """A referenced resource (moto hands the model object) or its name/ARN."""
    return getattr(value, attribute, value)


def create_stack_service(name: str, props: dict[str, Any], account_id: str,
                         region_name: str) -> Any:
    """``AWS::ECS::Service`` as ECS's CreateService would make it from the same settings."""
    from moto.ecs.models import ecs_backends

    ecs = ecs_backends[account_id][region_name]
    balancers = []
    for entry in _camel(props.get("LoadBalancers") or []):
        if "containerPort" in entry:
            entry["containerPort"] = int(entry["containerPort"])
        balancers.append(entry)
    tags = [{"key": t.get("Key"), "value": t.get("Value")} for t in props.get("Tags") or []]
    network = _camel(props.get("NetworkConfiguration")) or None
    strategy = _camel(props.get("CapacityProviderStrategy")) or None
    service = ecs.create_service(
        _name_of(props.get("Cluster") or "default", "name"), name,
        _number(props.get("DesiredCount")),
        task_definition_str=_name_of(props.get("TaskDefinition"), "arn"),
        load_balancers=balancers,
        scheduling_strategy=props.get("SchedulingStrategy"),
        tags=tags or None,
        deployment_controller=_camel(props.get("DeploymentController")) or None,
        launch_type=None if strategy else props.get("LaunchType"),
        service_registries=_camel(props.get("ServiceRegistries")) or None,
        platform_version=props.get("PlatformVersion"),
        propagate_tags=props.get("PropagateTags") or "NONE",
        network_configuration=network,
        role_arn=props.get("Role"),
    )
    settings: dict[str, Any] = {}
    if props.get("DeploymentConfiguration"):
        configuration = _camel(props["DeploymentConfiguration"])
        for key in ("maximumPercent", "minimumHealthyPercent"):
            if key in configuration:
                configuration[key] = int(configuration[key])
        settings["deploymentConfiguration"] = configuration
    if props.get("HealthCheckGracePeriodSeconds") not in (None, ""):
        settings["healthCheckGracePeriodSeconds"] = int(props["HealthCheckGracePeriodSeconds"])
    for prop, key in (("PlacementStrategies", "placementStrategy"),
                      ("PlacementConstraints", "placementConstraints")):
        if props.get(prop):
            settings[key] = _camel(props[prop])
    if strategy:
        settings["capacityProviderStrategy"] = strategy
    setattr(service, STACK_SETTINGS, settings)
    return service


def _patch_ecs_service_from_stacks() -> None:
    """Restore: a stack's ``AWS::ECS::Service`` gets its load balancers, deployment
    configuration, grace period, launch type, network configuration, placement and tags
    (moto: cluster, task definition and desired count only)."""
    from moto.cloudformation import parsing

    @patches.wrap(parsing, "parse_and_create_resource",
                  why="AWS::ECS::Service keeps LoadBalancers, DeploymentConfiguration and the "
                      "rest of its properties")
    def parse_and_create_resource(original: Any, logical_id: str, resource_json: Any,
                                  resources_map: Any, account_id: str,
                                  region_name: str) -> Any:
        if not isinstance(resource_json, dict) or resource_json.get(
                "Type") != "AWS::ECS::Service":
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        parsed = parsing.parse_resource_and_generate_name(logical_id, resource_json,
                                                          resources_map)
        if not parsed:
            return None
        _, resolved, name = parsed
        service = create_stack_service(name, resolved.get("Properties") or {}, account_id,
                                       region_name)
        service.cf_resource_type = "AWS::ECS::Service"
        service.logical_resource_id = logical_id
        return service


_patch_ecs_service_from_stacks()


@reconciler(31)
def apply_stack_service_settings(plane: ControlPlane) -> None:
    """Once the ECS scheduler has adopted a stack's new service (it gives every service its
    deployment configuration, grace period and placement at first sight, order 30), give it
    the template's own, as CreateService with the same settings would have."""
    for _, _, ecs in loaded("ecs"):
        for service in list(ecs.services.values()):
            settings = getattr(service, STACK_SETTINGS, None)
            if not settings or not getattr(service, "created_at", None):
                continue
            setattr(service, STACK_SETTINGS, None)
            configuration = dict(getattr(service, "deployment_configuration", None) or {})
            configuration.update(settings.get("deploymentConfiguration") or {})
            service.deployment_configuration = configuration
            if "healthCheckGracePeriodSeconds" in settings:
                service.health_check_grace_period_seconds = settings[
                    "healthCheckGracePeriodSeconds"]
            for key, attribute in (("placementStrategy", "placement_strategy"),
                                   ("placementConstraints", "placement_constraints"),
                                   ("capacityProviderStrategy", "capacity_provider_strategy")):
                if key in settings:
                    setattr(service, attribute, settings[key])
