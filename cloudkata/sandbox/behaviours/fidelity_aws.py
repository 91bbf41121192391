"""EC2, ELBv2 and IAM answers AWS gives and moto does not: refusals, never a crash.

Measured over HTTP against moto 5.2.5:

* ``DeleteSubnet`` deleted a subnet with instances in it (the instances stayed, in a subnet
  that no longer existed). AWS refuses while anything has a network interface there:
  ``DependencyViolation``, "The subnet 'subnet-...' has dependencies and cannot be deleted."
  Here a subnet with an instance that is not terminated is refused.
* ``DeleteNatGateway`` of an unknown id crashed (AWS: ``NatGatewayNotFound``).
* ELBv2 ``CreateRule`` without ``Conditions`` crashed (AWS: a ValidationError).
* IAM ``CreateServiceLinkedRole`` with a service name that is not ``x.amazonaws.com``-shaped
  crashed (AWS: ``InvalidInput``).
* EC2 ``DeleteLaunchTemplateVersions`` is not implemented by moto (it crashed). Its versions
  are numbered by position, so deleting one cannot be simulated safely: the sandbox says so
  in AWS's shape (``UnsupportedOperation``) instead of failing.

Request hooks only: no moto patch.
"""

from __future__ import annotations

import re
from typing import Any

from ..control import api, backends
from ..control.plane import ControlPlane, Request


def _ec2(request: Request) -> Any | None:
    return backends.find("ec2", request.account_id, request.region)


@api.before("ec2", action="DeleteSubnet")
def refuse_delete_of_a_subnet_in_use(plane: ControlPlane, request: Request) -> api.Response | None:
    ec2 = _ec2(request)
    subnet_id = str(request.params.get("SubnetId") or "")
    if ec2 is None or not subnet_id:
        return None
    in_use = [instance for instance in ec2.all_instances()
              if instance.subnet_id == subnet_id and instance.state != "terminated"]
    if not in_use:
        return None
    return api.query_error("DependencyViolation",
                           f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")


@api.before("ec2", action="DeleteNatGateway")
def refuse_delete_of_an_unknown_nat_gateway(plane: ControlPlane,
                                            request: Request) -> api.Response | None:
    ec2 = _ec2(request)
    gateway_id = str(request.params.get("NatGatewayId") or "")
    if ec2 is None or not gateway_id or gateway_id in ec2.nat_gateways:
        return None
    return api.query_error("NatGatewayNotFound", f"The Nat Gateway {gateway_id} was not found")


@api.before("ec2", action="DeleteLaunchTemplateVersions")
def delete_launch_template_versions(plane: ControlPlane, request: Request) -> api.Response:
    return api.query_error(
        "UnsupportedOperation",
        "The cloudkata sandbox cannot delete launch template versions. Create a new version "
        "and make it the default (modify-launch-template --default-version), or delete the "
        "whole template.")


@api.before("elasticloadbalancing", action="CreateRule")
def refuse_a_rule_without_conditions(plane: ControlPlane,
                                     request: Request) -> api.Response | None:
    if any(key.startswith("Conditions.member.") for key in request.params):
        return None
    return api.query_error("ValidationError",
                           "1 validation error detected: Value null at 'conditions' failed to "
                           "satisfy constraint: Member must not be null")


_SERVICE_PRINCIPAL = re.compile(r"^[\w.-]+\.amazonaws\.com(\.cn)?$")


@api.before("iam", action="CreateServiceLinkedRole")
def refuse_an_invalid_service_name(plane: ControlPlane, request: Request) -> api.Response | None:
    name = str(request.params.get("AWSServiceName") or "")
    if _SERVICE_PRINCIPAL.match(name):
        return None
    return api.query_error("InvalidInput", f"Invalid service name: {name}")
