"""Scaling: Application Auto Scaling policies really scale ECS services, and EC2 Auto Scaling
policies their groups, when an alarm runs them.

moto stores scalable targets, scaling policies and scheduled actions, but nothing ever scales,
and it has no ``DescribeScalingActivities``. On AWS:

- An alarm whose action is a **step scaling** policy picks the step whose bounds (relative to
  the alarm threshold) contain the breach, and changes capacity by ``ChangeInCapacity``,
  ``PercentChangeInCapacity`` or ``ExactCapacity``, then waits ``Cooldown`` (300 s for ECS).
- A **target tracking** policy owns two alarms: ``AlarmHigh`` (metric > target for 3 of 3
  minutes) scales out to ``ceil(capacity * metric / target)``; ``AlarmLow`` (metric < 90% of
  the target for 15 of 15 minutes) scales in, conservatively, unless ``DisableScaleIn``.
  Cooldowns default to 300 s. While a scale-out cooldown runs, the capacity it added counts as
  already there: a further scale-out is computed from the capacity before it.
- **Scheduled actions** (``at(...)``, ``rate(...)``, ``cron(...)``, in their time zone) set the
  target's min/max capacity; the current capacity is then clamped into the new range.
- Capacity always stays within the scalable target's ``MinCapacity``/``MaxCapacity``, and each
  change is a scaling activity (``Setting desired count to 4.``) that
  ``describe-scaling-activities`` lists, newest first.

Here the alarm evaluator (``alarms.py``) calls :func:`execute_action` with the policy ARN of
each alarm action. This module runs Application Auto Scaling policies, fixes moto's
target-tracking alarms, and answers the Application Auto Scaling API where moto does not;
the rest is split by concern: ``scaling_common`` (the trigger, capacity, the activity log and
the saved state), ``asg_scaling_policies`` (EC2 Auto Scaling simple, step and target-tracking
policies change the group's desired capacity, within MinSize/MaxSize; moto then launches or
terminates instances) and ``app_autoscaling_schedule`` (scheduled actions fire on the
simulated clock). For an ECS service "capacity" is its ``desiredCount`` in moto's ECS backend;
starting the tasks is the ECS scheduler's job.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .. import patches
from ..control import api
from ..control.backends import find
from ..control.plane import ControlPlane, Request
from .app_autoscaling_schedule import schedule_problem
from .asg_scaling_policies import ASG_POLICY, run_asg_policy
from .scaling_common import (
    DEFAULT_COOLDOWN,
    AlarmTrigger,
    adjusted,
    as_float,
    change_capacity,
    current_capacity,
    scaling_state,
    select_step,
    shared_tracked_metric,
    suspended,
    truthy,
)

JSON_11 = "application/x-amz-json-1.1"
LOW_ALARM_FACTOR = 0.9


# --------------------------------------------------------------------------- policies


_APP_POLICY = re.compile(
    r"arn:[\w-]+:autoscaling:(?P<region>[\w-]+):(?P<account>\d{12}):scalingPolicy:[^:]+:"
    r"resource/(?P<namespace>[^/]+)/(?P<resource>.+?):policyName/(?P<name>[^:]+)"
    r"(?::createdBy/.*)?$")


def is_scaling_action(arn: str) -> bool:
    return bool(_APP_POLICY.match(arn) or ASG_POLICY.match(arn))


def execute_action(plane: ControlPlane, arn: str, trigger: AlarmTrigger) -> str | None:
    """Run an alarm action naming a scaling policy. Returns what happened (for the alarm's
    history), or None when ``arn`` is not a scaling policy we know."""
    match = _APP_POLICY.match(arn)
    if match:
        return _run_app_policy(plane, match["account"], match["region"], match["namespace"],
                               match["resource"], match["name"], trigger)
    match = ASG_POLICY.match(arn)
    if match:
        return run_asg_policy(plane, match["account"], match["region"], match["group"],
                               match["name"], trigger)
    return None


def _target_key(account: str, region: str, namespace: str, resource_id: str,
                dimension: str) -> str:
    return f"{account}|{region}|{namespace}|{resource_id}|{dimension}"


def _clamp(capacity: int, target: Any) -> int:
    if target.min_capacity is not None:
        capacity = max(capacity, int(target.min_capacity))
    if target.max_capacity is not None:
        capacity = min(capacity, int(target.max_capacity))
    return capacity


def _run_app_policy(plane: ControlPlane, account: str, region: str, namespace: str,
                    resource_id: str, name: str, trigger: AlarmTrigger) -> str | None:
    backend = find("applicationautoscaling", account, region)
    if backend is None:
        return None
    # found by name, not ARN: an updated policy keeps working for the alarms that name it
    policy = next((p for p in list(backend.policies.values())
                   if p.service_namespace == namespace and p.resource_id == resource_id
                   and p.policy_name == name), None)
    if policy is None:
        return None
    target = backend.targets.get(policy.scalable_dimension, {}).get(resource_id)
    if target is None:
        return "no scalable target is registered for the policy"
    current = current_capacity(account, region, target)
    if current is None:
        return f"the resource {resource_id} does not exist"
    cause = (f"monitor alarm {trigger.alarm_name} in state {trigger.state} triggered policy "
             f"{policy.policy_name}")
    key = _target_key(account, region, namespace, resource_id, policy.scalable_dimension)
    cooldown = scaling_state(plane)["cooldowns"].setdefault(
        key, {"out_until": 0.0, "out_base": 0, "in_until": 0.0})
    when = trigger.when
    if policy.policy_type == "TargetTrackingScaling":
        wanted = _target_tracking(policy, current, cooldown, target, trigger)
        config = policy.target_tracking_scaling_policy_configuration or {}
        out_cooldown = float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN))
        in_cooldown = float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN))
    else:
        wanted = _step_scaling(policy, current, cooldown, target, trigger)
        config = policy.step_scaling_policy_configuration or {}
        out_cooldown = in_cooldown = float(config.get("Cooldown", DEFAULT_COOLDOWN))
    if wanted is None:
        return "no scaling needed"
    capacity = _clamp(wanted, target)
    if capacity == current:
        return "capacity already at its limit"
    if capacity > current:
        if when >= cooldown["out_until"]:
            cooldown["out_until"], cooldown["out_base"] = when + out_cooldown, current
        cooldown["in_until"] = 0.0  # a scale-out ends a scale-in cooldown
    else:
        cooldown["in_until"] = when + in_cooldown
    change_capacity(plane, account, region, target, capacity, cause, when)
    return f"set capacity to {capacity}"


def _target_tracking(policy: Any, current: int, cooldown: dict[str, Any], target: Any,
                     trigger: AlarmTrigger) -> int | None:
    config = policy.target_tracking_scaling_policy_configuration or {}
    goal = float(config.get("TargetValue") or 0)
    metric = trigger.metric_value
    if goal <= 0 or metric is None:
        return None
    if trigger.above:  # AlarmHigh
        if suspended(target, "DynamicScalingOutSuspended"):
            return None
        base = int(cooldown["out_base"]) if trigger.when < cooldown["out_until"] else current
        wanted = math.ceil(base * metric / goal - 1e-9)
        return wanted if wanted > current else None
    # AlarmLow: scale in gradually (about a tenth of the capacity, at least one, per activity)
    if truthy(config.get("DisableScaleIn")) or suspended(target, "DynamicScalingInSuspended"):
        return None
    if trigger.when < cooldown["in_until"]:
        return None
    ideal = math.ceil(current * metric / goal - 1e-9)
    wanted = max(ideal, current - max(1, current // 10))
    return wanted if wanted < current else None


def _step_scaling(policy: Any, current: int, cooldown: dict[str, Any], target: Any,
                  trigger: AlarmTrigger) -> int | None:
    config = policy.step_scaling_policy_configuration or {}
    adjustment = select_step(config.get("StepAdjustments") or [], trigger)
    if adjustment is None:
        return None
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    magnitude = as_float(config.get("MinAdjustmentMagnitude"), 0.0) or None
    wanted = adjusted(current, kind, adjustment, magnitude)
    if wanted > current:
        if suspended(target, "DynamicScalingOutSuspended"):
            return None
        if trigger.when < cooldown["out_until"]:
            # the capacity added by the scale-out that started the cooldown counts as there
            wanted = adjusted(int(cooldown["out_base"]), kind, adjustment, magnitude)
            return wanted if wanted > current else None
        return wanted
    if wanted < current:
        if suspended(target, "DynamicScalingInSuspended") or trigger.when < cooldown["in_until"]:
            return None
        return wanted
    return None


# --------------------------------------------------------------------------- moto fixes


def _patch_target_tracking_alarms() -> None:
    """AWS's ECS target-tracking alarms: AlarmHigh is metric > TargetValue for 3 of 3 one-minute
    periods, AlarmLow is metric < 90% of TargetValue for 15 of 15 (none when DisableScaleIn).
    moto makes both with threshold 6, always on CPU; here they follow the policy's
    predefined (CPU, memory, ALB requests) or customised metric."""
    from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.moto_api._internal import mock_random

    @patches.replace(FakeApplicationAutoscalingPolicy, "_generate_ecs_alarms",
                     why="AWS's target-tracking alarms, on the policy's own metric")
    def _generate_ecs_alarms(self: Any) -> list[Any]:
        cloudwatch = cloudwatch_backends[self.account_id][self.region_name]
        config = self.target_tracking_scaling_policy_configuration or {}
        goal = float(config.get("TargetValue") or 0)
        metric = _tracked_metric(self.resource_id, config)
        action = f"{self.policy_arn}:createdBy/{mock_random.uuid4()}"
        alarms = []
        plans = [("AlarmHigh", "GreaterThanThreshold", 3, goal)]
        if not truthy(config.get("DisableScaleIn")):
            plans.append(("AlarmLow", "LessThanThreshold", 15, goal * LOW_ALARM_FACTOR))
        for suffix, operator, periods, threshold in plans:
            alarms.append(cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{self.resource_id}-{suffix}-{mock_random.uuid4()}",
                namespace=metric["namespace"], metric_name=metric["name"],
                metric_data_queries=[], comparison_operator=operator,
                evaluation_periods=periods, datapoints_to_alarm=periods, period=60,
                threshold=threshold, unit=metric["unit"], statistic=metric["statistic"],
                description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}.",
                dimensions=metric["dimensions"], alarm_actions=[action]))
        return alarms


def _tracked_metric(resource_id: str, config: dict[str, Any]) -> dict[str, Any]:
    shared = shared_tracked_metric(config)
    if shared is not None:
        return shared
    kind = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
    _, cluster, service = (resource_id.split("/") + ["", "", ""])[:3]
    return {"namespace": "AWS/ECS",
            "name": "MemoryUtilization" if "Memory" in kind else "CPUUtilization",
            "dimensions": [{"Name": "ClusterName", "Value": cluster},
                           {"Name": "ServiceName", "Value": service}],
            "statistic": "Average", "unit": "Percent"}


def _patch_policy_update_keeps_arn() -> None:
    """Putting a policy again updates it: AWS keeps its ARN and replaces its target-tracking
    alarms. moto mints a new ARN and leaves the old alarms behind, still firing."""
    from moto.applicationautoscaling.models import (
        ApplicationAutoscalingBackend,
        FakeApplicationAutoscalingPolicy,
    )

    @patches.wrap(ApplicationAutoscalingBackend, "put_scaling_policy",
                  why="putting a policy again keeps its ARN and replaces its alarms")
    def put_scaling_policy(original: Any, self: Any, policy_name: str,
                           service_namespace: str, resource_id: str, scalable_dimension: str,
                           policy_body: dict[str, Any], policy_type: str | None) -> Any:
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name)
        old = self.policies.get(key)
        policy = original(self, policy_name, service_namespace, resource_id,
                          scalable_dimension, policy_body, policy_type)
        if old is not None and old is not policy:
            old.delete_alarms(self.account_id, self.region_name)
            policy.policy_arn = old.policy_arn
        return policy


_patch_target_tracking_alarms()
_patch_policy_update_keeps_arn()


# --------------------------------------------------------------------------- API hooks


def _not_registered(request: Request) -> api.Response | None:
    """AWS refuses policies and scheduled actions for a target that is not registered."""
    params = request.params
    namespace = params.get("ServiceNamespace")
    resource_id = params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    if not (namespace and resource_id and dimension):
        return None  # moto/botocore report the missing parameter
    backend = find("applicationautoscaling", request.account_id, request.region)
    if backend is not None and resource_id in backend.targets.get(dimension, {}):
        return None
    return api.aws_error(
        "ObjectNotFoundException",
        f"No scalable target registered for service namespace: {namespace}, resource ID: "
        f"{resource_id}, scalable dimension: {dimension}", content_type=JSON_11)


@api.before("application-autoscaling", action="PutScalingPolicy")
def refuse_policy_without_target(plane: ControlPlane, request: Request) -> api.Response | None:
    """PutScalingPolicy before RegisterScalableTarget fails on AWS; moto accepts it."""
    return _not_registered(request)


@api.before("application-autoscaling", action="PutScheduledAction")
def check_scheduled_action(plane: ControlPlane, request: Request) -> api.Response | None:
    """AWS validates the target and the schedule expression; moto stores anything."""
    refused = _not_registered(request)
    if refused is not None:
        return refused
    schedule = request.params.get("Schedule")
    if schedule is None:
        return None  # an update may leave the schedule as it was
    problem = schedule_problem(schedule, request.params.get("Timezone"))
    if problem:
        return api.aws_error("ValidationException", problem, content_type=JSON_11)
    return None


@api.before("application-autoscaling", action="DescribeScalingActivities")
def describe_scaling_activities(plane: ControlPlane, request: Request) -> api.Response:
    """moto has no DescribeScalingActivities: answer from the activities we recorded."""
    params = request.params
    namespace = params.get("ServiceNamespace")
    resource_id = params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    if dimension and not resource_id:
        return api.aws_error("ValidationException",
                             "ResourceId must be specified when ScalableDimension is specified",
                             content_type=JSON_11)
    try:
        limit = max(1, min(50, int(params.get("MaxResults") or 50)))
        start = int(params.get("NextToken") or 0)
    except (TypeError, ValueError):
        return api.aws_error("InvalidNextTokenException", "Invalid token",
                             content_type=JSON_11)
    activities = [
        a for a in scaling_state(plane)["activities"]
        if a["_account"] == request.account_id and a["_region"] == request.region
        and a["ServiceNamespace"] == namespace
        and (not resource_id or a["ResourceId"] == resource_id)
        and (not dimension or a["ScalableDimension"] == dimension)]
    newest_first = [a for _, a in sorted(enumerate(activities),
                                         key=lambda pair: (pair[1]["StartTime"], pair[0]),
                                         reverse=True)]
    page = newest_first[start:start + limit]
    body: dict[str, Any] = {"ScalingActivities": [
        {k: v for k, v in a.items() if not k.startswith("_")} for a in page]}
    if start + limit < len(newest_first):
        body["NextToken"] = str(start + limit)
    return api.Response(200, body, JSON_11)


@api.before("application-autoscaling", action="RegisterScalableTarget")
def refuse_bad_scalable_target(plane: ControlPlane, request: Request) -> api.Response | None:
    """AWS refuses a MaxCapacity below the MinCapacity (either given, or the registered
    target's own when updating) and a target naming an ECS service that is not ACTIVE (moto
    accepted both, the second for a deleted service that DescribeServices still lists)."""
    params = request.params
    namespace, resource_id = params.get("ServiceNamespace"), params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    backend = find("applicationautoscaling", request.account_id, request.region)
    existing = None
    if backend is not None and dimension and resource_id:
        existing = backend.targets.get(dimension, {}).get(resource_id)
    low = params.get("MinCapacity", existing.min_capacity if existing is not None else None)
    high = params.get("MaxCapacity", existing.max_capacity if existing is not None else None)
    try:
        if low is not None and high is not None and int(low) > int(high):
            return api.aws_error(
                "ValidationException",
                f"Minimum capacity ({int(low)}) cannot be greater than maximum capacity "
                f"({int(high)}).", content_type=JSON_11)
    except (TypeError, ValueError):
        return None  # botocore/moto report a malformed number
    if namespace == "ecs" and isinstance(resource_id, str) and resource_id.count("/") == 2:
        ecs = find("ecs", request.account_id, request.region)
        _, cluster, name = resource_id.split("/")
        service = ecs.services.get(f"{cluster}:{name}") if ecs is not None else None
        if service is not None and service.status != "ACTIVE":
            return api.aws_error("ValidationException",
                                 f"ECS service doesn't exist: {resource_id}",
                                 content_type=JSON_11)
    return None


@api.before("application-autoscaling", action="DescribeScalingPolicies")
def describe_scaling_policies(plane: ControlPlane, request: Request) -> api.Response:
    """AWS filters by ``PolicyNames`` and matches ResourceId and ScalableDimension exactly;
    moto ignored the names and matched substrings (``service/c/web`` found ``service/c/w``'s
    policies)."""
    from moto.applicationautoscaling.responses import _build_policy

    params = request.params
    backend = find("applicationautoscaling", request.account_id, request.region)
    names = params.get("PolicyNames") or []
    resource_id = params.get("ResourceId")
    dimension = params.get("ScalableDimension")
    if dimension and not resource_id:
        return api.aws_error("ValidationException",
                             "ResourceId must be specified when ScalableDimension is specified",
                             content_type=JSON_11)
    try:
        limit = max(1, min(10, int(params.get("MaxResults") or 10)))  # AWS: 1-10
        start = int(params.get("NextToken") or 0)
    except (TypeError, ValueError):
        return api.aws_error("InvalidNextTokenException", "Invalid token",
                             content_type=JSON_11)
    policies = [
        p for p in (list(backend.policies.values()) if backend is not None else [])
        if p.service_namespace == params.get("ServiceNamespace")
        and (not names or p.policy_name in names)
        and (not resource_id or p.resource_id == resource_id)
        and (not dimension or p.scalable_dimension == dimension)]
    body: dict[str, Any] = {"ScalingPolicies": [_build_policy(p)
                                                for p in policies[start:start + limit]]}
    if start + limit < len(policies):
        body["NextToken"] = str(start + limit)
    return api.Response(200, body, JSON_11)
