"""EKS over time: clusters, node groups and Fargate profiles have life cycles, as on AWS.

On AWS a cluster is CREATING for ten minutes or so before it is ACTIVE (``aws eks wait
cluster-active`` waits for that); until then it has no API server endpoint and EKS refuses
node groups on it ("Cluster 'x' is not in ACTIVE status", InvalidRequestException). A
managed node group is CREATING while its instances boot and join; a Fargate profile is
CREATING for a minute or two. Deletions go through DELETING, and a cluster with node groups
(or Fargate profiles) cannot be deleted. Updates (update-cluster-config, update-cluster-version,
update-nodegroup-config, update-nodegroup-version) put the resource in UPDATING and are
followed with describe-update until they are Successful.

moto 5.2.5 makes all of these ACTIVE at once and removes deleted ones at once. Here moto's
create and delete methods are patched so resources start CREATING (or enter DELETING), and
the reconciler (order 80) moves them on the simulated clock: clusters ACTIVE after 120 s,
node groups after 60 s, Fargate profiles after 30 s; deletions complete after 60 s (clusters,
node groups) or 30 s (Fargate profiles). When a status is first seen, the time is recorded in
``plane.module_state("eks")``, and the resource's createdAt is set from the simulated clock.

Also restored here, because labs depend on them:
- create-cluster checks its subnets exist and span two Availability Zones; the cluster gets
  a cluster security group (``eks-cluster-sg-<name>-<id>``), a vpcId, endpoint access
  defaults, its own OIDC issuer and endpoint, and the access configuration it was created
  with (authenticationMode CONFIG_MAP unless asked otherwise, as with the EKS API);
- a node group defaults to its cluster's Kubernetes version and to the AMI type AWS picks
  (AL2023 from 1.30 on), and makes a real Auto Scaling group (``eks_nodes``);
- update-cluster-config and friends answer with an Update, which describe-update and
  list-updates (absent from moto) can read.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from .. import patches
from ..control import api
from ..control.backends import loaded
from ..control.plane import ControlPlane, Request, reconciler
from . import eks_access, eks_addons, eks_nodes, ssm_params
from .eks_common import (
    cluster_key,
    eks_backend,
    error,
    get_cluster,
    in_progress,
    ok,
    paginate,
    param,
    path_parts,
    public,
    random_id,
    record_update,
    sim_datetime,
    state,
)

DEFAULT_VERSION = "1.32"
CLUSTER_CREATE_SECONDS = 120.0
CLUSTER_DELETE_SECONDS = 60.0
NODEGROUP_CREATE_SECONDS = 60.0
NODEGROUP_DELETE_SECONDS = 60.0
FARGATE_CREATE_SECONDS = 30.0
FARGATE_DELETE_SECONDS = 30.0
CONFIG_UPDATE_SECONDS = 30.0
VERSION_UPDATE_SECONDS = 120.0
AUTHENTICATION_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
ALLOWED_MODE_CHANGES = {("CONFIG_MAP", "API_AND_CONFIG_MAP"), ("CONFIG_MAP", "API"),
                        ("API_AND_CONFIG_MAP", "API")}
ARM_FAMILY = re.compile(r"^[a-z]+\d+g[a-z]*\.")


# --- moto patches ---------------------------------------------------------------------------

def _exceptions() -> Any:
    from moto.eks import exceptions

    return exceptions


def _validate_cluster_subnets(backend: Any, subnet_ids: list[str]) -> str | None:
    """The VPC id of the subnets; raises InvalidParameterException as EKS does."""
    from moto.ec2.models import ec2_backends

    errors = _exceptions()
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    zones, vpcs = set(), set()
    for subnet_id in subnet_ids:
        try:
            subnet = ec2.get_subnet(subnet_id)
        except Exception as exc:  # noqa: BLE001 - moto's InvalidSubnetIdError
            raise errors.InvalidParameterException(
                message=f"The subnet ID '{subnet_id}' does not exist") from exc
        zones.add(subnet.availability_zone)
        vpcs.add(subnet.vpc_id)
    if len(zones) < 2:
        raise errors.InvalidParameterException(
            message="Subnets specified must be in at least two different AZs")
    return next(iter(vpcs)) if len(vpcs) == 1 else None


def _cluster_security_group(backend: Any, name: str, vpc_id: str | None) -> str | None:
    """The cluster security group EKS creates: members may talk to each other freely."""
    from moto.ec2.models import ec2_backends

    if vpc_id is None:
        return None
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    group_name = f"eks-cluster-sg-{name}-{random_id(10)}"
    tags = {"Name": group_name, f"kubernetes.io/cluster/{name}": "owned",
            "aws:eks:cluster-name": name}
    group = ec2.create_security_group(
        group_name, "EKS created security group applied to ENI that is attached to EKS Control "
        "Plane master nodes, as well as any managed workloads.", vpc_id=vpc_id, tags=tags)
    with contextlib.suppress(Exception):  # the group is still usable without its self rule
        ec2.authorize_security_group_ingress(
            group.id, "-1", None, None, [], source_groups=[{"GroupId": group.id}])
    return str(group.id)


def _certificate_data(name: str) -> str:
    """certificateAuthority.data as AWS gives it: a base64-encoded PEM certificate."""
    import base64

    body = base64.b64encode(f"cloudkata sandbox CA for {name} {random_id(32)}".encode() * 8)
    lines = [body[i:i + 64].decode() for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _patch_cluster_life_cycle() -> None:
    """AWS: a new cluster is CREATING, with no endpoint yet; deleting one goes through
    DELETING and is refused while node groups or Fargate profiles remain."""
    from moto.eks.models import EKSBackend, validate_safe_to_delete

    errors = _exceptions()

    @patches.wrap(EKSBackend, "create_cluster", why="a new cluster is CREATING, no endpoint")
    def create_cluster(create: Any, self: EKSBackend, *args: Any, **kwargs: Any) -> Any:
        name: str = kwargs.get("name", args[0] if args else None)  # type: ignore[assignment]  # moto requires one
        config = dict(kwargs.get("resources_vpc_config") or {})
        vpc_id = None
        if name not in self.clusters:
            vpc_id = _validate_cluster_subnets(self, list(config.get("subnetIds") or []))
        kwargs["version"] = kwargs.get("version") or DEFAULT_VERSION
        cluster = create(self, *args, **kwargs)
        cluster.status = "CREATING"
        region = self.region_name
        cluster.identity = {"oidc": {"issuer": (f"https://oidc.eks.{region}.amazonaws.com/id/"
                                                f"{random_id(32).upper()}")}}
        cluster.cloudkata_endpoint = (f"https://{random_id(32).upper()}.gr7.{region}"
                                      ".eks.amazonaws.com")
        cluster.cloudkata_certificate_authority = {"data": _certificate_data(name)}
        cluster.endpoint = None
        cluster.certificate_authority = None
        cluster.access_config = {"bootstrapClusterCreatorAdminPermissions": True,
                                 "authenticationMode": "CONFIG_MAP"}
        cluster.kubernetes_network_config = {
            "serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4",
            "elasticLoadBalancing": {"enabled": False},
            **(kwargs.get("kubernetes_network_config") or {})}
        config.setdefault("securityGroupIds", [])
        config.setdefault("endpointPublicAccess", True)
        config.setdefault("endpointPrivateAccess", False)
        config.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
        if vpc_id:
            config["vpcId"] = vpc_id
            config["clusterSecurityGroupId"] = _cluster_security_group(self, name, vpc_id)
        cluster.resources_vpc_config = config
        return cluster

    @patches.wrap(EKSBackend, "delete_cluster",
                  why="deleting goes through DELETING; refused while node groups remain")
    def delete_cluster(delete: Any, self: EKSBackend, name: str) -> Any:
        cluster = self.clusters.get(name)
        if cluster is None:
            return delete(self, name)
        if cluster.status == "DELETING":
            return cluster
        validate_safe_to_delete(cluster)
        if cluster.fargate_profiles:
            raise errors.ResourceInUseException(
                clusterName=name, nodegroupName=None, addonName=None,
                message="Cluster has Fargate Profiles in ACTIVE/CREATING state")
        cluster.status = "DELETING"
        return cluster


def default_ami_type(version: str, instance_types: list[str] | None) -> str:
    """What EKS picks when amiType is left out: AL2 up to 1.29, AL2023 from 1.30 on."""
    arm = any(ARM_FAMILY.match(t) for t in instance_types or [])
    minor = tuple(int(p) for p in ssm_params.k8s_minor(version).split("."))
    if minor >= (1, 30):
        return "AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD"
    return "AL2_ARM_64" if arm else "AL2_x86_64"


def _validate_scaling(scaling: dict[str, Any]) -> str | None:
    """EKS's complaint about a scalingConfig, or None."""
    low, high = scaling.get("minSize"), scaling.get("maxSize")
    desired = scaling.get("desiredSize")
    if high is not None and high < 1:
        return "Maximum capacity can't be less than 1"
    if low is not None and high is not None and low > high:
        return f"Minimum capacity {low} can't be greater than maximum capacity {high}"
    if desired is not None and high is not None and desired > high:
        return f"Desired capacity {desired} can't be greater than maximum capacity {high}"
    if desired is not None and low is not None and desired < low:
        return f"Minimum capacity {low} can't be greater than desired size {desired}"
    return None


