"""EKS refusals a lab depends on that moto skips: Fargate profiles run on private subnets only.

On AWS, Fargate pods never get a public IP address, so EKS only accepts private subnets for a
Fargate profile. CreateFargateProfile looks at each subnet's route table (the one explicitly
associated with the subnet, else the VPC's main route table) and refuses a subnet whose table
routes to an internet gateway:

    InvalidParameterException: Subnet subnet-0ab4... provided in Fargate Profile is not a
    private subnet

A subnet that does not exist is refused too ("The subnet ID 'subnet-x' does not exist"), as
CreateCluster and CreateNodegroup already are in ``eks``. moto 5.2.5 accepts any subnet id at
all, so a learner who put the profile on public subnets would never find out; the lab's
mistake ("a Fargate profile on public subnets") depends on this refusal.

This module keeps no state and runs no reconciler.
"""

from __future__ import annotations

from typing import Any

from ..control import api
from ..control.backends import find
from ..control.plane import ControlPlane, Request
from .eks_common import error, path_parts


def route_table_of(ec2: Any, subnet: Any) -> Any | None:
    """The route table a subnet uses: its explicit association, else the VPC's main table."""
    main = None
    for table in ec2.route_tables.values():
        if table.vpc_id != subnet.vpc_id:
            continue
        for association in table.associations:
            if association.get("SubnetId") == subnet.id:
                return table
            if association.get("Main"):
                main = table
    return main


def routes_to_internet_gateway(table: Any | None) -> str | None:
    """The internet gateway id a route table sends traffic to, or None (a private subnet)."""
    if table is None:
        return None
    for route in table.routes:
        gateway = route.gateway_id or ""
        if gateway.startswith("igw-"):
            return str(gateway)
    return None


@api.before("eks", method="POST", path=r"/clusters/[^/]+/fargate-profiles")
def _fargate_profiles_need_private_subnets(_: ControlPlane,
                                           request: Request) -> api.Response | None:
    """CreateFargateProfile refuses unknown subnets and subnets routed to an internet gateway."""
    subnet_ids = request.params.get("subnets") or []
    if isinstance(subnet_ids, str):
        subnet_ids = [subnet_ids]
    if not subnet_ids:
        return None
    ec2 = find("ec2", request.account_id, request.region)
    cluster = path_parts(request)[1]
    profile = request.params.get("fargateProfileName")
    for subnet_id in subnet_ids:
        subnet = None
        if ec2 is not None:
            try:
                subnet = ec2.get_subnet(subnet_id)
            except Exception:  # noqa: BLE001 - moto's InvalidSubnetIdError
                subnet = None
        if subnet is None:
            return error("InvalidParameterException",
                         f"The subnet ID '{subnet_id}' does not exist",
                         clusterName=cluster, fargateProfileName=profile)
        if routes_to_internet_gateway(route_table_of(ec2, subnet)):
            return error("InvalidParameterException",
                         f"Subnet {subnet_id} provided in Fargate Profile is not a private "
                         "subnet", clusterName=cluster, fargateProfileName=profile)
    return None
