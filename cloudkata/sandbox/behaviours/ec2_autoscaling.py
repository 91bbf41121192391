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
* ``DescribeScalingActivities`` answered an empty list. AWS records an activity for every
  instance a group launches or terminates ("Launching a new EC2 instance: i-...", with the
  cause: the user request, alarm or health check, and the capacity change), newest first.
  Here :func:`record_activities` notices every launch and termination, whoever made it (a
  request, a scaling policy, ECS managed scaling, EKS), and :func:`describe_scaling_activities`
  serves them.
* ``StartInstanceRefresh`` (the usual way to roll a group onto a new launch template version)
  is not implemented by moto (it crashed). Here it replaces every instance at once, from the
  group's launch template version, and records a refresh that ``DescribeInstanceRefreshes``
  shows Successful (AWS replaces them in batches, keeping MinHealthyPercentage in service;
  the sandbox does not simulate the batches).

User data: moto copies the launch template version's ``UserData`` onto the instances (and
``DescribeInstanceAttribute userData`` returns it); ``fidelity_ec2`` makes the versions that
``CreateLaunchTemplateVersion`` adds hold it as moto's launcher expects (they crashed it).
``TerminateInstanceInAutoScalingGroup`` is served there too; its activity's Cause reaches
:func:`record_activities` through :func:`note_instance_cause`.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

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
            _activity_state(plane)["lost"].extend(state.instance.id for state in lost)
            group.set_desired_capacity(group.desired_capacity)


# --- scaling activities --------------------------------------------------------------------

MAX_ACTIVITIES = 5000
ASG_XMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"


def _activity_state(plane: ControlPlane) -> dict[str, Any]:
    state: dict[str, Any] = plane.module_state("asg_activities", dict)
    state.setdefault("activities", [])  # oldest first, DescribeScalingActivities' fields
    state.setdefault("groups", {})  # group key -> {"arn", "desired", "instances": {id: where}}
    state.setdefault("causes", {})  # group key -> why its desired capacity changed, not yet used
    state.setdefault("lost", [])  # instance ids the health checks took out of service
    state.setdefault("instance_causes", {})  # instance id -> {"cause", "id"} of its removal
    return state


def _group_key(account: str, region: str, name: str) -> str:
    return f"{account}|{region}|{name}"


def iso(when: float) -> str:
    """AWS's timestamp in an activity's Cause: 2026-10-30T19:35:51Z."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_desired(plane: ControlPlane, account: str, region: str, name: str) -> int:
    """The group's desired capacity when the sandbox last looked (before this request)."""
    seen = _activity_state(plane)["groups"].get(_group_key(account, region, name))
    return int(seen["desired"]) if seen else 0


def note_cause(plane: ControlPlane, account: str, region: str, name: str, cause: str) -> None:
    """Why the group's capacity is about to change (the first sentence of the Cause of the
    activities the change makes): "At <time> a user request ... changing the desired capacity
    from 1 to 2." Scaling policies call this before they set the desired capacity."""
    _activity_state(plane)["causes"][_group_key(account, region, name)] = cause


def note_instance_cause(plane: ControlPlane, instance_id: str, cause: str,
                        activity_id: str) -> None:
    """The whole Cause, and the ActivityId, of the activity that records ``instance_id``
    leaving its group at the next look: a user's TerminateInstanceInAutoScalingGroup answers
    with that activity, and DescribeScalingActivities must show the same one."""
    _activity_state(plane)["instance_causes"][instance_id] = {"cause": cause, "id": activity_id}


def _capacity_cause(plane: ControlPlane, request: Request, what: str) -> None:
    backend = backends.find("autoscaling", request.account_id, request.region)
    name = str(request.params.get("AutoScalingGroupName", ""))
    group = backend.autoscaling_groups.get(name) if backend is not None else None
    if group is None:
        return
    before = previous_desired(plane, request.account_id, request.region, name)
    after = int(group.desired_capacity or 0)
    if before == after:
        return
    what = what.format(min=group.min_size, max=group.max_size, desired=after)
    note_cause(plane, request.account_id, request.region, name,
               f"At {iso(plane.now())} {what} changing the desired capacity from {before} "
               f"to {after}.")


@api.after("autoscaling", action="CreateAutoScalingGroup")
def _created(plane: ControlPlane, request: Request, _: Any) -> None:
    _capacity_cause(plane, request, "a user request created an AutoScalingGroup")


@api.after("autoscaling", action="UpdateAutoScalingGroup")
def _updated(plane: ControlPlane, request: Request, _: Any) -> None:
    _capacity_cause(plane, request, "a user request update of AutoScalingGroup constraints "
                                    "to min: {min}, max: {max}, desired: {desired}")


@api.after("autoscaling", action="SetDesiredCapacity")
def _set(plane: ControlPlane, request: Request, _: Any) -> None:
    _capacity_cause(plane, request, "a user request explicitly set group desired capacity")