def _patch_nodegroup_life_cycle() -> None:
    """AWS: a node group is CREATING (with a real Auto Scaling group) and is deleted through
    DELETING; its defaults follow its cluster (version, AMI type), not moto's 1.19/AL2."""
    from moto.eks.models import EKSBackend

    errors = _exceptions()

    @patches.wrap(EKSBackend, "create_nodegroup",
                  why="a node group is CREATING, with a real Auto Scaling group")
    def create_nodegroup(create: Any, self: EKSBackend, **kwargs: Any) -> Any:
        cluster = self.clusters.get(kwargs["cluster_name"])
        name = kwargs["nodegroup_name"]
        launch_template = kwargs.get("launch_template")
        if cluster is not None and cluster.is_active and name not in cluster.nodegroups:
            from moto.ec2.models import ec2_backends

            ec2 = ec2_backends[self.account_id][self.region_name]
            if launch_template:
                wanted = launch_template.get("id") or launch_template.get("name")
                known = {*ec2.launch_templates, *ec2.launch_template_name_to_ids}
                if wanted not in known:
                    raise errors.InvalidParameterException(
                        message=f"Launch template {wanted} does not exist")
            for subnet_id in kwargs.get("subnets") or []:
                try:
                    ec2.get_subnet(subnet_id)
                except Exception as exc:  # noqa: BLE001 - moto's InvalidSubnetIdError
                    raise errors.InvalidParameterException(
                        message=f"The subnet ID '{subnet_id}' does not exist") from exc
            scaling = {"minSize": 2, "maxSize": 2, "desiredSize": 2,
                       **(kwargs.get("scaling_config") or {})}
            problem = _validate_scaling(scaling)
            if problem:
                raise errors.InvalidParameterException(message=problem)
            kwargs["scaling_config"] = scaling
            kwargs["version"] = kwargs.get("version") or cluster.version
            if not kwargs.get("instance_types") and not launch_template:
                kwargs["instance_types"] = ["t3.medium"]
            if not kwargs.get("ami_type"):
                kwargs["ami_type"] = default_ami_type(kwargs["version"],
                                                      kwargs.get("instance_types"))
            family = ssm_params.family_for(kwargs["ami_type"], kwargs["version"])
            kwargs["release_version"] = kwargs.get("release_version") or (
                ssm_params.recommended(self.region_name, kwargs["version"],
                                       family)["release_version"])
        nodegroup = create(self, **kwargs)
        nodegroup.status = "CREATING"
        nodegroup.scaling_config = dict(nodegroup.scaling_config)
        nodegroup.health = {"issues": []}
        nodegroup.remote_access = kwargs.get("remote_access")
        nodegroup.resources = {"autoScalingGroups": [{"name": eks_nodes.asg_name(nodegroup)}]}
        if nodegroup.remote_access:
            nodegroup.resources["remoteAccessSecurityGroup"] = _remote_access_group(
                self, cluster, nodegroup)
        if launch_template:
            nodegroup.disk_size = None
            nodegroup.instance_types = kwargs.get("instance_types")
        try:
            eks_nodes.provision(cluster, nodegroup, self.account_id, self.region_name)
        except Exception as exc:
            cluster.nodegroups.pop(name, None)
            cluster.nodegroup_count -= 1
            eks_nodes.release(nodegroup, self.account_id, self.region_name)
            raise errors.InvalidParameterException(message=str(exc)) from exc
        return nodegroup

    @patches.wrap(EKSBackend, "delete_nodegroup", why="deleting goes through DELETING")
    def delete_nodegroup(delete: Any, self: EKSBackend, cluster_name: str,
                         nodegroup_name: str) -> Any:
        cluster = self.clusters.get(cluster_name)
        nodegroup = cluster.nodegroups.get(nodegroup_name) if cluster else None
        if nodegroup is None:
            return delete(self, cluster_name, nodegroup_name)
        if nodegroup.status != "DELETING":
            nodegroup.status = "DELETING"
            eks_nodes.drain(nodegroup, self.account_id, self.region_name)
        return nodegroup


