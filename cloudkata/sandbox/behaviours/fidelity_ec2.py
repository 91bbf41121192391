"""EC2 launch template versions and EC2 Auto Scaling terminations as AWS does them.

Measured over HTTP against moto 5.2.5:

* ``CreateLaunchTemplateVersion --source-version N`` ignored N: the new version held only the
  parameters given. AWS: "If you specify this parameter, the new version inherits the launch
  parameters from the source version. If you specify additional launch parameters for the new
  version, they overwrite any corresponding launch parameters inherited from the source
  version." (CreateLaunchTemplateVersion, SourceVersion). An unknown source version is AWS's
  ``InvalidLaunchTemplateId.VersionNotFound``.
* A version made by ``CreateLaunchTemplateVersion`` with ``UserData`` kept it as a plain string
  (``CreateLaunchTemplate`` decodes it), so any Auto Scaling launch from that version crashed
  on moto's assertion in ``LaunchTemplateVersion.user_data``: ``CreateAutoScalingGroup``,
  ``StartInstanceRefresh`` (which then left the group without its instances). Now every version
  holds it as moto's ``Base64EncodedString`` (bad base64 is AWS's
  ``InvalidUserData.Malformed``), and the instances get their version's user data.
* ``TerminateInstanceInAutoScalingGroup`` crashed (StopIteration) for an instance that is in no
  group (already terminated, replaced, or never a member); AWS: ``ValidationError``, "Instance
  Id not found - No managed instance found for instance ID: i-...". With
  ``--should-decrement-desired-capacity`` at MinSize the request succeeded and a replacement
  launched (the bounds ``ec2_autoscaling`` keeps put the desired capacity back); AWS refuses
  ("Currently, desiredSize equals minSize (1). Terminating instance without replacement will
  violate group's min size constraint. ..."). The answer's Cause had moto's timestamp (real
  time, not the sandbox clock, and not AWS's format), and DescribeScalingActivities listed the
  termination as a capacity difference, not a user request.
  Here the request is served whole: the instance terminates, the desired capacity drops by one
  or a replacement launches, and the activity in the answer is the one listed afterwards.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from .. import patches
from ..control import api, backends
from ..control.plane import ControlPlane, Request
from . import ec2_autoscaling

# --- launch template versions -----------------------------------------------------------------


def _source_version(template: Any, wanted: str) -> Any:
    """The version ``--source-version`` names: a number, ``$Latest`` or ``$Default``."""
    from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound

    if wanted.lower() in ("$latest", "$default"):
        return template.get_version(wanted)
    if wanted.isdigit() and 1 <= int(wanted) <= len(template.versions):
        return template.versions[int(wanted) - 1]
    raise InvalidLaunchTemplateVersionNotFound(version=wanted, template_id=template.id)


def version_data(template: Any, given: dict[str, Any], source: str | None) -> dict[str, Any]:
    """A new version's data: the source version's (when named), each given parameter
    overwriting the inherited one; ``UserData`` decoded as moto's launcher expects."""
    from moto.ec2.utils import parse_user_data

    data = copy.deepcopy(_source_version(template, source).data) if source else {}
    for key, value in given.items():
        data[key] = parse_user_data(value) if key == "UserData" else value
    data.setdefault("UserData", None)  # as CreateLaunchTemplate stores it
    return data


def _patch_create_launch_template_version() -> None:
    """Restore: ``SourceVersion`` is the base of the new version, and its ``UserData`` is
    stored decoded (moto kept the string, which crashed every Auto Scaling launch)."""
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import MissingParameterError
    from moto.ec2.responses.launch_templates import LaunchTemplates

    @patches.replace(LaunchTemplates, "create_launch_template_version",
                     why="SourceVersion's parameters are inherited; UserData is stored decoded "
                         "(a string crashed Auto Scaling launches from the version)")
    def create_launch_template_version(self: Any) -> Any:
        name = self._get_param("LaunchTemplateName")
        template_id = self._get_param("LaunchTemplateId")
        if template_id:
            template = self.ec2_backend.get_launch_template(template_id)
        elif name:
            template = self.ec2_backend.get_launch_template_by_name(name)
        else:
            raise MissingParameterError("launch template ID or launch template name")
        description = self._get_param("VersionDescription")
        source = self._get_param("SourceVersion")
        data = version_data(template, self._get_param("LaunchTemplateData", {}) or {},
                            str(source) if source not in (None, "") else None)
        self.error_on_dryrun()
        version = template.create_version(data, description)
        return ActionResult({"LaunchTemplateVersion": {
            "CreateTime": version.create_time,
            "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
            "DefaultVersion": template.is_default(version),
            "LaunchTemplateData": version.data,
            "LaunchTemplateId": template.id,
            "LaunchTemplateName": template.name,
            "VersionDescription": version.description,
            "VersionNumber": version.number,
        }})


