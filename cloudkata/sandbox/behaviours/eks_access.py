"""EKS access entries, access policies and pod identity associations (moto has no routes).

Access entries grant an IAM principal access to the cluster's Kubernetes API: one entry per
principal (``create-access-entry``), with Kubernetes groups or AWS-managed access policies
associated to it at cluster or namespace scope (``associate-access-policy`` with e.g.
``arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy``). They only work
when the cluster's authenticationMode includes the EKS API (API or API_AND_CONFIG_MAP);
otherwise every call answers InvalidRequestException "The cluster's authentication mode must
be set to one of [API, API_AND_CONFIG_MAP] to perform this operation." (the default for a
cluster made with the API is CONFIG_MAP). A second entry for the same principal is a 409
("The specified access entry resource is already in use on this cluster."), an unknown one a
404 ("The specified principalArn could not be found. ..."). When a managed node group or a
Fargate profile is created on such a cluster, EKS adds an EC2_LINUX / FARGATE_LINUX entry
for its role itself — which is why creating one by hand then fails with the 409.

Pod identity associations map a Kubernetes service account (namespace + name) to an IAM
role; ids are ``a-`` and 17 characters, and a second association for the same service
account is a 409 ("Association already exists: a-...").

Data is plain dicts in ``plane.module_state("eks")``, under ``access`` and
``pod_identity``, keyed by ``account/region/cluster``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from ..control import api
from ..control.plane import ControlPlane, Request
from .eks_common import (
    cluster_key,
    error,
    get_cluster,
    ok,
    paginate,
    param,
    public,
    random_id,
    random_uuid,
    state,
)

POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
ACCESS_POLICIES = ("AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy",
                   "AmazonEKSClusterAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy",
                   "AmazonEMRJobPolicy")
ENTRY_TYPES = ("STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX",
               "HYPERPOD_LINUX")
NODE_USERNAMES = {"EC2_LINUX": "system:node:{{EC2PrivateDNSName}}",
                  "EC2_WINDOWS": "system:node:{{EC2PrivateDNSName}}"}
NODE_GROUPS = {"EC2_LINUX": ["system:nodes"],
               "EC2_WINDOWS": ["system:nodes", "eks:kube-proxy-windows"],
               "FARGATE_LINUX": ["system:node-proxier", "system:nodes"]}
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
PRINCIPAL = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)/(.+)$")
MODE_MESSAGE = ("The cluster's authentication mode must be set to one of [API, "
                "API_AND_CONFIG_MAP] to perform this operation.")
IN_USE_MESSAGE = "The specified access entry resource is already in use on this cluster."
NOT_FOUND_MESSAGE = ("The specified principalArn could not be found. You can view your "
                     "available access entries with 'list-access-entries'.")
ENTRY_PATH = re.compile(r"^/(?P<principal>arn:.+?)(?:/access-policies(?:/(?P<policy>arn:.+))?)?$")


def api_mode(cluster: Any) -> bool:
    mode = (getattr(cluster, "access_config", None) or {}).get("authenticationMode")
    return mode in ("API", "API_AND_CONFIG_MAP")


def _entries(plane: ControlPlane, key: str) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = state(plane)["access"].setdefault(key, {})
    return entries


def _new_entry(plane: ControlPlane, account: str, region: str, cluster_name: str,
               principal: str, entry_type: str, groups: list[str], username: str | None,
               tags: dict[str, str]) -> dict[str, Any]:
    match = PRINCIPAL.match(principal)
    assert match is not None
    _, principal_account, kind, path = match.groups()
    name = path.rsplit("/", 1)[-1]
    if username is None:
        if entry_type in NODE_USERNAMES:
            username = NODE_USERNAMES[entry_type]
        elif entry_type != "STANDARD":
            username = "system:node:{{SessionName}}"
        elif kind == "user":
            username = principal
        else:
            username = (f"arn:aws:sts::{principal_account}:assumed-role/{name}/"
                        "{{SessionName}}")
    now = plane.now()
    return {
        "clusterName": cluster_name,
        "principalArn": principal,
        "kubernetesGroups": groups or list(NODE_GROUPS.get(entry_type, [])),
        "accessEntryArn": (f"arn:aws:eks:{region}:{account}:access-entry/{cluster_name}/"
                           f"{kind}/{principal_account}/{name}/{random_uuid()}"),
        "createdAt": now,
        "modifiedAt": now,
        "tags": dict(tags),
        "username": username,
        "type": entry_type,
        "_policies": {},
    }


def node_entry(plane: ControlPlane, account: str, region: str, cluster: Any,
               principal: str | None, entry_type: str) -> None:
    """The entry EKS adds for a node group's (or Fargate profile's) role, if it can."""
    if not principal or not api_mode(cluster) or not PRINCIPAL.match(principal):
        return
    entries = _entries(plane, cluster_key(account, region, cluster.name))
    if principal not in entries:
        entries[principal] = _new_entry(plane, account, region, cluster.name, principal,
                                        entry_type, [], None, {})


def _principal_problem(principal: str) -> str | None:
    if ":assumed-role/" in principal or ":sts::" in principal:
        return "The principalArn parameter format is not valid"
    match = PRINCIPAL.match(principal)
    if match is None:
        return "The principalArn parameter format is not valid"
    if match.group(3) == "role" and match.group(4).startswith("aws-service-role/"):
        return ("The caller is not allowed to modify access entries with a principalArn value "
                "of a Service Linked Role")
    return None


def _username_problem(username: str) -> str | None:
    for prefix in RESERVED_USERNAME_PREFIXES:
        if username.startswith(prefix):
            return f"The username {username} is not valid. A username can't start with {prefix}"
    return None


def _entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {"accessEntry": public(entry)}


def _create_entry(plane: ControlPlane, request: Request, cluster: Any,
                  key: str) -> api.Response:
    principal = str(request.params.get("principalArn") or "")
    entry_type = str(request.params.get("type") or "STANDARD")
    groups = list(request.params.get("kubernetesGroups") or [])
    username = request.params.get("username")
    problem = _principal_problem(principal)
    if problem is None and entry_type not in ENTRY_TYPES:
        problem = (f"The type {entry_type} is not valid. Valid values are "
                   f"[{', '.join(ENTRY_TYPES)}]")
    if problem is None and entry_type != "STANDARD" and (groups or username):
        problem = (f"kubernetesGroups and username can't be set on an access entry of type "
                   f"{entry_type}.")
    if problem is None and username:
        problem = _username_problem(username)
    if problem:
        return error("InvalidParameterException", problem, clusterName=cluster.name)
    entries = _entries(plane, key)
    if principal in entries:
        return error("ResourceInUseException", IN_USE_MESSAGE, clusterName=cluster.name)
    entries[principal] = _new_entry(plane, request.account_id, request.region, cluster.name,
                                    principal, entry_type, groups, username,
                                    request.params.get("tags") or {})
    return ok(_entry_view(entries[principal]))


def _scope_problem(scope: dict[str, Any]) -> str | None:
    kind, namespaces = scope.get("type"), scope.get("namespaces") or []
    if kind == "cluster" and namespaces:
        return "namespaces can't be set when the access scope type is cluster."
    if kind == "namespace" and not namespaces:
        return "namespaces must be set when the access scope type is namespace."
    if kind not in ("cluster", "namespace"):
        return f"The access scope type {kind} is not valid. Valid values are [cluster, namespace]"
    return None


def _associate(plane: ControlPlane, request: Request, entry: dict[str, Any]) -> api.Response:
    policy = str(request.params.get("policyArn") or "")
    scope = request.params.get("accessScope") or {}
    if entry["type"] != "STANDARD":
        return error("InvalidParameterException", "This operation can only be performed on "
                     'Access Entries with a type of "STANDARD".')
    if not policy.startswith(POLICY_PREFIX) or \
            policy[len(POLICY_PREFIX):] not in ACCESS_POLICIES:
        return error("InvalidParameterException", f"The policyArn {policy} is not valid.")
    problem = _scope_problem(scope)
    if problem:
        return error("InvalidParameterException", problem)
    now = plane.now()
    previous = entry["_policies"].get(policy)
    association = {"policyArn": policy,
                   "accessScope": {"type": scope["type"],
                                   "namespaces": list(scope.get("namespaces") or [])},
                   "associatedAt": previous["associatedAt"] if previous else now,
                   "modifiedAt": now}
    entry["_policies"][policy] = association
    return ok({"clusterName": entry["clusterName"], "principalArn": entry["principalArn"],
               "associatedAccessPolicy": association})


@api.before("eks", path=r"/clusters/[^/]+/access-entries(/.*)?")
def _access_entries(plane: ControlPlane, request: Request) -> api.Response | None:
    """Create/Describe/List/Update/DeleteAccessEntry, Associate/Disassociate/
    ListAssociatedAccessPolicies. The principal ARN is a URL-encoded path segment."""
    name = request.path.split("/")[2]
    cluster, missing = get_cluster(request, name)
    if cluster is None:
        return missing
    if not api_mode(cluster):
        return error("InvalidRequestException", MODE_MESSAGE, clusterName=name)
    key = cluster_key(request.account_id, request.region, name)
    entries = _entries(plane, key)
    rest = unquote(request.path)[len(f"/clusters/{name}/access-entries"):]
    if rest in ("", "/"):
        if request.method == "POST":
            if cluster.status in ("CREATING", "DELETING"):
                return error("InvalidRequestException",
                             f"Cluster '{name}' is not in ACTIVE status", clusterName=name)
            return _create_entry(plane, request, cluster, key)
        wanted = param(request, "associatedPolicyArn")
        principals = [p for p, e in entries.items() if not wanted or wanted in e["_policies"]]
        page, token = paginate(principals, request)
        return ok({"accessEntries": page, **({"nextToken": token} if token else {})})
    match = ENTRY_PATH.match(rest)
    entry = entries.get(match.group("principal")) if match else None
    if match is None or entry is None:
        return error("ResourceNotFoundException", NOT_FOUND_MESSAGE, clusterName=name)
    is_policies = rest != f"/{match.group('principal')}"
    policy = match.group("policy")
    if not is_policies:
        return _one_entry(plane, request, entries, entry)
    if policy:
        if request.method != "DELETE":
            return None
        if entry["_policies"].pop(policy, None) is None:
            return error("ResourceNotFoundException",
                         "The specified policyArn is not associated with the access entry.",
                         clusterName=name)
        return ok({})
    if request.method == "POST":
        return _associate(plane, request, entry)
    page, token = paginate(list(entry["_policies"].values()), request)
    return ok({"clusterName": name, "principalArn": entry["principalArn"],
               "associatedAccessPolicies": page, **({"nextToken": token} if token else {})})


def _one_entry(plane: ControlPlane, request: Request, entries: dict[str, Any],
               entry: dict[str, Any]) -> api.Response | None:
    if request.method == "GET":
        return ok(_entry_view(entry))
    if request.method == "DELETE":
        entries.pop(entry["principalArn"], None)
        return ok({})
    if request.method != "POST":
        return None
    groups = request.params.get("kubernetesGroups")
    username = request.params.get("username")
    if entry["type"] != "STANDARD" and (groups or (username and username != entry["username"])):
        return error("InvalidParameterException", "kubernetesGroups and username can't be set "
                     f"on an access entry of type {entry['type']}.")
    problem = _username_problem(username) if username else None
    if problem:
        return error("InvalidParameterException", problem)
    if groups is not None:
        entry["kubernetesGroups"] = list(groups)
    if username:
        entry["username"] = username
    entry["modifiedAt"] = plane.now()
    return ok(_entry_view(entry))


@api.before("eks", method="GET", path=r"/access-policies")
def _list_access_policies(_: ControlPlane, request: Request) -> api.Response:
    """ListAccessPolicies: the AWS-managed policies access entries can be given."""
    policies = [{"name": name, "arn": POLICY_PREFIX + name} for name in ACCESS_POLICIES]
    page, token = paginate(policies, request)
    return ok({"accessPolicies": page, **({"nextToken": token} if token else {})})


# --- pod identity associations ----------------------------------------------------------------

def _associations(plane: ControlPlane, key: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = state(plane)["pod_identity"].setdefault(key, {})
    return found


def create_association(plane: ControlPlane, account: str, region: str, cluster_name: str,
                       fields: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
    """Store a new association (for the API, or for an add-on that asks for one)."""
    key = cluster_key(account, region, cluster_name)
    association_id = "a-" + random_id(17)
    now = plane.now()
    record: dict[str, Any] = {
        "clusterName": cluster_name,
        "namespace": fields["namespace"],
        "serviceAccount": fields["serviceAccount"],
        "roleArn": fields["roleArn"],
        "associationArn": (f"arn:aws:eks:{region}:{account}:podidentityassociation/"
                           f"{cluster_name}/{association_id}"),
        "associationId": association_id,
        "tags": dict(fields.get("tags") or {}),
        "createdAt": now,
        "modifiedAt": now,
        "disableSessionTags": bool(fields.get("disableSessionTags", False)),
    }
    if owner:
        record["ownerArn"] = owner
    if fields.get("targetRoleArn"):
        record["targetRoleArn"] = fields["targetRoleArn"]
        record["externalId"] = random_uuid()
    if fields.get("policy"):
        record["policy"] = fields["policy"]
    _associations(plane, key)[association_id] = record
    return record


def find_association(plane: ControlPlane, key: str, namespace: str,
                     service_account: str) -> dict[str, Any] | None:
    return next((a for a in _associations(plane, key).values()
                 if a["namespace"] == namespace and a["serviceAccount"] == service_account),
                None)


def _role_problem(role: Any) -> str | None:
    if not isinstance(role, str) or not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+", role):
        return f"The roleArn {role} is not a valid IAM role ARN"
    return None


@api.before("eks", path=r"/clusters/[^/]+/pod-identity-associations(/[^/]+)?")
def _pod_identity(plane: ControlPlane, request: Request) -> api.Response | None:
    """Create/Describe/List/Update/DeletePodIdentityAssociation."""
    parts = request.path.strip("/").split("/")
    name = parts[1]
    cluster, missing = get_cluster(request, name)
    if cluster is None:
        return missing
    key = cluster_key(request.account_id, request.region, name)
    associations = _associations(plane, key)
    if len(parts) == 3:
        if request.method == "POST":
            return _create_association(plane, request, cluster, key)
        namespace, account = param(request, "namespace"), param(request, "serviceAccount")
        summaries = [{k: a[k] for k in ("clusterName", "namespace", "serviceAccount",
                                        "associationArn", "associationId", "ownerArn") if k in a}
                     for a in associations.values()
                     if (not namespace or a["namespace"] == namespace)
                     and (not account or a["serviceAccount"] == account)]
        page, token = paginate(summaries, request)
        return ok({"associations": page, **({"nextToken": token} if token else {})})
    association_id = unquote(parts[3])
    if len(association_id) != 19:
        return error("InvalidParameterException",
                     "The parameter associationId should be 19 characters long.")
    record = associations.get(association_id)
    if record is None:
        return error("ResourceNotFoundException",
                     f"No Pod Identity Association found for id: {association_id}",
                     clusterName=name)
    if request.method == "GET":
        return ok({"association": public(record)})
    if request.method == "DELETE":
        associations.pop(association_id)
        return ok({"association": public(record)})
    for field in ("roleArn", "targetRoleArn", "policy", "disableSessionTags"):
        if request.params.get(field) is not None:
            if field == "roleArn" and _role_problem(request.params[field]):
                return error("InvalidParameterException",
                             str(_role_problem(request.params[field])))
            record[field] = request.params[field]
    record["modifiedAt"] = plane.now()
    return ok({"association": public(record)})


def _create_association(plane: ControlPlane, request: Request, cluster: Any,
                        key: str) -> api.Response:
    if cluster.status in ("CREATING", "DELETING"):
        return error("InvalidRequestException",
                     f"Cluster '{cluster.name}' is not in ACTIVE status",
                     clusterName=cluster.name)
    problem = _role_problem(request.params.get("roleArn"))
    if problem:
        return error("InvalidParameterException", problem)
    existing = find_association(plane, key, str(request.params.get("namespace")),
                                str(request.params.get("serviceAccount")))
    if existing is not None:
        return error("ResourceInUseException",
                     f"Association already exists: {existing['associationId']}")
    record = create_association(plane, request.account_id, request.region, cluster.name,
                                request.params)
    return ok({"association": public(record)})