def _remote_access_group(backend: Any, cluster: Any, nodegroup: Any) -> str | None:
    """The SSH security group EKS makes for remoteAccess (port 22 from anywhere)."""
    from moto.ec2.models import ec2_backends

    vpc_id = cluster.resources_vpc_config.get("vpcId")
    if not vpc_id:
        return None
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    group = ec2.create_security_group(
        f"eks-remoteAccess-{nodegroup.uuid}", "Security group for all nodes in the nodeGroup "
        "to allow SSH access", vpc_id=vpc_id,
        tags={"eks": cluster.name, "eks:nodegroup-name": nodegroup.nodegroup_name})
    with contextlib.suppress(Exception):  # the group still exists without its rule
        ec2.authorize_security_group_ingress(group.id, "tcp", "22", "22",
                                             [{"CidrIp": "0.0.0.0/0"}])
    return str(group.id)


def _patch_fargate_life_cycle() -> None:
    """AWS: a Fargate profile is CREATING, then ACTIVE; one profile per cluster may be
    CREATING (or DELETING) at a time; deletion goes through DELETING."""
    from moto.eks.models import EKSBackend

    errors = _exceptions()

    def busy(cluster: Any, status: str) -> str | None:
        return next((n for n, p in cluster.fargate_profiles.items() if p.status == status), None)

    @patches.wrap(EKSBackend, "create_fargate_profile",
                  why="a profile is CREATING; one per cluster may be CREATING at a time")
    def create_fargate_profile(create: Any, self: EKSBackend, **kwargs: Any) -> Any:
        cluster = self.clusters.get(kwargs["cluster_name"])
        name = kwargs["fargate_profile_name"]
        if cluster is not None and name not in cluster.fargate_profiles:
            other = busy(cluster, "CREATING")
            if other:
                raise errors.ResourceInUseException(
                    clusterName=cluster.name, nodegroupName=None, addonName=None,
                    message=(f"Cannot create Fargate Profile {name} because cluster "
                             f"{cluster.name} currently has Fargate profile {other} in "
                             "status CREATING"))
        profile = create(self, **kwargs)
        profile.status = "CREATING"
        return profile

    @patches.wrap(EKSBackend, "delete_fargate_profile",
                  why="deleting goes through DELETING; one per cluster at a time")
    def delete_fargate_profile(delete: Any, self: EKSBackend, cluster_name: str,
                               fargate_profile_name: str) -> Any:
        cluster = self.clusters.get(cluster_name)
        profile = cluster.fargate_profiles.get(fargate_profile_name) if cluster else None
        if profile is None:
            return delete(self, cluster_name, fargate_profile_name)
        if profile.status == "DELETING":
            return profile
        other = busy(cluster, "DELETING")
        if other:
            raise errors.ResourceInUseException(
                clusterName=cluster_name, nodegroupName=None, addonName=None,
                message=(f"Cannot Delete Fargate Profile {fargate_profile_name} because "
                         f"cluster {cluster_name} currently has Fargate profile {other} in "
                         "status DELETING"))
        profile.status = "DELETING"
        return profile


