"""EKS add-ons: create/describe/list/update/delete-addon and describe-addon-versions.

moto has no add-on routes (404). On AWS an add-on (vpc-cni, coredns, kube-proxy,
aws-ebs-csi-driver, aws-efs-csi-driver, eks-pod-identity-agent, ...) is CREATING, then
ACTIVE; one whose pods are a Deployment (coredns, the EBS and EFS CSI controllers) needs
nodes to run on: with none it stays CREATING and, after about twenty minutes, turns DEGRADED
(health issue InsufficientNumberOfReplicas) — ``aws eks wait addon-active`` fails on
DEGRADED — and becomes ACTIVE once a node group (or a Fargate profile for kube-system) is.
Its version must be one that ``describe-addon-versions`` lists for the cluster's Kubernetes
version ("Addon version specified is not supported"); an unknown name is "Addon specified is
not supported" (both InvalidParameterException); a second create is a 409 ("Addon already
exists."); a missing one is "No addon: <name> found in cluster: <cluster>"
(ResourceNotFoundException). serviceAccountRoleArn (IRSA) and configurationValues are kept;
podIdentityAssociations make pod identity associations owned by the add-on.

Here: 30 simulated seconds CREATING/UPDATING/DELETING; the versions are a plausible
catalogue per Kubernetes version. Records are plain dicts in ``plane.module_state("eks")``
under ``addons``.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..control import api
from ..control.plane import ControlPlane, Request
from . import eks_access, ssm_params
from .eks_common import (
    cluster_key,
    error,
    get_cluster,
    in_progress,
    not_active,
    ok,
    paginate,
    param,
    path_parts,
    public,
    random_uuid,
    record_update,
    state,
)

TRANSITION_SECONDS = 30.0
DEGRADED_AFTER_SECONDS = 1200.0
ALL = ssm_params.EKS_VERSIONS


class AddonVersion(NamedTuple):
    version: str
    kubernetes: tuple[str, ...]
    default_for: tuple[str, ...]


class AddonSpec(NamedTuple):
    type: str
    needs_nodes: bool
    requires_iam: bool
    compute_types: tuple[str, ...]
    versions: tuple[AddonVersion, ...]
    service_account: str | None = None
    managed_policy: str | None = None


def _kube_proxy() -> tuple[AddonVersion, ...]:
    builds = {"1.28": "24", "1.29": "13", "1.30": "6", "1.31": "2", "1.32": "2", "1.33": "2",
              "1.34": "2"}
    return tuple(AddonVersion(f"v{v}.{ssm_params.RELEASE_PATCH[v]}-eksbuild.{b}", (v,), (v,))
                 for v, b in reversed(builds.items()))


CATALOGUE: dict[str, AddonSpec] = {
    "coredns": AddonSpec("networking", True, False, ("ec2", "fargate"), (
        AddonVersion("v1.12.3-eksbuild.1", ("1.33", "1.34"), ("1.33", "1.34")),
        AddonVersion("v1.11.4-eksbuild.14", ("1.29", "1.30", "1.31", "1.32"),
                     ("1.31", "1.32")),
        AddonVersion("v1.11.1-eksbuild.9", ("1.29", "1.30"), ("1.29", "1.30")),
        AddonVersion("v1.10.1-eksbuild.18", ("1.28",), ("1.28",)),
    )),
    "kube-proxy": AddonSpec("networking", False, False, ("ec2",), _kube_proxy()),
    "vpc-cni": AddonSpec("networking", False, True, ("ec2",), (
        AddonVersion("v1.20.4-eksbuild.2", ALL, ALL),
        AddonVersion("v1.19.6-eksbuild.7", ALL[:-1], ()),
        AddonVersion("v1.18.6-eksbuild.1", ALL[:4], ()),
    ), "aws-node", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": AddonSpec("storage", True, True, ("ec2",), (
        AddonVersion("v1.48.0-eksbuild.2", ALL, ALL),
        AddonVersion("v1.45.0-eksbuild.2", ALL, ()),
    ), "ebs-csi-controller-sa",
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
    "aws-efs-csi-driver": AddonSpec("storage", True, True, ("ec2", "fargate"), (
        AddonVersion("v2.1.11-eksbuild.1", ALL, ALL),
        AddonVersion("v2.1.8-eksbuild.1", ALL, ()),
    ), "efs-csi-controller-sa",
        "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"),
    "eks-pod-identity-agent": AddonSpec("security", False, False, ("ec2",), (
        AddonVersion("v1.3.8-eksbuild.2", ALL, ALL),
        AddonVersion("v1.3.4-eksbuild.1", ALL, ()),
    )),
}


def default_version(name: str, kubernetes: str) -> str | None:
    minor = ssm_params.k8s_minor(kubernetes)
    versions = CATALOGUE[name].versions
    chosen = next((v for v in versions if minor in v.default_for), None) or next(
        (v for v in versions if minor in v.kubernetes), None)
    return chosen.version if chosen else None


def supported(name: str, version: str, kubernetes: str) -> bool:
    minor = ssm_params.k8s_minor(kubernetes)
    return any(v.version == version and minor in v.kubernetes
               for v in CATALOGUE[name].versions)


def _version_info(spec: AddonSpec, version: AddonVersion,
                  kubernetes: str | None) -> dict[str, Any]:
    targets = [kubernetes] if kubernetes else list(version.kubernetes)
    return {
        "addonVersion": version.version,
        "architecture": ["amd64", "arm64"],
        "computeTypes": list(spec.compute_types),
        "compatibilities": [{"clusterVersion": k, "platformVersions": ["*"],
                             "defaultVersion": k in version.default_for} for k in targets],
        "requiresConfiguration": False,
        "requiresIamPermissions": spec.requires_iam,
    }


@api.before("eks", method="GET", path=r"/addons/supported-versions")
def _describe_addon_versions(_: ControlPlane, request: Request) -> api.Response:
    """DescribeAddonVersions, filtered by kubernetesVersion, addonName, types, owners."""
    kubernetes = param(request, "kubernetesVersion")
    minor = ssm_params.k8s_minor(kubernetes) if kubernetes else None
    wanted_types = _as_list(request.params.get("types"))
    owners = _as_list(request.params.get("owners"))
    publishers = _as_list(request.params.get("publishers"))
    addons = []
    for name in sorted(CATALOGUE):
        spec = CATALOGUE[name]
        if param(request, "addonName") and name != param(request, "addonName"):
            continue
        if (wanted_types and spec.type not in wanted_types) or \
                (owners and "aws" not in owners) or (publishers and "eks" not in publishers):
            continue
        versions = [_version_info(spec, v, minor) for v in spec.versions
                    if minor is None or minor in v.kubernetes]
        if not versions:
            continue
        addons.append({"addonName": name, "type": spec.type, "addonVersions": versions,
                       "publisher": "eks", "owner": "aws", "defaultNamespace": "kube-system"})
    page, token = paginate(addons, request)
    return api.Response(200, {"addons": page, **({"nextToken": token} if token else {})},
                        "application/json")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@api.before("eks", method="GET", path=r"/addons/configuration-schemas")
def _describe_addon_configuration(_: ControlPlane, request: Request) -> api.Response:
    """DescribeAddonConfiguration: a JSON schema, and the role pod identity would need."""
    name, version = param(request, "addonName"), param(request, "addonVersion")
    spec = CATALOGUE.get(str(name))
    if spec is None or not any(v.version == version for v in spec.versions):
        return error("ResourceNotFoundException",
                     f"Addon {name} with version {version} not found")
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"resources": {"type": "object"}, "tolerations": {"type": "array"},
                             "nodeSelector": {"type": "object"}},
              "additionalProperties": True}
    body: dict[str, Any] = {"addonName": name, "addonVersion": version,
                            "configurationSchema": json.dumps(schema)}
    if spec.service_account:
        body["podIdentityConfiguration"] = [{"serviceAccount": spec.service_account,
                                             "recommendedManagedPolicies": [
                                                 spec.managed_policy]}]
    return api.Response(200, body, "application/json")


def _addons(plane: ControlPlane, key: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = state(plane)["addons"].setdefault(key, {})
    return found


def _no_addon(name: str, cluster: str) -> api.Response:
    return error("ResourceNotFoundException", f"No addon: {name} found in cluster: {cluster}",
                 clusterName=cluster, addonName=name)


def _pod_identities(plane: ControlPlane, request: Request, cluster: Any, addon: dict[str, Any],
                    wanted: list[dict[str, str]]) -> api.Response | None:
    """Make the pod identity associations an add-on asks for, owned by the add-on."""
    key = cluster_key(request.account_id, request.region, cluster.name)
    for item in wanted:
        if eks_access.find_association(plane, key, "kube-system", item["serviceAccount"]):
            return error("ResourceInUseException", "Association already exists for service "
                         f"account {item['serviceAccount']} in namespace kube-system")
    arns = []
    for item in wanted:
        record = eks_access.create_association(
            plane, request.account_id, request.region, cluster.name,
            {"namespace": "kube-system", "serviceAccount": item["serviceAccount"],
             "roleArn": item["roleArn"]}, owner=addon["addonArn"])
        arns.append(record["associationArn"])
    addon["podIdentityAssociations"] = arns
    return None


def _drop_pod_identities(plane: ControlPlane, key: str, addon: dict[str, Any]) -> None:
    associations = state(plane)["pod_identity"].get(key, {})
    for association_id in [i for i, a in associations.items()
                           if a.get("ownerArn") == addon["addonArn"]]:
        del associations[association_id]


def _create(plane: ControlPlane, request: Request, cluster: Any) -> api.Response:
    name = str(request.params.get("addonName") or "")
    key = cluster_key(request.account_id, request.region, cluster.name)
    addons = _addons(plane, key)
    if cluster.status not in ("ACTIVE", "UPDATING"):
        return not_active(cluster.name)
    if name not in CATALOGUE:
        return error("InvalidParameterException", "Addon specified is not supported",
                     clusterName=cluster.name, addonName=name)
    if name in addons:
        return error("ResourceInUseException", "Addon already exists.",
                     clusterName=cluster.name, addonName=name)
    version = request.params.get("addonVersion") or default_version(name, cluster.version)
    if not version or not supported(name, str(version), cluster.version):
        return error("InvalidParameterException", "Addon version specified is not supported",
                     clusterName=cluster.name, addonName=name)
    configuration = request.params.get("configurationValues")
    if configuration:
        try:
            json.loads(configuration)
        except ValueError:
            try:
                import yaml

                yaml.safe_load(configuration)
            except Exception:  # noqa: BLE001 - neither JSON nor YAML
                return error("InvalidParameterException",
                             "ConfigurationValue provided in request is not supported: "
                             "Json schema validation failed", addonName=name)
    now = plane.now()
    addon: dict[str, Any] = {
        "addonName": name,
        "clusterName": cluster.name,
        "status": "CREATING",
        "addonVersion": version,
        "health": {"issues": []},
        "addonArn": (f"arn:aws:eks:{request.region}:{request.account_id}:addon/"
                     f"{cluster.name}/{name}/{random_uuid()}"),
        "createdAt": now,
        "modifiedAt": now,
        "tags": dict(request.params.get("tags") or {}),
        "publisher": "eks",
        "owner": "aws",
        "_since": now,
    }
    for field in ("serviceAccountRoleArn", "configurationValues"):
        if request.params.get(field):
            addon[field] = request.params[field]
    namespace = (request.params.get("namespaceConfig") or {}).get("namespace")
    if namespace:
        addon["namespaceConfig"] = {"namespace": namespace}
    wanted = request.params.get("podIdentityAssociations") or []
    if wanted:
        refused = _pod_identities(plane, request, cluster, addon, wanted)
        if refused:
            return refused
    addons[name] = addon
    return ok({"addon": public(addon)})


def _update(plane: ControlPlane, request: Request, cluster: Any,
            addon: dict[str, Any]) -> api.Response:
    if addon["status"] not in ("ACTIVE", "DEGRADED", "UPDATE_FAILED"):
        return error("ResourceInUseException", f"Addon {addon['addonName']} is currently in "
                     f"{addon['status']} state and cannot be updated",
                     addonName=addon["addonName"])
    version = request.params.get("addonVersion")
    if version and not supported(addon["addonName"], str(version), cluster.version):
        return error("InvalidParameterException", "Addon version specified is not supported",
                     clusterName=cluster.name, addonName=addon["addonName"])
    params = []
    names = {"addonVersion": "AddonVersion", "serviceAccountRoleArn": "ServiceAccountRoleArn",
             "resolveConflicts": "ResolveConflicts",
             "configurationValues": "ConfigurationValues"}
    for field, kind in names.items():
        value = request.params.get(field)
        if value is None:
            continue
        params.append({"type": kind, "value": str(value)})
        if field != "resolveConflicts":
            addon[field] = value
    wanted = request.params.get("podIdentityAssociations")
    if wanted is not None:
        key = cluster_key(request.account_id, request.region, cluster.name)
        _drop_pod_identities(plane, key, addon)
        refused = _pod_identities(plane, request, cluster, addon, wanted)
        if refused:
            return refused
        params.append({"type": "PodIdentityAssociations", "value": json.dumps(wanted)})
    key = cluster_key(request.account_id, request.region, cluster.name)
    update = record_update(plane, key, "AddonUpdate", params, TRANSITION_SECONDS,
                           addon=addon["addonName"])
    addon["status"], addon["_since"], addon["modifiedAt"] = "UPDATING", plane.now(), plane.now()
    return ok({"update": public(update)})


@api.before("eks", path=r"/clusters/[^/]+/addons(/[^/]+(/update)?)?")
def _addon_api(plane: ControlPlane, request: Request) -> api.Response | None:
    """CreateAddon, ListAddons, DescribeAddon, UpdateAddon and DeleteAddon."""
    parts = path_parts(request)
    cluster, missing = get_cluster(request, parts[1])
    if cluster is None:
        return missing
    key = cluster_key(request.account_id, request.region, cluster.name)
    addons = _addons(plane, key)
    if len(parts) == 3:
        if request.method == "POST":
            return _create(plane, request, cluster)
        page, token = paginate(sorted(addons), request)
        return ok({"addons": page, **({"nextToken": token} if token else {})})
    addon = addons.get(parts[3])
    if addon is None:
        return _no_addon(parts[3], cluster.name)
    if len(parts) == 5:
        return _update(plane, request, cluster, addon) if request.method == "POST" else None
    if request.method == "GET":
        return ok({"addon": public(addon)})
    if request.method == "DELETE":
        if addon["status"] != "DELETING":
            addon["status"], addon["_since"] = "DELETING", plane.now()
        return ok({"addon": public(addon)})
    return None


def _has_nodes(cluster: Any) -> bool:
    """Somewhere for a Deployment's pods to run: a node group with nodes, or Fargate for
    kube-system."""
    for nodegroup in cluster.nodegroups.values():
        if nodegroup.status in ("ACTIVE", "UPDATING") and \
                int(nodegroup.scaling_config.get("desiredSize") or 0) > 0:
            return True
    for profile in cluster.fargate_profiles.values():
        if profile.status == "ACTIVE" and any(
                s.get("namespace") == "kube-system" for s in profile.selectors or []):
            return True
    return False


UNHEALTHY = {"code": "InsufficientNumberOfReplicas",
             "message": "The add-on is unhealthy because it doesn't have the desired number of "
                        "replicas.",
             "resourceIds": []}


def step(plane: ControlPlane, key: str, cluster: Any, now: float) -> None:
    """Move the cluster's add-ons on: CREATING/UPDATING -> ACTIVE (or DEGRADED without
    nodes for those that need them), DELETING -> gone."""
    addons = state(plane)["addons"].get(key)
    if not addons:
        return
    nodes = _has_nodes(cluster)
    for name, addon in list(addons.items()):
        elapsed = now - float(addon["_since"])
        needs_nodes = CATALOGUE[name].needs_nodes and not nodes
        status = addon["status"]
        if status == "DELETING":
            if elapsed >= TRANSITION_SECONDS:
                _drop_pod_identities(plane, key, addon)
                del addons[name]
            continue
        if status == "UPDATING" and in_progress(plane, key, addon=name):
            continue
        if status in ("CREATING", "UPDATING") and elapsed < TRANSITION_SECONDS:
            continue
        if needs_nodes:
            if status == "ACTIVE" or (status in ("CREATING", "UPDATING")
                                      and elapsed >= DEGRADED_AFTER_SECONDS):
                addon["status"], addon["health"] = "DEGRADED", {"issues": [dict(UNHEALTHY)]}
                addon["modifiedAt"] = now
            continue
        if status != "ACTIVE":
            addon["status"], addon["health"] = "ACTIVE", {"issues": []}
            addon["modifiedAt"] = now
