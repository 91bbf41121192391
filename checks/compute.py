"""EC2 capacity for ECS: the instance security group, the launch template, the Auto Scaling group.

Each resource is found by the lab's name first and, failing that, by discovery (the template an
Auto Scaling group launches from, the group a cluster's capacity provider scales), so a stack
made by CloudFormation with generated names is judged on its configuration, not its names.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import re
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .session import ReadOnlyAws, is_not_found

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
ECS_AMI_NAME = re.compile(r"(?<![a-z])ecs(?![a-z])", re.IGNORECASE)
"""ECS-optimised AMI names: amzn2-ami-ecs-hvm-..., al2023-ami-ecs-hvm-..., ...-ECS_Optimized."""
_ECS_CLUSTER = re.compile(r"""ECS_CLUSTER\s*=\s*["']?([^\s"'>;|&)]*)""")


# --- user data -----------------------------------------------------------------------------


def decode_user_data(encoded: str | None) -> str:
    """User data as text: EC2 returns it base64-encoded; cloud-init also accepts gzip."""
    if not encoded:
        return ""
    try:
        data = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        data = encoded.encode()
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def ecs_cluster_setting(user_data: str) -> str | None:
    """The cluster ``ECS_CLUSTER=`` names in user data (the last wins, as in ecs.config);
    None when no uncommented line sets it."""
    value = None
    for line in user_data.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in _ECS_CLUSTER.finditer(line):
            value = match.group(1)
    return value


def user_data_problem(user_data: str, cluster: str) -> str | None:
    """Why this user data would not make the ECS agent join ``cluster``; None if it would."""
    if not user_data.strip():
        return (f"no user data, so the ECS agent joins the cluster named default, "
                f"not {cluster}")
    setting = ecs_cluster_setting(user_data)
    if setting is None:
        return (f"user data without ECS_CLUSTER, so the ECS agent joins the cluster named "
                f"default, not {cluster}")
    if setting != cluster:
        return f"user data with ECS_CLUSTER={setting}, another cluster than {cluster}"
    return None


# --- finding things ------------------------------------------------------------------------


def _not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return is_not_found(exc) or code.endswith("NotFoundException") or "NotFound" in code


def find_launch_template(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    try:
        found = aws.ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
    except ClientError as exc:
        if _not_found(exc):
            return None
        raise
    return found[0] if found else None


def launch_template_by_id(aws: ReadOnlyAws, template_id: str) -> dict[str, Any] | None:
    try:
        found = aws.ec2.describe_launch_templates(LaunchTemplateIds=[template_id])
    except ClientError as exc:
        if _not_found(exc):
            return None
        raise
    return found["LaunchTemplates"][0] if found["LaunchTemplates"] else None


def template_version(aws: ReadOnlyAws, template: dict[str, Any],
                     version: str = "$Latest") -> dict[str, Any]:
    """The launch template data of one version ($Latest, $Default or a number)."""
    versions = aws.ec2.describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"], Versions=[str(version)])
    items = versions["LaunchTemplateVersions"]
    return items[0]["LaunchTemplateData"] if items else {}


def find_group(aws: ReadOnlyAws, name: str) -> dict[str, Any] | None:
    groups = aws.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return groups["AutoScalingGroups"][0] if groups["AutoScalingGroups"] else None


def all_groups(aws: ReadOnlyAws) -> list[dict[str, Any]]:
    return aws.autoscaling.paginate("describe_auto_scaling_groups", "AutoScalingGroups")


def group_name_of(reference: str) -> str:
    """An Auto Scaling group's name from its ARN (or the name itself)."""
    return reference.rsplit("autoScalingGroupName/", 1)[-1]


def cluster_providers(aws: ReadOnlyAws, cluster: str) -> list[str]:
    """Names of the capacity providers associated with the cluster (Fargate's left out)."""
    try:
        found = aws.ecs.describe_clusters(clusters=[cluster])["clusters"]
    except ClientError as exc:
        if _not_found(exc):
            return []
        raise
    names = found[0].get("capacityProviders", []) if found else []
    return [n for n in names if not n.startswith("FARGATE")]


def cluster_groups(aws: ReadOnlyAws, cluster: str) -> list[tuple[str, str]]:
    """Discovery: (capacity provider, Auto Scaling group name) for each of the cluster's
    capacity providers that scales a group."""
    providers = cluster_providers(aws, cluster)
    if not providers:
        return []
    described = aws.ecs.describe_capacity_providers(capacityProviders=providers)
    return [(p["name"], group_name_of(p["autoScalingGroupProvider"]["autoScalingGroupArn"]))
            for p in described.get("capacityProviders", []) if p.get("autoScalingGroupProvider")]


def template_name_of(aws: ReadOnlyAws, group: dict[str, Any]) -> str | None:
    """The name of the launch template the group launches from (looked up when only its id is
    known); None when it launches from no template."""
    template_id, name, _ = group_template(group)
    if name is None and template_id:
        found = launch_template_by_id(aws, template_id)
        name = found["LaunchTemplateName"] if found else template_id
    return name


def locate_group(aws: ReadOnlyAws, name: str, cluster: str | None = None,
                 launch_template: str | None = None) -> tuple[dict[str, Any] | None, str]:
    """(group, how it was found): by name; else the one group behind the cluster's capacity
    providers; else the only group launching from ``launch_template``.

    A discovered group must be unambiguous and the lab's own: when the lab's launch template
    exists, the group must launch from it, so a group of another stack that happens to sit
    behind the cluster is never judged in the lab's group's place. ``how`` names what was found
    and why it was taken.
    """
    group = find_group(aws, name)
    if group is not None:
        return group, ""
    lab_template = (launch_template if launch_template
                    and find_launch_template(aws, launch_template) is not None else None)
    if cluster:
        behind = [(provider, found) for provider, other in cluster_groups(aws, cluster)
                  if (found := find_group(aws, other)) is not None
                  and (lab_template is None or template_name_of(aws, found) == lab_template)]
        if len(behind) == 1:
            provider, group = behind[0]
            return group, (f" (found as {group['AutoScalingGroupName']}, the group of capacity "
                           f"provider {provider} of cluster {cluster})")
    if launch_template:
        users = [g for g in all_groups(aws) if template_name_of(aws, g) == launch_template]
        if len(users) == 1:
            return users[0], (f" (found as {users[0]['AutoScalingGroupName']}, which launches "
                              f"from {launch_template})")
    return None, ""


def group_template(group: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """(template id, template name, version) an Auto Scaling group launches from."""
    spec = group.get("LaunchTemplate")
    if spec is None:
        mixed = group.get("MixedInstancesPolicy") or {}
        spec = (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")
    spec = spec or {}
    return (spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName"),
            str(spec.get("Version") or "$Default"))


def default_vpc(aws: ReadOnlyAws) -> str | None:
    vpcs = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def security_groups_named(aws: ReadOnlyAws, name: str) -> list[dict[str, Any]]:
    return aws.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]


def security_group_ids(data: dict[str, Any]) -> list[str]:
    """Security group ids a launch template gives its instances (directly or per interface)."""
    ids = list(data.get("SecurityGroupIds") or [])
    for interface in data.get("NetworkInterfaces") or []:
        ids.extend(interface.get("Groups") or [])
    return ids


def open_to_world(group: dict[str, Any]) -> list[str]:
    """Ingress rules that admit the whole internet, in words."""
    found = []
    for permission in group.get("IpPermissions", []):
        cidrs = [r.get("CidrIp") for r in permission.get("IpRanges", [])] + [
            r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])]
        for cidr in cidrs:
            if cidr in OPEN_CIDRS:
                found.append(f"{_ports(permission)} from {cidr}")
    return found


def _ports(permission: dict[str, Any]) -> str:
    protocol = permission.get("IpProtocol", "-1")
    if protocol == "-1":
        return "all traffic"
    low, high = permission.get("FromPort"), permission.get("ToPort")
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


# --- checks --------------------------------------------------------------------------------


class SecurityGroupParams(Params):
    group: str = Field(description="security group name")
    launch_template: str | None = Field(
        default=None, description="discovery: the template whose group this is")


@check("ec2.instance_security_group", title="The instances' security group is private",
       params=SecurityGroupParams,
       hint="aws ec2 create-security-group in the default VPC, with no ingress rule yet.")
def instance_security_group(aws: ReadOnlyAws, p: SecurityGroupParams) -> Result:
    groups = security_groups_named(aws, p.group)
    how = ""
    shared = ""
    if not groups and p.launch_template:  # discovery: the one group the lab's template gives
        template = find_launch_template(aws, p.launch_template)
        ids = security_group_ids(template_version(aws, template)) if template else []
        described = aws.ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"] \
            if ids else []
        own = [g for g in described if g["GroupName"] != "default"]
        if len(own) == 1:
            groups = own
            how = (f" (found as {own[0]['GroupName']}, the security group of launch template "
                   f"{p.launch_template})")
        elif described and not own:
            shared = (f"; launch template {p.launch_template} gives its instances only the "
                      f"VPC's default security group ({described[0]['GroupId']}), which every "
                      f"resource in the VPC shares, not a group of their own")
    if not groups:
        return failed(f"Security group {p.group} does not exist{shared}.",
                      expected=f"a security group named {p.group} in the default VPC",
                      actual="no such group")
    vpc = default_vpc(aws)
    group = next((g for g in groups if g.get("VpcId") == vpc), groups[0])
    name = f"{group['GroupName']} ({group['GroupId']}){how}"
    if vpc and group.get("VpcId") != vpc:
        return failed(f"Security group {name} is in {group.get('VpcId')}, not the default VPC.",
                      expected=f"the default VPC {vpc}", actual=f"VPC {group.get('VpcId')}")
    world = open_to_world(group)
    if world:
        return failed(
            f"Security group {name} lets the whole internet reach the instances.",
            expected="no ingress from 0.0.0.0/0 (the load balancer gets a rule later)",
            actual="; ".join(world))
    rules = len(group.get("IpPermissions", []))
    return passed(f"Security group {name} is in the default VPC and admits nothing from the "
                  f"internet ({rules} ingress rule{'s' if rules != 1 else ''}).")


class LaunchTemplateParams(Params):
    template: str
    cluster: str = Field(description="the cluster the user data must name in ECS_CLUSTER")
    instance_type: str = "t2.micro"
    instance_profile: str
    security_group: str | None = None
    group: str | None = Field(default=None, description="discovery: the group using it")


def _profile_name(data: dict[str, Any]) -> str | None:
    profile = data.get("IamInstanceProfile") or {}
    if profile.get("Name"):
        return profile["Name"]
    arn = profile.get("Arn")
    return arn.rsplit("/", 1)[-1] if arn else None


def _profile_problem(aws: ReadOnlyAws, data: dict[str, Any], profile: str,
                     wanted: str) -> str | None:
    """Why the template's IamInstanceProfile would not give instances the lab's profile."""
    arn = (data.get("IamInstanceProfile") or {}).get("Arn")
    if arn and not (data.get("IamInstanceProfile") or {}).get("Name") \
            and ":instance-profile/" not in arn:
        return (f"IamInstanceProfile Arn {arn} is not an instance profile's ARN (a role's ARN "
                f"has :role/, an instance profile's :instance-profile/), so EC2 refuses to "
                f"launch the instances")
    if profile != wanted:
        return f"instance profile {profile}, not {wanted}"
    try:
        aws.iam.get_instance_profile(InstanceProfileName=profile)
    except ClientError as exc:
        if not _not_found(exc):
            raise
        return f"instance profile {profile} does not exist, so EC2 refuses to launch instances"
    return None


def _ami_problem(aws: ReadOnlyAws, image_id: str | None) -> str | None:
    if not image_id:
        return "no ImageId"
    if image_id.startswith("resolve:ssm:"):  # EC2 resolves the parameter at launch
        if "/ecs/optimized-ami/" in image_id:
            return None
        return f"ImageId {image_id} is not an ECS-optimised AMI parameter"
    try:
        images = aws.ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError as exc:
        if _not_found(exc):
            return f"AMI {image_id} does not exist"
        raise
    name = images[0].get("Name", "") if images else ""
    if not images:
        return f"AMI {image_id} does not exist"
    if not ECS_AMI_NAME.search(name):
        return (f"AMI {image_id} ({name}) is not ECS-optimised, so it has no ECS agent; take "
                "the image_id from the SSM parameter /aws/service/ecs/optimized-ami/...")
    return None


@check("ec2.launch_template_for_ecs", title="The launch template makes ECS container instances",
       params=LaunchTemplateParams,
       hint="ECS-optimised AMI, the instance type, the instance profile, the security group "
            "and user data that writes ECS_CLUSTER=<cluster> to /etc/ecs/ecs.config.")
def launch_template_for_ecs(aws: ReadOnlyAws, p: LaunchTemplateParams) -> Result:
    template = find_launch_template(aws, p.template)
    how = ""
    if template is None and p.group:
        group, _ = locate_group(aws, p.group)
        template_id = group_template(group)[0] if group else None
        template = launch_template_by_id(aws, template_id) if template_id else None
        if template is not None:
            how = (f" (found as {template['LaunchTemplateName']}, the launch template of Auto "
                   f"Scaling group {p.group})")
    if template is None:
        return failed(f"Launch template {p.template} does not exist.",
                      expected=f"a launch template named {p.template}", actual="no such template")
    data = template_version(aws, template)
    name = f"{template['LaunchTemplateName']} version {template['LatestVersionNumber']}{how}"
    problems: list[str] = []
    ami = _ami_problem(aws, data.get("ImageId"))
    if ami:
        problems.append(ami)
    if data.get("InstanceType") != p.instance_type:
        problems.append(f"instance type {data.get('InstanceType') or 'not set'}, "
                        f"not {p.instance_type}")
    profile = _profile_name(data)
    if profile is None:
        problems.append("no instance profile, so the ECS agent has no credentials to register "
                        "the instance")
    else:
        problem = _profile_problem(aws, data, profile, p.instance_profile)
        if problem:
            problems.append(problem)
    why = user_data_problem(decode_user_data(data.get("UserData")), p.cluster)
    if why:
        problems.append(why)
    if p.security_group:
        ids = security_group_ids(data)
        wanted = {g["GroupId"] for g in security_groups_named(aws, p.security_group)}
        if not ids:
            problems.append(f"no security group (expected {p.security_group})")
        elif wanted and not wanted & set(ids):
            problems.append(f"security groups {', '.join(ids)}, not {p.security_group}")
    if problems:
        return failed(
            f"Launch template {name} would not make working container instances: "
            + "; ".join(problems) + ".",
            expected=(f"ECS-optimised AMI, {p.instance_type}, instance profile "
                      f"{p.instance_profile}, user data with ECS_CLUSTER={p.cluster}"),
            actual="; ".join(problems))
    return passed(f"Launch template {name}: ECS-optimised AMI {data['ImageId']}, "
                  f"{p.instance_type}, instance profile {profile}, ECS_CLUSTER={p.cluster}.")


class GroupParams(Params):
    group: str
    launch_template: str | None = None
    cluster: str | None = Field(default=None, description="discovery via its capacity provider")
    min_size: int | None = None
    max_size: int | None = None
    desired: int | None = None
    min_zones: int = 2


def _managed_by_ecs(aws: ReadOnlyAws, group: dict[str, Any]) -> bool:
    """Is the group scaled by an ECS capacity provider with managed scaling on? Then ECS, not
    the learner, sets its desired capacity."""
    names: set[str] = set()
    for arn in aws.ecs.paginate("list_clusters", "clusterArns"):
        names.update(cluster_providers(aws, arn.rsplit("/", 1)[-1]))
    providers = aws.ecs.describe_capacity_providers(capacityProviders=sorted(names)).get(
        "capacityProviders", []) if names else []
    for provider in providers:
        asg = provider.get("autoScalingGroupProvider") or {}
        same = group_name_of(asg.get("autoScalingGroupArn", "")) == group["AutoScalingGroupName"]
        if same and (asg.get("managedScaling") or {}).get("status") == "ENABLED":
            return True
    return False


@check("autoscaling.group_for_ecs", title="The Auto Scaling group spans two zones",
       params=GroupParams,
       hint="create-auto-scaling-group with the launch template and two subnets in different "
            "Availability Zones (--vpc-zone-identifier subnet-a,subnet-b).")
def group_for_ecs(aws: ReadOnlyAws, p: GroupParams) -> Result:
    group, how = locate_group(aws, p.group, p.cluster, p.launch_template)
    if group is None:
        return failed(f"Auto Scaling group {p.group} does not exist.",
                      expected=f"an Auto Scaling group named {p.group}", actual="no such group")
    name = group["AutoScalingGroupName"] + how
    problems: list[str] = []
    template_id, template_name, version = group_template(group)
    if p.launch_template:
        if template_name is None and template_id:
            found = launch_template_by_id(aws, template_id)
            template_name = found["LaunchTemplateName"] if found else template_id
        if template_name is None:
            problems.append("it launches from no launch template")
        elif template_name != p.launch_template and (
                not how or find_launch_template(aws, p.launch_template) is not None):
            problems.append(f"it launches from {template_name}, not {p.launch_template}")
    stale = _stale_version(aws, template_id, template_name, version)
    if stale:
        problems.append(stale)
    subnets = [s for s in (group.get("VPCZoneIdentifier") or "").split(",") if s]
    zones: set[str] = set()
    if subnets:
        described = aws.ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
        zones = {s["AvailabilityZone"] for s in described}
    else:
        zones = set(group.get("AvailabilityZones") or [])
    if len(zones) < p.min_zones:
        problems.append(f"its subnets are in {len(zones)} Availability Zone"
                        f"{'s' if len(zones) != 1 else ''} ({', '.join(sorted(zones)) or 'none'}),"
                        f" so losing one zone loses all capacity")
    sizes = {"MinSize": p.min_size, "MaxSize": p.max_size}
    for key, wanted in sizes.items():
        if wanted is not None and group[key] != wanted:
            problems.append(f"{key} {group[key]}, not {wanted}")
    managed = False
    if p.desired is not None and group["DesiredCapacity"] != p.desired:
        managed = _managed_by_ecs(aws, group) and group["DesiredCapacity"] >= max(
            1, group["MinSize"])
        if not managed:
            problems.append(f"DesiredCapacity {group['DesiredCapacity']}, not {p.desired}")
    if problems:
        return failed(f"Auto Scaling group {name}: " + "; ".join(problems) + ".",
                      expected=_group_expectation(p), actual="; ".join(problems))
    note = " (ECS managed scaling sets the desired count)" if managed else ""
    return passed(f"Auto Scaling group {name} launches from {template_name or template_id} "
                  f"({version}) in {', '.join(sorted(zones))}; min {group['MinSize']}, desired "
                  f"{group['DesiredCapacity']}, max {group['MaxSize']}{note}.")


def _stale_version(aws: ReadOnlyAws, template_id: str | None, template_name: str | None,
                   version: str) -> str | None:
    """Why the group's instances would not get the template's newest version, if they would
    not: a pinned number or $Default behind $Latest (AWS's console suggests $Default, and
    create-launch-template-version does not move it), so a fixed version never reaches them."""
    if version == "$Latest" or not (template_id or template_name):
        return None
    template = (launch_template_by_id(aws, template_id) if template_id
                else find_launch_template(aws, template_name or ""))
    if template is None:
        return None
    latest = template["LatestVersionNumber"]
    used = template["DefaultVersionNumber"] if version == "$Default" else version
    if str(used) == str(latest):
        return None
    shown = f"version {used} ($Default)" if version == "$Default" else f"version {used}"
    return (f"it launches from {shown} of {template['LaunchTemplateName']}, but the newest "
            f"version is {latest}, which its instances do not get (use Version=$Latest)")


def _group_expectation(p: GroupParams) -> str:
    parts = [f"subnets in at least {p.min_zones} Availability Zones"]
    if p.launch_template:
        parts.insert(0, f"launch template {p.launch_template}")
    for label, value in (("min", p.min_size), ("desired", p.desired), ("max", p.max_size)):
        if value is not None:
            parts.append(f"{label} {value}")
    return ", ".join(parts)