def _patch_create_cluster_keeps_access_config() -> None:
    """moto drops CreateCluster's accessConfig; AWS keeps it (describe-cluster shows it, and
    access entries depend on its authenticationMode, CONFIG_MAP when not given)."""
    from moto.eks.responses import EKSResponse

    @patches.wrap(EKSResponse, "create_cluster", why="CreateCluster keeps accessConfig")
    def create_cluster(original: Any, self: EKSResponse) -> Any:
        result = original(self)
        config = self._get_param("accessConfig") or {}
        cluster = result.result["cluster"]
        cluster.access_config = {
            "bootstrapClusterCreatorAdminPermissions": bool(
                config.get("bootstrapClusterCreatorAdminPermissions", True)),
            "authenticationMode": config.get("authenticationMode") or "CONFIG_MAP",
        }
        return result


_patch_cluster_life_cycle()
_patch_nodegroup_life_cycle()
_patch_fargate_life_cycle()
_patch_create_cluster_keeps_access_config()


# --- the reconciler -------------------------------------------------------------------------

def _since(section: dict[str, Any], key: str, resource: Any, now: float) -> float:
    """When the resource entered its current status (recorded the first time it is seen)."""
    record = section.get(key)
    if record is None or record["status"] != resource.status:
        if record is None and resource.status == "CREATING":
            resource.created_at = sim_datetime(now)
            if hasattr(resource, "modified_at"):
                resource.modified_at = sim_datetime(now)
        record = section[key] = {"status": resource.status, "since": now}
    return float(record["since"])


def _forget_cluster(plane: ControlPlane, key: str) -> None:
    data = state(plane)
    for section in ("nodegroups", "fargate"):
        for child in [k for k in data[section] if k.startswith(key + "/")]:
            del data[section][child]
    for section in ("clusters", "addons", "access", "pod_identity", "updates"):
        data[section].pop(key, None)


def _delete_cluster_security_group(account: str, region: str, cluster: Any) -> None:
    from ..control.backends import find

    group_id = cluster.resources_vpc_config.get("clusterSecurityGroupId")
    ec2 = find("ec2", account, region)
    if group_id and ec2 is not None:
        with contextlib.suppress(Exception):  # still in use or gone: AWS leaves it then too
            ec2.delete_security_group(group_id=group_id)