def _patch_version_user_data_decoded() -> None:
    """Restore, for versions a sandbox saved before the fix above: a version whose UserData
    is still a plain string gives it decoded (and keeps it so) instead of failing moto's
    assertion."""
    from moto.core.types import Base64EncodedString
    from moto.ec2.models.launch_templates import LaunchTemplateVersion
    from moto.ec2.utils import parse_user_data

    def user_data(self: Any) -> Base64EncodedString | None:
        value = self.data.get("UserData")
        if value is not None and not isinstance(value, Base64EncodedString):
            value = self.data["UserData"] = parse_user_data(value)
        return value

    patches.patch(LaunchTemplateVersion, "user_data", property(user_data),
                  why="a version's UserData saved as a plain string is decoded, not asserted")


_patch_create_launch_template_version()
_patch_version_user_data_decoded()


# --- TerminateInstanceInAutoScalingGroup ------------------------------------------------------


def _member(backend: Any, instance_id: str) -> tuple[Any, Any] | None:
    """(group, instance state) of the group that manages this (not terminated) instance."""
    if backend is None or not instance_id:
        return None
    for group in backend.autoscaling_groups.values():
        for state in group.instance_states:
            if state.instance.id == instance_id and state.instance.state not in (
                    "shutting-down", "terminated"):
                return group, state
    return None


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@api.before("autoscaling", action="TerminateInstanceInAutoScalingGroup")
def terminate_instance_in_auto_scaling_group(plane: ControlPlane,
                                             request: Request) -> api.Response:
    """The instance terminates; with ShouldDecrementDesiredCapacity the group shrinks by one
    (refused at MinSize), without it the group launches a replacement. Answers the activity,
    as AWS does (InProgress), and DescribeScalingActivities lists it."""
    instance_id = str(request.params.get("InstanceId") or "")
    decrement = str(request.params.get("ShouldDecrementDesiredCapacity", "")).lower() == "true"
    found = _member(backends.find("autoscaling", request.account_id, request.region),
                    instance_id)
    if found is None:
        return api.query_error("ValidationError", "Instance Id not found - No managed instance "
                                                  f"found for instance ID: {instance_id}")
    group, state = found
    desired = int(group.desired_capacity or 0)
    minimum = int(group.min_size or 0)
    if decrement and desired <= minimum:
        return api.query_error(
            "ValidationError",
            f"Currently, desiredSize equals minSize ({minimum}). Terminating instance without "
            "replacement will violate group's min size constraint. Either set "
            "shouldDecrementDesiredCapacity flag to false or lower group's min size.")
    now = plane.now()
    instance = state.instance
    cause = (f"At {ec2_autoscaling.iso(now)} instance {instance.id} was taken out of service "
             "in response to a user request")
    cause += f", shrinking the capacity from {desired} to {desired - 1}." if decrement else "."
    activity_id = str(uuid.uuid4())
    ec2_autoscaling.note_instance_cause(plane, instance.id, cause, activity_id)
    group.instance_states = [other for other in group.instance_states if other is not state]
    group.autoscaling_backend.ec2_backend.terminate_instances([instance.id])
    elbv2 = backends.find("elbv2", request.account_id, request.region)
    if elbv2 is not None:
        elbv2.notify_terminate_instances([instance.id])
    group.set_desired_capacity(desired - 1 if decrement else desired)
    details = {key: value for key, value in (("Subnet ID", instance.subnet_id),
                                             ("Availability Zone", instance.placement.zone))
               if value}
    fields = {"ActivityId": activity_id, "AutoScalingGroupName": group.name,
              "AutoScalingGroupARN": group.arn,
              "Description": f"Terminating EC2 instance: {instance.id}", "Cause": cause,
              "StartTime": _when(now), "StatusCode": "InProgress", "Progress": 0,
              "Details": json.dumps(details, separators=(",", ":"))}
    activity = "".join(f"<{key}>{escape(str(value))}</{key}>" for key, value in fields.items())
    action = "TerminateInstanceInAutoScalingGroup"
    return api.Response(200, (
        f'<{action}Response xmlns="{ec2_autoscaling.ASG_XMLNS}"><{action}Result>'
        f"<Activity>{activity}</Activity></{action}Result><ResponseMetadata><RequestId>"
        f"{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"), "text/xml")
