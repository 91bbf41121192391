"""What every scaling behaviour shares: the alarm's trigger, a scalable target's capacity, the
scaling-activity log and the saved state, and the step and adjustment arithmetic.

Application Auto Scaling policies (``app_autoscaling``), EC2 Auto Scaling policies
(``asg_scaling_policies``) and scheduled actions (``app_autoscaling_schedule``) all build on
it, so it lives below them and imports none of them. Their state is one entry of the control
plane's saved state, ``app_autoscaling`` (the name the state has always had, so saved
sandboxes load), holding the activities, the cooldowns and the scheduled actions' marks.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from ..control.backends import find
from ..control.plane import ControlPlane

DEFAULT_COOLDOWN = 300.0
"""Application Auto Scaling's default Cooldown / ScaleOutCooldown / ScaleInCooldown for ECS."""
MAX_ACTIVITIES = 2000


@dataclass(frozen=True)
class AlarmTrigger:
    """What an alarm tells the policy it runs: which alarm, its state, the breaching value."""

    alarm_name: str
    state: str
    metric_value: float | None
    threshold: float
    comparison: str
    when: float

    @property
    def above(self) -> bool:
        return self.comparison.startswith("Greater")


# --------------------------------------------------------------------------- state


def scaling_state(plane: ControlPlane) -> dict[str, Any]:
    state: dict[str, Any] = plane.module_state("app_autoscaling", dict)
    state.setdefault("activities", [])  # Application Auto Scaling activities, oldest first
    state.setdefault("cooldowns", {})  # scalable target key -> cooldown bookkeeping
    state.setdefault("scheduled", {})  # scheduled action key -> {"checked", "schedule", ...}
    state.setdefault("asg_cooldowns", {})  # group key -> {"until", "base"}
    return state


def record_activity(plane: ControlPlane, account: str, region: str, namespace: str,
                    resource_id: str, dimension: str, description: str, cause: str,
                    message: str, when: float) -> dict[str, Any]:
    """Append one successful scaling activity in DescribeScalingActivities' shape."""
    activity = {
        "ActivityId": str(uuid.uuid4()),
        "ServiceNamespace": namespace,
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "Description": description,
        "Cause": cause,
        "StartTime": when,
        "EndTime": when,
        "StatusCode": "Successful",
        "StatusMessage": message,
        "_account": account,
        "_region": region,
    }
    activities: list[dict[str, Any]] = scaling_state(plane)["activities"]
    activities.append(activity)
    del activities[:-MAX_ACTIVITIES]
    return activity


# --------------------------------------------------------------------------- capacity


def _ecs_service(account: str, region: str, resource_id: str) -> Any | None:
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service":
        return None
    ecs = find("ecs", account, region)
    if ecs is None:
        return None
    service = ecs.services.get(f"{parts[1]}:{parts[2]}")
    return service if service is not None and service.status == "ACTIVE" else None


def current_capacity(account: str, region: str, target: Any) -> int | None:
    if target.service_namespace == "ecs":
        service = _ecs_service(account, region, target.resource_id)
        return None if service is None else int(service.desired_count or 0)
    return None  # other namespaces are stored but not simulated


def _set_capacity(account: str, region: str, target: Any, capacity: int) -> None:
    """ECS: UpdateService(desiredCount), as Application Auto Scaling calls it."""
    service = _ecs_service(account, region, target.resource_id)
    if service is None:
        return
    service.desired_count = capacity
    for deployment in getattr(service, "deployments", None) or []:
        if isinstance(deployment, dict) and deployment.get("status") == "PRIMARY":
            deployment["desiredCount"] = capacity


def shared_tracked_metric(config: dict[str, Any]) -> dict[str, Any] | None:
    """The metric a target-tracking policy tracks when it is its own (customized) or the
    load balancer's request count per target, which ECS services and ASGs track alike; None
    for a predefined metric of the scaled resource, which the caller knows how to name."""
    custom = config.get("CustomizedMetricSpecification") or {}
    if custom.get("MetricName"):
        return {"namespace": custom.get("Namespace"), "name": custom["MetricName"],
                "dimensions": list(custom.get("Dimensions") or []),
                "statistic": custom.get("Statistic") or "Average", "unit": custom.get("Unit")}
    spec = config.get("PredefinedMetricSpecification") or {}
    if spec.get("PredefinedMetricType") == "ALBRequestCountPerTarget":
        label = spec.get("ResourceLabel") or ""
        group = label[label.find("targetgroup/"):] if "targetgroup/" in label else label
        return {"namespace": "AWS/ApplicationELB", "name": "RequestCountPerTarget",
                "dimensions": [{"Name": "TargetGroup", "Value": group}], "statistic": "Sum",
                "unit": None}
    return None


def truthy(value: Any) -> bool:
    """A boolean from the API (True) or from a CloudFormation template ("true")."""
    return value is True or str(value).lower() == "true"


def suspended(target: Any, what: str) -> bool:
    state = target.suspended_state or {}
    return isinstance(state, dict) and truthy(state.get(what))


def change_capacity(plane: ControlPlane, account: str, region: str, target: Any,
                     capacity: int, cause: str, when: float) -> bool:
    """Set a scalable target's capacity, record the activity; False if nothing changed."""
    current = current_capacity(account, region, target)
    if current is None or capacity == current:
        return False
    _set_capacity(account, region, target, capacity)
    noun = "desired count" if target.service_namespace == "ecs" else "capacity"
    fulfilled = f" Change successfully fulfilled by {target.service_namespace}."
    record_activity(plane, account, region, target.service_namespace, target.resource_id,
                    target.scalable_dimension, f"Setting {noun} to {capacity}.", cause,
                    f"Successfully set {noun} to {capacity}.{fulfilled}", when)
    return True


def adjusted(current: int, adjustment_type: str, adjustment: float,
             min_magnitude: float | None = None) -> int:
    """Capacity after one adjustment, rounded as Auto Scaling documents it."""
    if adjustment_type == "ExactCapacity":
        return int(adjustment)
    if adjustment_type == "PercentChangeInCapacity":
        change = current * adjustment / 100.0
        if 0 < change < 1:
            step = 1
        elif -1 < change < 0:
            step = -1
        else:
            step = int(change)  # above 1 rounds down, below -1 rounds up (toward zero)
        if min_magnitude and step and abs(step) < min_magnitude:
            step = int(math.copysign(int(min_magnitude), step))
        return current + step
    return current + int(adjustment)  # ChangeInCapacity


def as_float(value: Any, default: float) -> float:
    return default if value in (None, "") else float(value)


def select_step(steps: list[dict[str, Any]], trigger: AlarmTrigger) -> float | None:
    """The ScalingAdjustment of the step containing (metric - threshold), or None.

    Above the threshold the lower bound is inclusive and the upper exclusive; below it the
    lower bound is exclusive and the upper inclusive (AWS's rule).
    """
    value = trigger.metric_value if trigger.metric_value is not None else trigger.threshold
    delta = value - trigger.threshold
    for step in steps:
        lower = as_float(step.get("MetricIntervalLowerBound"), -math.inf)
        upper = as_float(step.get("MetricIntervalUpperBound"), math.inf)
        inside = (lower <= delta < upper) if trigger.above else (lower < delta <= upper)
        if inside:
            return float(step.get("ScalingAdjustment", 0))
    return None
