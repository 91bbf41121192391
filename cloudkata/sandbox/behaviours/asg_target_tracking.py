"""EC2 Auto Scaling target tracking: the two CloudWatch alarms AWS creates for the policy.

moto stores a ``TargetTrackingScaling`` policy of an Auto Scaling group and nothing else: no
alarms, so nothing ever scales. On AWS the policy owns two alarms on its metric (for
``ASGAverageCPUUtilization``: ``AWS/EC2`` ``CPUUtilization``, Average, dimension
``AutoScalingGroupName``): ``TargetTracking-<group>-AlarmHigh-<id>`` (above the target for 3
of 3 one-minute periods) and ``TargetTracking-<group>-AlarmLow-<id>`` (below 90% of the target
for 15 of 15, absent with ``DisableScaleIn``), whose action is the policy. PutScalingPolicy
and DescribePolicies list them; putting the policy again replaces them; deleting the policy
(or its group) deletes them.

The rest is shared with the other scaling policies: the alarm evaluator (``alarms.py``) runs
the policy when an alarm is in ALARM, ``asg_scaling_policies`` computes the new desired capacity
(out: ``ceil(capacity x metric / target)``; in: gradually, about a tenth at a time) within
MinSize/MaxSize and the instance warm-up, and ``load_metrics`` publishes the group's CPU,
which ``POST /cloudkata/load {"group": ..., "cpu": ...}`` sets.
"""

from __future__ import annotations

from typing import Any

from .. import patches
from ..control.backends import loaded
from ..control.plane import ControlPlane, reconciler
from .scaling_common import shared_tracked_metric

HIGH_PERIODS = 3
LOW_PERIODS = 15
LOW_FACTOR = 0.9
OWNER = "_cloudkata_asg_policy"
"""Set on the alarms made here: (group name, policy name) of the policy that owns them."""

_PREDEFINED = {
    "ASGAverageCPUUtilization": ("AWS/EC2", "CPUUtilization", "Average", "Percent"),
    "ASGAverageNetworkIn": ("AWS/EC2", "NetworkIn", "Average", "Bytes"),
    "ASGAverageNetworkOut": ("AWS/EC2", "NetworkOut", "Average", "Bytes"),
}


def _config(policy: Any) -> dict[str, Any]:
    configuration = getattr(policy, "target_tracking_configuration", None)
    return dict(vars(configuration)) if configuration is not None else {}


def tracked_metric(group_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Namespace, name, dimensions, statistic and unit of the metric the policy tracks."""
    shared = shared_tracked_metric(config)
    if shared is not None:
        return shared
    spec = config.get("PredefinedMetricSpecification") or {}
    kind = spec.get("PredefinedMetricType", "ASGAverageCPUUtilization")
    namespace, name, statistic, unit = _PREDEFINED.get(
        kind, _PREDEFINED["ASGAverageCPUUtilization"])
    return {"namespace": namespace, "name": name, "statistic": statistic, "unit": unit,
            "dimensions": [{"Name": "AutoScalingGroupName", "Value": group_name}]}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _create_alarms(backend: Any, policy: Any) -> list[dict[str, str]]:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.moto_api._internal import mock_random

    cloudwatch = cloudwatch_backends[backend.account_id][backend.region_name]
    config = _config(policy)
    goal = float(config.get("TargetValue") or 0)
    group = policy.auto_scaling_group_name
    metric = tracked_metric(group, config)
    plans = [("AlarmHigh", "GreaterThanThreshold", HIGH_PERIODS, goal)]
    if not _truthy(config.get("DisableScaleIn")):
        plans.append(("AlarmLow", "LessThanThreshold", LOW_PERIODS, goal * LOW_FACTOR))
    made = []
    for suffix, operator, periods, threshold in plans:
        alarm = cloudwatch.put_metric_alarm(
            name=f"TargetTracking-{group}-{suffix}-{mock_random.uuid4()}",
            namespace=metric["namespace"], metric_name=metric["name"],
            metric_data_queries=[], comparison_operator=operator,
            evaluation_periods=periods, datapoints_to_alarm=periods, period=60,
            threshold=threshold, unit=metric["unit"], statistic=metric["statistic"],
            description=("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy "
                         f"{policy.arn}."),
            dimensions=metric["dimensions"], alarm_actions=[policy.arn])
        setattr(alarm, OWNER, [group, policy.name])
        made.append({"AlarmName": alarm.name, "AlarmARN": alarm.alarm_arn})
    return made


def _delete_alarms(backend: Any, alarms: list[dict[str, str]]) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    names = [alarm["AlarmName"] for alarm in alarms or []]
    if names:
        cloudwatch_backends[backend.account_id][backend.region_name].delete_alarms(names)


def _patch_target_tracking_policies_own_alarms() -> None:
    """Restore: a target-tracking policy of an Auto Scaling group creates its AlarmHigh and
    AlarmLow alarms (moto: none), and putting it again replaces them."""
    from moto.autoscaling.models import AutoScalingBackend

    @patches.wrap(AutoScalingBackend, "put_scaling_policy",
                  why="a target-tracking policy creates (and on update replaces) its alarms")
    def put_scaling_policy(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        previous = self.policies.get(name)
        policy = original(self, *args, **kwargs)
        if previous is not None:
            _delete_alarms(self, getattr(previous, "alarms", []))
        policy.alarms = (_create_alarms(self, policy)
                         if policy.policy_type == "TargetTrackingScaling" else [])
        return policy


_patch_target_tracking_policies_own_alarms()


@reconciler(15)
def delete_orphaned_alarms(plane: ControlPlane) -> None:
    """Deleting a policy, or the group it scales, deletes the alarms target tracking made."""
    groups = {(account, region): backend for account, region, backend in loaded("autoscaling")}
    for account, region, cloudwatch in loaded("cloudwatch"):
        backend = groups.get((account, region))
        orphans = []
        for alarm in list(cloudwatch.alarms.values()):
            owner = getattr(alarm, OWNER, None)
            if not owner:
                continue
            group, name = owner
            policy = backend.policies.get(name) if backend is not None else None
            if (policy is None or backend is None or policy.auto_scaling_group_name != group
                    or group not in backend.autoscaling_groups
                    or alarm.name not in [a["AlarmName"] for a in
                                          getattr(policy, "alarms", None) or []]):
                orphans.append(alarm.name)
        if orphans:
            cloudwatch.delete_alarms(orphans)
