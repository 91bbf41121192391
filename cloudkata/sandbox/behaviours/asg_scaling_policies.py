"""EC2 Auto Scaling policies run by alarms: simple, step and target-tracking policies change the
group's desired capacity within MinSize/MaxSize (moto then launches or terminates instances).

Simple policies wait out the cooldown; step and target-tracking policies count the instances
still warming up as capacity already added. The alarms of a target-tracking policy are made
by ``asg_target_tracking``; the alarm evaluator reaches :func:`run_asg_policy` through
``app_autoscaling.execute_action``. Also here: PutScalingPolicy answers ``PolicyARN``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .. import patches
from ..control.backends import find
from ..control.plane import ControlPlane
from . import ec2_autoscaling
from .scaling_common import (
    DEFAULT_COOLDOWN,
    AlarmTrigger,
    adjusted,
    scaling_state,
    select_step,
    truthy,
)

ASG_POLICY = re.compile(
    r"arn:[\w-]+:autoscaling:(?P<region>[\w-]+):(?P<account>\d{12}):scalingPolicy:[^:]+:"
    r"autoScalingGroupName/(?P<group>[^:]+):policyName/(?P<name>[^:]+)$")


def _asg_target_tracking(policy: Any, current: int, cooldown: dict[str, Any],
                         trigger: AlarmTrigger) -> int | None:
    """An EC2 Auto Scaling target-tracking policy's desired capacity: out in proportion to
    metric / target (instances still warming up count as there), in gradually and only when
    no scale-out is warming up and scale-in is not disabled (see ``asg_target_tracking``)."""
    configuration = getattr(policy, "target_tracking_configuration", None)
    config = dict(vars(configuration)) if configuration is not None else {}
    goal = float(config.get("TargetValue") or 0)
    metric = trigger.metric_value
    if goal <= 0 or metric is None:
        return None
    warming = trigger.when < cooldown["until"]
    if trigger.above:
        base = int(cooldown["base"]) if warming else current
        wanted = math.ceil(base * metric / goal - 1e-9)
        return wanted if wanted > current else None
    if truthy(config.get("DisableScaleIn")) or warming:
        return None
    ideal = math.ceil(current * metric / goal - 1e-9)
    wanted = max(ideal, current - max(1, current // 10))
    return wanted if wanted < current else None


def run_asg_policy(plane: ControlPlane, account: str, region: str, group_name: str,
                    name: str, trigger: AlarmTrigger) -> str | None:
    """EC2 Auto Scaling simple, step and target-tracking policies."""
    backend = find("autoscaling", account, region)
    if backend is None:
        return None
    policy = backend.policies.get(name)
    group = backend.autoscaling_groups.get(group_name)
    if policy is None or group is None or policy.auto_scaling_group_name != group_name:
        return None
    current = int(group.desired_capacity or 0)
    kind = policy.adjustment_type or "ChangeInCapacity"
    magnitude = float(policy.min_adjustment_magnitude or 0) or None
    key = f"{account}|{region}|{group_name}"
    cooldown = scaling_state(plane)["asg_cooldowns"].setdefault(key, {"until": 0.0, "base": 0})
    when = trigger.when
    if (policy.policy_type or "SimpleScaling") == "SimpleScaling":
        if when < cooldown["until"]:
            return "the group is in its cooldown"  # simple policies wait out the cooldown
        wanted = adjusted(current, kind, float(policy.scaling_adjustment or 0), magnitude)
        wait = float(policy.cooldown or group.default_cooldown or DEFAULT_COOLDOWN)
    elif policy.policy_type == "StepScaling":
        adjustment = select_step(list(policy.step_adjustments or []), trigger)
        if adjustment is None:
            return "no step adjustment matches the metric value"
        wanted = adjusted(current, kind, adjustment, magnitude)
        if wanted > current and when < cooldown["until"]:
            # instances still warming up count as capacity already added
            wanted = adjusted(int(cooldown["base"]), kind, adjustment, magnitude)
            if wanted <= current:
                return "instances are still warming up"
        wait = float(policy.estimated_instance_warmup or group.default_cooldown
                     or DEFAULT_COOLDOWN)
    elif policy.policy_type == "TargetTrackingScaling":
        tracked = _asg_target_tracking(policy, current, cooldown, trigger)
        if tracked is None:
            return "no scaling needed"
        wanted = tracked
        wait = float(policy.estimated_instance_warmup or group.default_cooldown
                     or DEFAULT_COOLDOWN)
    else:
        return None
    capacity = max(int(group.min_size or 0), min(int(group.max_size or 0), wanted))
    if capacity == current:
        return "desired capacity already at its limit"
    if when >= cooldown["until"]:
        cooldown["base"] = current
    cooldown["until"] = when + wait
    # the group's scaling activities (one per instance) carry this cause
    ec2_autoscaling.note_cause(
        plane, account, region, group_name,
        f"At {ec2_autoscaling.iso(when)} a monitor alarm {trigger.alarm_name} in state "
        f"{trigger.state} triggered policy {name} changing the desired capacity from "
        f"{current} to {capacity}.")
    backend.set_desired_capacity(group_name, capacity)
    return f"set desired capacity to {capacity}"


def _patch_asg_policy_arn() -> None:
    """EC2 Auto Scaling's PutScalingPolicy answers ``PolicyARN`` (and ``Alarms``); moto writes
    ``PolicyArn``, which boto3 and the CLI drop, so a learner cannot wire the policy to an
    alarm."""
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    @patches.wrap(AutoScalingResponse, "put_scaling_policy",
                  why="PutScalingPolicy answers PolicyARN (moto: PolicyArn, which clients drop) "
                      "and the policy's alarms")
    def put_scaling_policy(original: Any, self: Any) -> Any:
        result = original(self)
        body = getattr(result, "result", None)
        if isinstance(body, dict) and "PolicyArn" in body and "PolicyARN" not in body:
            policy = self.autoscaling_backend.policies.get(self._get_param("PolicyName"))
            alarms = list(getattr(policy, "alarms", None) or [])
            return ActionResult({"PolicyARN": body["PolicyArn"], "Alarms": alarms})
        return result


_patch_asg_policy_arn()