def _activity(account: str, region: str, group_name: str, group_arn: str, description: str,
              cause: str, placement: list[str] | None, when: float,
              activity_id: str | None = None) -> dict[str, Any]:
    subnet, zone = (placement or [None, None])[:2]  # type: ignore[list-item]  # unplaced: no subnet, no zone
    details = {key: value for key, value in (("Subnet ID", subnet), ("Availability Zone", zone))
               if value}
    return {"ActivityId": activity_id or str(uuid.uuid4()), "AutoScalingGroupName": group_name,
            "AutoScalingGroupARN": group_arn, "Description": description, "Cause": cause,
            "StartTime": when, "EndTime": when, "StatusCode": "Successful", "Progress": 100,
            "Details": json.dumps(details, separators=(",", ":")),
            "_account": account, "_region": region, "_deleted": False}


@reconciler(95)
def record_activities(plane: ControlPlane) -> None:
    """Every instance a group gained or lost since the last look is an activity, with the
    cause noted for the group (a request, a policy) or the generic one AWS gives."""
    state = _activity_state(plane)
    seen: dict[str, dict[str, Any]] = state["groups"]
    causes: dict[str, str] = state["causes"]
    lost = set(state["lost"])
    noted: dict[str, dict[str, str]] = state["instance_causes"]
    activities: list[dict[str, Any]] = state["activities"]
    now = plane.now()
    live: set[str] = set()
    for account, region, backend in backends.loaded("autoscaling"):
        for group in list(backend.autoscaling_groups.values()):
            key = _group_key(account, region, group.name)
            live.add(key)
            previous = seen.get(key)
            if previous is not None and previous["arn"] != group.arn:
                _forget_group(activities, account, region, group.name)  # deleted, made again
                previous = None
            before: dict[str, list[str]] = dict(previous["instances"]) if previous else {}
            current = {s.instance.id: [s.instance.subnet_id, s.instance.placement.zone]
                       for s in group.instance_states}
            first = causes.pop(key, "")
            first = f"{first}  " if first else ""
            added = [i for i in current if i not in before]
            removed = [i for i in before if i not in current]
            count = len(before)
            for instance_id in removed:
                activity_id = None
                if instance_id in noted:
                    why, activity_id = noted[instance_id]["cause"], noted[instance_id]["id"]
                elif instance_id in lost:
                    why = (f"At {iso(now)} an instance was taken out of service in response to "
                           "an EC2 health check indicating it has been terminated or stopped.")
                else:
                    why = (f"{first}At {iso(now)} an instance was taken out of service in "
                           "response to a difference between desired and actual capacity, "
                           f"shrinking the capacity from {count} to {count - len(removed)}.")
                activities.append(_activity(account, region, group.name, group.arn,
                                            f"Terminating EC2 instance: {instance_id}", why,
                                            before[instance_id], now, activity_id))
            if added:
                base = count - len(removed)
                why = (f"{first}At {iso(now)} an instance was started in response to a "
                       "difference between desired and actual capacity, increasing the "
                       f"capacity from {base} to {base + len(added)}.")
                for instance_id in added:
                    activities.append(_activity(account, region, group.name, group.arn,
                                                f"Launching a new EC2 instance: {instance_id}",
                                                why, current[instance_id], now))
            seen[key] = {"arn": group.arn, "desired": int(group.desired_capacity or 0),
                         "instances": current}
    for key in [key for key in seen if key not in live]:
        account, region, name = key.split("|", 2)
        _forget_group(activities, account, region, name)
        del seen[key]
        causes.pop(key, None)
    state["lost"] = []
    state["instance_causes"] = {}
    del activities[:-MAX_ACTIVITIES]


def _forget_group(activities: list[dict[str, Any]], account: str, region: str,
                  name: str) -> None:
    """A deleted group's activities are listed only with IncludeDeletedGroups."""
    for activity in activities:
        if (activity["_account"], activity["_region"],
                activity["AutoScalingGroupName"]) == (account, region, name):
            activity["_deleted"] = True


def _members(params: dict[str, Any], name: str) -> list[str]:
    """A query-protocol list parameter (``Name.member.1``, ``Name.member.2``, ...)."""
    prefix = f"{name}.member."
    keyed = [(int(k[len(prefix):]), v) for k, v in params.items()
             if k.startswith(prefix) and k[len(prefix):].isdigit()]
    return [str(v) for _, v in sorted(keyed)]