def _cluster_step(plane: ControlPlane, account: str, region: str, backend: Any,
                  cluster: Any, now: float) -> None:
    data = state(plane)
    key = cluster_key(account, region, cluster.name)
    since = _since(data["clusters"], key, cluster, now)
    if cluster.status == "CREATING" and now - since >= CLUSTER_CREATE_SECONDS:
        cluster.status = "ACTIVE"
        cluster.endpoint = getattr(cluster, "cloudkata_endpoint", cluster.endpoint)
        cluster.certificate_authority = getattr(
            cluster, "cloudkata_certificate_authority", cluster.certificate_authority)
    elif cluster.status == "DELETING" and now - since >= CLUSTER_DELETE_SECONDS:
        backend.clusters.pop(cluster.name, None)
        backend.cluster_count -= 1
        _delete_cluster_security_group(account, region, cluster)
        _forget_cluster(plane, key)
        return
    for name, nodegroup in list(cluster.nodegroups.items()):
        _nodegroup_step(plane, account, region, cluster, nodegroup, f"{key}/{name}", now)
    for name, profile in list(cluster.fargate_profiles.items()):
        _fargate_step(plane, cluster, profile, f"{key}/{name}", now)


def _nodegroup_step(plane: ControlPlane, account: str, region: str, cluster: Any,
                    nodegroup: Any, key: str, now: float) -> None:
    section = state(plane)["nodegroups"]
    first = key not in section
    since = _since(section, key, nodegroup, now)
    if first and nodegroup.status == "CREATING":
        eks_access.node_entry(plane, account, region, cluster, nodegroup.node_role, "EC2_LINUX")
    if (nodegroup.status == "CREATING" and now - since >= NODEGROUP_CREATE_SECONDS
            and cluster.status in ("ACTIVE", "UPDATING")):
        nodegroup.status = "ACTIVE"
    elif nodegroup.status == "DELETING" and now - since >= NODEGROUP_DELETE_SECONDS:
        eks_nodes.release(nodegroup, account, region)
        cluster.nodegroups.pop(nodegroup.nodegroup_name, None)
        cluster.nodegroup_count -= 1
        section.pop(key, None)


def _fargate_step(plane: ControlPlane, cluster: Any, profile: Any, key: str,
                  now: float) -> None:
    section = state(plane)["fargate"]
    first = key not in section
    since = _since(section, key, profile, now)
    if first and profile.status == "CREATING":
        account, region = key.split("/")[:2]
        eks_access.node_entry(plane, account, region, cluster, profile.pod_execution_role_arn,
                              "FARGATE_LINUX")
    if profile.status == "CREATING" and now - since >= FARGATE_CREATE_SECONDS:
        profile.status = "ACTIVE"
    elif profile.status == "DELETING" and now - since >= FARGATE_DELETE_SECONDS:
        cluster.fargate_profiles.pop(profile.fargate_profile_name, None)
        cluster.fargate_profile_count -= 1
        section.pop(key, None)


def _finish_updates(plane: ControlPlane, account: str, region: str, cluster: Any,
                    now: float) -> None:
    """Updates whose time has come succeed; their resource is ACTIVE again when none remain."""
    key = cluster_key(account, region, cluster.name)
    for update in list(state(plane)["updates"].get(key, {}).values()):
        if update["status"] != "InProgress" or update["_finish"] > now:
            continue
        update["status"] = "Successful"
        effect = update["_effect"]
        nodegroup = cluster.nodegroups.get(update["_nodegroup"] or "")
        if "authenticationMode" in effect:
            cluster.access_config = {**(cluster.access_config or {}),
                                     "authenticationMode": effect["authenticationMode"]}
        if "version" in effect and update["_nodegroup"] is None:
            cluster.version = effect["version"]
        if "nodegroup_version" in effect and nodegroup is not None:
            nodegroup.version = effect["nodegroup_version"]
            nodegroup.release_version = effect["release_version"]
            eks_nodes.replace_nodes(nodegroup, account, region, cluster)
        if nodegroup is not None and nodegroup.status == "UPDATING" and not in_progress(
                plane, key, nodegroup=nodegroup.nodegroup_name):
            nodegroup.status = "ACTIVE"
            nodegroup.modified_at = sim_datetime(now)
        if update["_nodegroup"] is None and update["_addon"] is None and \
                cluster.status == "UPDATING" and not in_progress(plane, key):
            cluster.status = "ACTIVE"


