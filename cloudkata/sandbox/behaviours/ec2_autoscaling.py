"""EC2 Auto Scaling as AWS runs it: instances get their profile, spread over AZs, stay in bounds.

Where moto 5.2.5 differs from AWS, measured (shared/design/sandbox-fidelity.md):

* ASG instances do not get the launch template's ``IamInstanceProfile``. On AWS they do, and
  an ECS container instance can only register through that profile's role, so without it no
  ECS-on-EC2 lab could work. The same holds for ``RunInstances`` with a launch template, and
  ``RunInstances --count 2 --iam-instance-profile ...`` gave the profile to the first
  instance only. (:func:`_patch_run_instances_applies_instance_profiles`)
* All instances land in the first subnet of ``VPCZoneIdentifier``. AWS balances the group
  across its Availability Zones, launching each instance into the AZ with the fewest; a
  learner's "two instances in two AZs" depends on it.
  (:func:`_patch_asg_launches_balanced_across_azs`, which also launches from the group's own
  launch template version, not always the template's default one. The groups of EKS managed
  node groups launch as EKS does instead, in the same patch: see ``eks_nodes``.)
* The desired capacity may leave [MinSize, MaxSize]. AWS refuses such a request with a
  ``ValidationError`` (the hooks below, with AWS's exact messages) and keeps every implicit
  change — scaling policies, a lowered MaxSize — inside the bounds
  (:func:`_patch_desired_capacity_stays_within_bounds`).
* A stopped (or otherwise vanished) instance stays InService for ever. AWS's health checks
  find it impaired, terminate it and launch a replacement (:func:`replace_lost_instances`).

User data: moto already copies the launch template's ``UserData`` onto the instances (and
``DescribeInstanceAttribute userData`` returns it), so nothing is needed for it here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cloudkata.sandbox import patches
from cloudkata.sandbox.control import api, backends
from cloudkata.sandbox.control.plane import ControlPlane, Request, reconciler

from . import eks_nodes

PROFILE_ERROR_ATTRIBUTE = "cloudkata_profile_error"
"""Set on a moto ``Instance`` whose launch template names an instance profile that could not
be applied (e.g. it does not exist); the ECS agent behaviour reports it as its reason."""

LIVE_STATES = ("pending", "running")


# --- patches -------------------------------------------------------------------------------


def _profile_spec(profile: Any) -> dict[str, str | None]:
    """``{"Name": ...}`` / ``{"Arn": ...}`` (templates) or a bare name/ARN (launch configs)."""
    if isinstance(profile, dict):
        return {"iam_instance_profile_name": profile.get("Name"),
                "iam_instance_profile_arn": profile.get("Arn")}
    if isinstance(profile, str) and profile:
        key = "iam_instance_profile_arn" if profile.startswith("arn:") else (
            "iam_instance_profile_name")
        return {key: profile}
    return {}


def _associate(backend: Any, instance: Any, spec: dict[str, str | None]) -> None:
    """Give ``instance`` the profile, as EC2 does at launch; note why if it cannot."""
    if not any(spec.values()) or backend.iam_instance_profile_associations.get(instance.id):
        return
    try:
        backend.associate_iam_instance_profile(instance_id=instance.id, **spec)
    except Exception as exc:  # noqa: BLE001 - a missing profile must not fail the launch
        name = spec.get("iam_instance_profile_name") or spec.get("iam_instance_profile_arn")
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        setattr(instance, PROFILE_ERROR_ATTRIBUTE,
                f"instance profile {name} from the launch template could not be applied "
                f"({detail})")


def _patch_run_instances_applies_instance_profiles() -> None:
    """Restore: instances launched from a launch template (by RunInstances or by an ASG) or a
    launch configuration carry its ``IamInstanceProfile``; an explicit profile goes to every
    instance of a multi-instance RunInstances, not the first only."""
    from moto.ec2.models.instances import InstanceBackend

    @patches.wrap(InstanceBackend, "run_instances",
                  why="instances get their launch template's or configuration's instance "
                      "profile; an explicit one goes to every instance")
    def run_instances(original: Any, self: Any, image_id: str, count: int, user_data: Any,
                      security_group_names: list[str], **kwargs: Any) -> Any:
        explicit = {"iam_instance_profile_name": kwargs.get("iam_instance_profile_name"),
                    "iam_instance_profile_arn": kwargs.get("iam_instance_profile_arn")}
        template_arg = kwargs.get("launch_template")
        launch_config = kwargs.get("launch_config")
        reservation = original(self, image_id, count, user_data, security_group_names,
                               **kwargs)
        instances = list(reservation.instances)
        if any(explicit.values()):
            # moto's RunInstances handler associates the first instance itself, afterwards
            spec, targets = explicit, instances[1:]
        elif template_arg:
            data = self._get_template_from_args(template_arg).data
            spec, targets = _profile_spec(data.get("IamInstanceProfile")), instances
        elif launch_config is not None:
            spec = _profile_spec(getattr(launch_config, "iam_instance_profile", None))
            targets = instances
        else:
            return reservation
        for instance in targets:
            _associate(self, instance, spec)
        return reservation


def _slots(group: Any) -> list[tuple[str | None, str]]:
    """(subnet, AZ) pairs the group may launch into, in the order the learner gave them."""
    ec2 = group.autoscaling_backend.ec2_backend
    if group.vpc_zone_identifier:
        slots: list[tuple[str | None, str]] = []
        for subnet_id in (s.strip() for s in group.vpc_zone_identifier.split(",")):
            if subnet_id:
                slots.append((subnet_id, ec2.get_subnet(subnet_id).availability_zone))
        return slots
    zones = list(group.availability_zones or []) or [f"{group.region}a"]
    return [(None, zone) for zone in zones]


def _next_slot(slots: list[tuple[str | None, str]],
               live: list[Any]) -> tuple[str | None, str]:
    """AWS's AZ balancing: the AZ with the fewest instances, then its emptiest subnet; ties go
    to the earliest in the list, so a new group fills its AZs round robin."""
    per_zone = Counter(instance.placement.zone for instance in live)
    per_subnet = Counter(instance.subnet_id for instance in live)
    return min(slots, key=lambda slot: (per_zone[slot[1]], per_subnet[slot[0]]))


def _patch_asg_launches_balanced_across_azs() -> None:
    """Restore: an ASG launches each instance into its least-populated Availability Zone (moto
    put them all in the first subnet), from the group's launch template *version* (moto used
    the template's default version for tags and the instance profile).

    The one patch of moto's launcher, so nothing depends on import order: the group of an EKS
    managed node group launches as EKS does (:func:`eks_nodes.launch_nodes`: Spot, the node
    group's instance types); any other group launches here."""
    from moto.autoscaling.models import FakeAutoScalingGroup

    @patches.replace(FakeAutoScalingGroup, "replace_autoscaling_group_instances",
                     why="instances launch balanced across the group's AZs, from its launch "
                         "template version; a node group's as EKS launches them")
    def replace_autoscaling_group_instances(self: Any, count_needed: int,
                                            propagated_tags: dict[str, str]) -> None:
        if not eks_nodes.launch_nodes(self, count_needed, propagated_tags):
            _launch_balanced(self, count_needed, propagated_tags)


def _launch_balanced(group: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
    """moto's launcher for a group, with AWS's AZ balancing and launch template version."""
    from moto.autoscaling.models import ASG_NAME_TAG, InstanceState

    propagated_tags[ASG_NAME_TAG] = group.name
    propagated_tags.update(group.instance_tags)
    ec2 = group.autoscaling_backend.ec2_backend
    associate_public_ip = (group.launch_config.associate_public_ip_address
                           if group.launch_config else None)
    launch_template = None
    if group.ec2_launch_template:
        launch_template = {"LaunchTemplateId": group.ec2_launch_template.id,
                           "Version": str(getattr(group, "launch_template_version", None)
                                          or "$Default")}
    slots = _slots(group)
    for _ in range(count_needed):
        live = [state.instance for state in group.instance_states
                if state.instance.state in LIVE_STATES]
        subnet_id, zone = _next_slot(slots, live)
        reservation = ec2.run_instances(
            group.image_id,
            1,
            group.user_data,
            group.security_groups,
            instance_type=group.instance_type,
            tags={"instance": dict(propagated_tags)},
            placement=zone,
            launch_config=group.launch_config,
            launch_template=launch_template,
            is_instance_type_default=False,
            associate_public_ip=associate_public_ip,
            subnet_id=subnet_id,
        )
        for instance in reservation.instances:
            instance.autoscaling_group = group
            group.instance_states.append(InstanceState(
                instance, protected_from_scale_in=group.new_instances_protected_from_scale_in))


def clamp(desired: int, min_size: int | None, max_size: int | None) -> int:
    """``desired`` kept within the group's bounds (a bound of None does not limit)."""
    if max_size is not None:
        desired = min(desired, max_size)
    if min_size is not None:
        desired = max(desired, min_size)
    return desired


def _patch_desired_capacity_stays_within_bounds() -> None:
    """Restore: a group's desired capacity never leaves [MinSize, MaxSize]. Explicit requests
    out of bounds are refused by the hooks below; implicit ones (scaling policies, a new
    MaxSize below the current size) are capped as AWS caps them."""
    from moto.autoscaling.models import FakeAutoScalingGroup

    @patches.wrap(FakeAutoScalingGroup, "set_desired_capacity",
                  why="an implicit desired capacity is capped to [MinSize, MaxSize]")
    def set_desired_capacity(original_set: Any, self: Any, new_capacity: int | None) -> None:
        if new_capacity is not None:
            new_capacity = clamp(int(new_capacity), self.min_size, self.max_size)
        original_set(self, new_capacity)

    @patches.wrap(FakeAutoScalingGroup, "update",
                  why="new bounds that exclude the desired capacity cap it, as AWS does")
    def update(original_update: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        original_update(self, *args, **kwargs)
        desired = self.desired_capacity
        if desired is not None and clamp(desired, self.min_size, self.max_size) != desired:
            self.set_desired_capacity(desired)


def _patch_delete_terminates_every_instance() -> None:
    """Restore: deleting a group (with --force-delete) terminates all of its instances. moto
    scales it to 0 first, which the bounds above would cap at MinSize and leave instances."""
    from moto.autoscaling.models import AutoScalingBackend

    @patches.wrap(AutoScalingBackend, "delete_auto_scaling_group",
                  why="force-deleting a group terminates every instance, MinSize or not")
    def delete_auto_scaling_group(original: Any, self: Any, group_name: str) -> None:
        group = self.autoscaling_groups.get(group_name)
        if group is not None:
            group.min_size = 0
        original(self, group_name)


_patch_run_instances_applies_instance_profiles()
_patch_asg_launches_balanced_across_azs()
_patch_desired_capacity_stays_within_bounds()
_patch_delete_terminates_every_instance()


# --- validation hooks ----------------------------------------------------------------------


def _int(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _bounds_error(min_size: int | None, max_size: int | None,
                  desired: int | None) -> api.Response | None:
    """AWS's CreateAutoScalingGroup / UpdateAutoScalingGroup refusals, word for word."""
    if min_size is not None and max_size is not None and min_size > max_size:
        return api.query_error(
            "ValidationError",
            f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}")
    if desired is not None and min_size is not None and max_size is not None and not (
            min_size <= desired <= max_size):
        return api.query_error(
            "ValidationError",
            f"Desired capacity:{desired} must be between the specified min size:{min_size} "
            f"and max size:{max_size}")
    return None


def _group(request: Request) -> Any | None:
    backend = backends.find("autoscaling", request.account_id, request.region)
    if backend is None:
        return None
    return backend.autoscaling_groups.get(str(request.params.get("AutoScalingGroupName", "")))


@api.before("autoscaling", action="CreateAutoScalingGroup")
def refuse_create_out_of_bounds(plane: ControlPlane, request: Request) -> api.Response | None:
    """AWS refuses a group whose DesiredCapacity is outside [MinSize, MaxSize], or whose
    MaxSize is below its MinSize; moto created it (and launched past MaxSize)."""
    params = request.params
    return _bounds_error(_int(params, "MinSize"), _int(params, "MaxSize"),
                         _int(params, "DesiredCapacity"))


@api.before("autoscaling", action="UpdateAutoScalingGroup")
def refuse_update_out_of_bounds(plane: ControlPlane, request: Request) -> api.Response | None:
    """The same rule, judged on the group as it would be after the update."""
    group = _group(request)
    if group is None:
        return None
    params = request.params
    min_size = _int(params, "MinSize")
    max_size = _int(params, "MaxSize")
    return _bounds_error(group.min_size if min_size is None else min_size,
                         group.max_size if max_size is None else max_size,
                         _int(params, "DesiredCapacity"))


@api.before("autoscaling", action="SetDesiredCapacity")
def refuse_desired_out_of_bounds(plane: ControlPlane, request: Request) -> api.Response | None:
    """``set-desired-capacity`` beyond the bounds: AWS's ValidationError, not a bigger group."""
    group = _group(request)
    desired = _int(request.params, "DesiredCapacity")
    if group is None or desired is None:
        return None
    if group.max_size is not None and desired > group.max_size:
        return api.query_error(
            "ValidationError",
            f"New SetDesiredCapacity value {desired} is above max value {group.max_size} "
            "for the AutoScalingGroup.")
    if group.min_size is not None and desired < group.min_size:
        return api.query_error(
            "ValidationError",
            f"New SetDesiredCapacity value {desired} is below min value {group.min_size} "
            "for the AutoScalingGroup.")
    return None


# --- reconciler ----------------------------------------------------------------------------


@reconciler(10)
def replace_lost_instances(plane: ControlPlane) -> None:
    """An InService instance that is stopped, terminated or gone is replaced, as AWS's EC2
    health checks do: a stopped one is terminated, the group launches a new one to get back
    to its desired capacity. (moto only did this for TerminateInstances sent to EC2.)"""
    for _, _, backend in backends.loaded("autoscaling"):
        for group in list(backend.autoscaling_groups.values()):
            lost = [state for state in group.instance_states
                    if state.instance.state not in LIVE_STATES]
            if not lost:
                continue
            stopped = [state.instance.id for state in lost
                       if state.instance.state in ("stopping", "stopped")]
            if stopped:
                backend.ec2_backend.terminate_instances(stopped)
            group.instance_states = [state for state in group.instance_states
                                     if state not in lost]
            group.set_desired_capacity(group.desired_capacity)