@api.before("autoscaling", action="DescribeScalingActivities")
def describe_scaling_activities(plane: ControlPlane, request: Request) -> api.Response:
    """moto answered no activities: serve the ones recorded, newest first."""
    params = request.params
    name = params.get("AutoScalingGroupName")
    ids = set(_members(params, "ActivityIds"))
    with_deleted = str(params.get("IncludeDeletedGroups", "")).lower() == "true"
    try:
        limit = max(1, min(100, int(params.get("MaxRecords") or 100)))
        start = int(params.get("NextToken") or 0)
    except (TypeError, ValueError):
        return api.query_error("InvalidNextToken", "The token provided is not valid.")
    chosen = [a for a in _activity_state(plane)["activities"]
              if a["_account"] == request.account_id and a["_region"] == request.region
              and (not name or a["AutoScalingGroupName"] == name)
              and (not ids or a["ActivityId"] in ids)
              and (with_deleted or not a["_deleted"])]
    newest_first = [a for _, a in sorted(enumerate(chosen), reverse=True,
                                         key=lambda pair: (pair[1]["StartTime"], pair[0]))]
    page = newest_first[start:start + limit]
    members = "".join(_activity_xml(a) for a in page)
    token = (f"<NextToken>{start + limit}</NextToken>"
             if start + limit < len(newest_first) else "")
    body = (f'<DescribeScalingActivitiesResponse xmlns="{ASG_XMLNS}">'
            f"<DescribeScalingActivitiesResult><Activities>{members}</Activities>{token}"
            "</DescribeScalingActivitiesResult><ResponseMetadata><RequestId>"
            f"{uuid.uuid4()}</RequestId></ResponseMetadata></DescribeScalingActivitiesResponse>")
    return api.Response(200, body, "text/xml")


def _activity_xml(activity: dict[str, Any]) -> str:
    fields = []
    for key, value in activity.items():
        if key.startswith("_"):
            continue
        if key in ("StartTime", "EndTime"):
            value = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields.append(f"<{key}>{escape(str(value))}</{key}>")
    return "<member>" + "".join(fields) + "</member>"


# --- instance refresh ----------------------------------------------------------------------


def _refreshes(plane: ControlPlane) -> list[dict[str, Any]]:
    state: dict[str, Any] = plane.module_state("asg_instance_refreshes", dict)
    refreshes: list[dict[str, Any]] = state.setdefault("refreshes", [])
    return refreshes


def _asg_response(action: str, result: str) -> api.Response:
    return api.Response(200, (
        f'<{action}Response xmlns="{ASG_XMLNS}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"), "text/xml")


@api.before("autoscaling", action="StartInstanceRefresh")
def start_instance_refresh(plane: ControlPlane, request: Request) -> api.Response:
    """Replace every instance of the group from its launch template (moto: not implemented)."""
    group = _group(request)
    name = str(request.params.get("AutoScalingGroupName", ""))
    if group is None:
        return api.query_error("ValidationError", f"AutoScalingGroup name not found - {name}")
    now = plane.now()
    old = [state for state in group.instance_states if state.instance.state in LIVE_STATES]
    note_cause(plane, request.account_id, request.region, name,
               f"At {iso(now)} an instance was taken out of service in response to an "
               "instance refresh.")
    if old:
        group.autoscaling_backend.ec2_backend.terminate_instances(
            [state.instance.id for state in old])
        group.instance_states = [state for state in group.instance_states if state not in old]
        group.set_desired_capacity(group.desired_capacity)
    refresh_id = str(uuid.uuid4())
    _refreshes(plane).append({
        "InstanceRefreshId": refresh_id, "AutoScalingGroupName": name, "Status": "Successful",
        "StartTime": now, "EndTime": now, "PercentageComplete": 100, "InstancesToUpdate": 0,
        "_account": request.account_id, "_region": request.region})
    return _asg_response("StartInstanceRefresh",
                         f"<InstanceRefreshId>{refresh_id}</InstanceRefreshId>")


@api.before("autoscaling", action="DescribeInstanceRefreshes")
def describe_instance_refreshes(plane: ControlPlane, request: Request) -> api.Response:
    name = str(request.params.get("AutoScalingGroupName", ""))
    ids = set(_members(request.params, "InstanceRefreshIds"))
    chosen = [r for r in reversed(_refreshes(plane))
              if (r["_account"], r["_region"], r["AutoScalingGroupName"]) == (
                  request.account_id, request.region, name)
              and (not ids or r["InstanceRefreshId"] in ids)]
    members = "".join(_activity_xml(refresh) for refresh in chosen)
    return _asg_response("DescribeInstanceRefreshes",
                         f"<InstanceRefreshes>{members}</InstanceRefreshes>")


@api.before("autoscaling", action="CancelInstanceRefresh")
def cancel_instance_refresh(plane: ControlPlane, request: Request) -> api.Response:
    """The sandbox's refreshes finish at once, so none is ever in progress to cancel."""
    name = str(request.params.get("AutoScalingGroupName", ""))
    return api.query_error("ActiveInstanceRefreshNotFound",
                           f"No in progress or pending Instance Refresh found for Auto Scaling "
                           f"group {name}")