@reconciler(80)
def eks_life_cycle(plane: ControlPlane) -> None:
    """Move clusters, node groups, Fargate profiles, updates and add-ons on in time."""
    now = plane.now()
    for account, region, backend in loaded("eks"):
        for cluster in list(backend.clusters.values()):
            _finish_updates(plane, account, region, cluster, now)
            _cluster_step(plane, account, region, backend, cluster, now)
            key = cluster_key(account, region, cluster.name)
            if cluster.name in backend.clusters:
                eks_addons.step(plane, key, cluster, now)


# --- hooks: what moto lacks or gets wrong ---------------------------------------------------

@api.before("eks", method="POST", path=r"/clusters")
def _check_access_config(_: ControlPlane, request: Request) -> api.Response | None:
    """CreateCluster refuses an authentication mode that does not exist."""
    mode = (request.params.get("accessConfig") or {}).get("authenticationMode")
    if mode is not None and mode not in AUTHENTICATION_MODES:
        return error("InvalidParameterException",
                     f"Unsupported authentication mode: {mode}")
    return None


def _busy(plane: ControlPlane, request: Request, cluster: Any) -> api.Response | None:
    if cluster.status == "ACTIVE":
        return None
    key = cluster_key(request.account_id, request.region, cluster.name)
    running = in_progress(plane, key)
    if running:
        return error("ResourceInUseException",
                     f"Cannot update because cluster {cluster.name} currently has update "
                     f"{running[0]['id']} in progress", clusterName=cluster.name)
    return error("ResourceInUseException", f"Cluster {cluster.name} is currently in "
                 f"{cluster.status} status and cannot be updated", clusterName=cluster.name)


@api.before("eks", method="POST", path=r"/clusters/[^/]+/update-config")
def _update_cluster_config(plane: ControlPlane, request: Request) -> api.Response | None:
    """UpdateClusterConfig: one kind of update per call, an Update to follow, UPDATING."""
    name = path_parts(request)[1]
    cluster, missing = get_cluster(request, name)
    if cluster is None:
        return missing
    kinds = [k for k in ("resourcesVpcConfig", "logging", "accessConfig",
                         "kubernetesNetworkConfig", "upgradePolicy", "zonalShiftConfig",
                         "remoteNetworkConfig", "computeConfig", "storageConfig",
                         "deletionProtection") if request.params.get(k) is not None]
    if len(kinds) != 1:
        return error("InvalidParameterException", "Only one type of update can be allowed.",
                     clusterName=name)
    busy = _busy(plane, request, cluster)
    if busy:
        return busy
    kind, value = kinds[0], request.params[kinds[0]]
    effect: dict[str, Any] = {}
    if kind == "accessConfig":
        current = (cluster.access_config or {}).get("authenticationMode", "CONFIG_MAP")
        wanted = value.get("authenticationMode") or current
        if (current, wanted) not in ALLOWED_MODE_CHANGES:
            return error("InvalidParameterException",
                         f"Unsupported authentication mode update from {current} to {wanted}",
                         clusterName=name)
        update_type, params = "AccessConfigUpdate", [{"type": "AuthenticationMode",
                                                       "value": wanted}]
        effect = {"authenticationMode": wanted}
    elif kind == "logging":
        cluster.logging = value
        update_type, params = "LoggingUpdate", [{"type": "ClusterLogging",
                                                  "value": json.dumps(value)}]
    elif kind == "resourcesVpcConfig":
        cluster.resources_vpc_config = {**cluster.resources_vpc_config, **value}
        endpoint_keys = {"endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs"}
        update_type = "EndpointAccessUpdate" if set(value) <= endpoint_keys else \
            "VpcConfigUpdate"
        names = {"endpointPublicAccess": "EndpointPublicAccess",
                 "endpointPrivateAccess": "EndpointPrivateAccess",
                 "publicAccessCidrs": "PublicAccessCidrs", "subnetIds": "Subnets",
                 "securityGroupIds": "SecurityGroups"}
        params = [{"type": names.get(k, k), "value": json.dumps(v) if not isinstance(v, str)
                   else v} for k, v in value.items()]
    else:
        setattr(cluster, re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower(), value)
        update_type = {"kubernetesNetworkConfig": "KubernetesNetworkConfigUpdate"}.get(
            kind, "ConfigUpdate")
        params = [{"type": kind[0].upper() + kind[1:], "value": json.dumps(value)}]
    key = cluster_key(request.account_id, request.region, name)
    update = record_update(plane, key, update_type, params, CONFIG_UPDATE_SECONDS,
                           effect=effect)
    cluster.status = "UPDATING"
    return ok({"update": public(update)})


@api.before("eks", method="POST", path=r"/clusters/[^/]+/updates")
def _update_cluster_version(plane: ControlPlane, request: Request) -> api.Response | None:
    """UpdateClusterVersion: one minor version at a time, then UPDATING for a while."""
    name = path_parts(request)[1]
    cluster, missing = get_cluster(request, name)
    if cluster is None:
        return missing
    wanted = str(request.params.get("version") or "")
    current = ssm_params.k8s_minor(cluster.version)
    try:
        now_minor, new_minor = (int(v.split(".")[1]) for v in (current, wanted))
    except (IndexError, ValueError):
        return error("InvalidParameterException", f"Unsupported Kubernetes version {wanted}",
                     clusterName=name)
    if new_minor != now_minor + 1:
        return error("InvalidParameterException", "Unsupported Kubernetes minor version update "
                     f"from {current} to {wanted}", clusterName=name)
    busy = _busy(plane, request, cluster)
    if busy:
        return busy
    key = cluster_key(request.account_id, request.region, name)
    update = record_update(plane, key, "VersionUpdate",
                           [{"type": "Version", "value": wanted},
                            {"type": "PlatformVersion", "value": "eks.1"}],
                           VERSION_UPDATE_SECONDS, effect={"version": wanted})
    cluster.status = "UPDATING"
    return ok({"update": public(update)})


@api.before("eks", method="GET", path=r"/clusters/[^/]+/updates(/[^/]+)?")
def _read_updates(plane: ControlPlane, request: Request) -> api.Response | None:
    """DescribeUpdate and ListUpdates (for the cluster, a node group or an add-on)."""
    parts = path_parts(request)
    cluster, missing = get_cluster(request, parts[1])
    if cluster is None:
        return missing
    key = cluster_key(request.account_id, request.region, parts[1])
    nodegroup, addon = param(request, "nodegroupName"), param(request, "addonName")
    updates = [u for u in state(plane)["updates"].get(key, {}).values()
               if u["_nodegroup"] == nodegroup and u["_addon"] == addon]
    if len(parts) == 4:
        found = next((u for u in updates if u["id"] == parts[3]), None)
        if found is None:
            return error("ResourceNotFoundException", f"No update found for ID: {parts[3]}",
                         clusterName=parts[1])
        return ok({"update": public(found)})
    page, token = paginate([u["id"] for u in updates], request)
    return ok({"updateIds": page, **({"nextToken": token} if token else {})})


def _nodegroup_for(request: Request) -> tuple[Any, Any, api.Response | None]:
    """(cluster, node group, None), or the answer for a missing one (then the group is None)."""
    parts = path_parts(request)
    cluster, missing = get_cluster(request, parts[1])
    if cluster is None:
        return None, None, missing
    nodegroup = cluster.nodegroups.get(parts[3])
    if nodegroup is None:
        return cluster, None, error("ResourceNotFoundException",
                                    f"No node group found for name: {parts[3]}.",
                                    clusterName=parts[1], nodegroupName=parts[3])
    return cluster, nodegroup, None


def _nodegroup_busy(nodegroup: Any) -> api.Response | None:
    if nodegroup.status == "ACTIVE":
        return None
    return error("ResourceInUseException",
                 "Nodegroup cannot be updated as it is currently not in Active State",
                 nodegroupName=nodegroup.nodegroup_name)


@api.before("eks", method="POST", path=r"/clusters/[^/]+/node-groups/[^/]+/update-config")
def _update_nodegroup_config(plane: ControlPlane, request: Request) -> api.Response | None:
    """UpdateNodegroupConfig resizes the node group's Auto Scaling group; UPDATING meanwhile."""
    cluster, nodegroup, missing = _nodegroup_for(request)
    if nodegroup is None:
        return missing
    busy = _nodegroup_busy(nodegroup)
    if busy:
        return busy
    scaling = request.params.get("scalingConfig") or {}
    merged = {**nodegroup.scaling_config, **scaling}
    problem = _validate_scaling(merged)
    if problem:
        return error("InvalidParameterException", problem,
                     nodegroupName=nodegroup.nodegroup_name)
    labels, taints = request.params.get("labels") or {}, request.params.get("taints") or {}
    eks_backend(request).update_nodegroup_config(  # type: ignore[union-attr]  # the cluster is in it
        cluster_name=cluster.name, nodegroup_name=nodegroup.nodegroup_name, labels=labels,
        taints=taints, scaling_config=scaling,
        update_config=request.params.get("updateConfig"),
        node_repair_config=request.params.get("nodeRepairConfig"))
    params = [{"type": t, "value": str(scaling[k])} for k, t in
              (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredSize", "DesiredSize"))
              if k in scaling]
    for field, kind in (("addOrUpdateLabels", "LabelsToAdd"), ("removeLabels", "LabelsToRemove")):
        if labels.get(field):
            params.append({"type": kind, "value": json.dumps(labels[field])})
    for field, kind in (("addOrUpdateTaints", "TaintsToAdd"), ("removeTaints", "TaintsToRemove")):
        if taints.get(field):
            params.append({"type": kind, "value": json.dumps(taints[field])})
    eks_nodes.rescale(nodegroup, request.account_id, request.region)
    key = cluster_key(request.account_id, request.region, cluster.name)
    update = record_update(plane, key, "ConfigUpdate", params, CONFIG_UPDATE_SECONDS,
                           nodegroup=nodegroup.nodegroup_name)
    nodegroup.status = "UPDATING"
    return ok({"update": public(update)})


@api.before("eks", method="POST", path=r"/clusters/[^/]+/node-groups/[^/]+/update-version")
def _update_nodegroup_version(plane: ControlPlane, request: Request) -> api.Response | None:
    """UpdateNodegroupVersion: the nodes are replaced by ones on the new AMI."""
    cluster, nodegroup, missing = _nodegroup_for(request)
    if nodegroup is None:
        return missing
    busy = _nodegroup_busy(nodegroup)
    if busy:
        return busy
    wanted = str(request.params.get("version") or cluster.version)
    minor = ssm_params.k8s_minor
    if tuple(map(int, minor(wanted).split("."))) > tuple(map(int, minor(cluster.version)
                                                              .split("."))):
        return error("InvalidParameterException", f"Requested Nodegroup version {wanted} is "
                     f"newer than the cluster version {cluster.version}",
                     nodegroupName=nodegroup.nodegroup_name)
    family = ssm_params.family_for(nodegroup.ami_type, wanted)
    release = str(request.params.get("releaseVersion") or ssm_params.recommended(
        request.region, wanted, family)["release_version"])
    key = cluster_key(request.account_id, request.region, cluster.name)
    update = record_update(plane, key, "VersionUpdate",
                           [{"type": "Version", "value": wanted},
                            {"type": "ReleaseVersion", "value": release}],
                           VERSION_UPDATE_SECONDS, nodegroup=nodegroup.nodegroup_name,
                           effect={"nodegroup_version": wanted, "release_version": release})
    nodegroup.status = "UPDATING"
    return ok({"update": public(update)})


# --- tags on what moto does not tag --------------------------------------------------------

_TAGGABLE = re.compile(r"^arn:[^:]+:eks:[^:]*:\d*:(nodegroup|fargateprofile|addon|"
                       r"access-entry|podidentityassociation)/([^/]+)/(.+)$")


def _tag_holder(plane: ControlPlane, request: Request, arn: str) -> dict[str, str] | None:
    """The tags dict of an EKS resource moto cannot tag (None: not found)."""
    match = _TAGGABLE.match(arn)
    if match is None:
        return None
    kind, cluster_name, rest = match.groups()
    cluster, _ = get_cluster(request, cluster_name)
    if cluster is None:
        return None
    if kind == "nodegroup":
        found = next((n for n in cluster.nodegroups.values() if n.arn == arn), None)
    elif kind == "fargateprofile":
        found = next((p for p in cluster.fargate_profiles.values()
                      if p.fargate_profile_arn == arn), None)
    else:
        key = cluster_key(request.account_id, request.region, cluster_name)
        section = {"addon": "addons", "access-entry": "access",
                   "podidentityassociation": "pod_identity"}[kind]
        arn_field = {"addon": "addonArn", "access-entry": "accessEntryArn",
                     "podidentityassociation": "associationArn"}[kind]
        record = next((r for r in state(plane)[section].get(key, {}).values()
                       if r.get(arn_field) == arn), None)
        return record.setdefault("tags", {}) if record is not None else None
    if found is None:
        return None
    if found.tags is None:
        found.tags = {}
    return found.tags


@api.before("eks", path=r"/tags/.+")
def _tags(plane: ControlPlane, request: Request) -> api.Response | None:
    """TagResource, UntagResource and ListTagsForResource for node groups, Fargate profiles,
    add-ons, access entries and pod identity associations (moto tags clusters only)."""
    from urllib.parse import unquote

    arn = unquote(request.path[len("/tags/"):])
    if _TAGGABLE.match(arn) is None:
        return None
    tags = _tag_holder(plane, request, arn)
    if tags is None:
        return error("NotFoundException", "Resource was not found")
    if request.method == "GET":
        return ok({"tags": dict(tags)})
    if request.method == "POST":
        tags.update(request.params.get("tags") or {})
        return ok({})
    keys = request.params.get("tagKeys") or []
    for tag_key in [keys] if isinstance(keys, str) else keys:
        tags.pop(tag_key, None)
    return ok({})
