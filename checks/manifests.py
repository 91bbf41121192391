"""Kubernetes storage manifests the learner writes in the lab workspace, judged against AWS.

There is no Kubernetes API in a lab: the checks read every ``*.yaml``/``*.yml`` file in the
workspace folder (multi-document YAML, ``yaml.safe_load_all``) and cross-check what they say
with AWS, which is what would make ``kubectl apply`` work or fail on a real cluster: the CSI
driver's add-on is installed, a ``fileSystemId`` exists and has mount targets where the pods
run, an access point belongs to its file system. Which namespaces run on Fargate is read from
the cluster's Fargate profiles, because the rules differ there: a Fargate pod can use only
EFS, and only through a PersistentVolume made beforehand (static provisioning) — the EFS
driver built into Fargate mounts volumes but runs no controller that could create them.

The checks take the workspace path as a parameter; labs pass the built-in ``{workspace}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError
from pydantic import Field

from .registry import Params, check
from .result import Result, failed, passed
from .storage import (
    addon,
    coverage_problem,
    fargate_profiles,
    file_system_label,
    file_systems,
    find_cluster,
    missing_cluster,
    placement,
)

EBS = "ebs.csi.aws.com"
EFS = "efs.csi.aws.com"
IN_TREE_EBS = "kubernetes.io/aws-ebs"
EBS_TYPES = ("gp3", "gp2", "io1", "io2", "st1", "sc1", "standard")
CLUSTER_SCOPED = ("StorageClass", "PersistentVolume", "Namespace")
WORKLOADS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
QUANTITY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
VOLUME_HANDLE = re.compile(r"^(fs-[0-9a-f]{8,17})(?::([^:]*))?(?::(fsap-[0-9a-f]{8,17}))?$")


@dataclass(frozen=True)
class Manifest:
    kind: str
    name: str
    namespace: str
    body: dict[str, Any]
    source: str

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}

    @property
    def label(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where} ({self.source})"


@dataclass
class Workspace:
    objects: list[Manifest]
    problems: list[str]
    files: list[str]

    def of(self, kind: str) -> list[Manifest]:
        return [m for m in self.objects if m.kind == kind]

    def find(self, kind: str, name: str, namespace: str = "") -> Manifest | None:
        return next((m for m in self.of(kind) if m.name == name
                     and (kind in CLUSTER_SCOPED or m.namespace == namespace)), None)

    def summary(self, kind: str) -> str:
        found = [f"{m.name} ({m.source})" for m in self.of(kind)]
        text = f"{kind}s: " + ", ".join(found) if found else f"no {kind} in {self.where()}"
        return text + ("; " + "; ".join(self.problems) if self.problems else "")

    def where(self) -> str:
        return ", ".join(self.files) if self.files else "no YAML files"


def read_workspace(folder: str) -> Workspace:
    """Every Kubernetes object in the folder's YAML files; parse errors become problems."""
    root = Path(folder)
    objects: list[Manifest] = []
    problems: list[str] = []
    paths = sorted(p for pattern in ("*.yaml", "*.yml", "*/*.yaml", "*/*.yml")
                   for p in root.glob(pattern) if not p.name.startswith("."))
    files = [str(p.relative_to(root)) for p in paths]
    for path, name in zip(paths, files, strict=True):
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            problems.append(f"{name}{line} is not valid YAML ({getattr(exc, 'problem', exc)})")
            continue
        for number, document in enumerate(documents, start=1):
            for item in _items(document):
                kind, meta = item.get("kind"), item.get("metadata") or {}
                if not isinstance(kind, str) or not isinstance(meta, dict) or not meta.get("name"):
                    if item:
                        problems.append(f"{name} document {number} has no kind or metadata.name")
                    continue
                namespace = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace")
                                                                   or "default")
                source = name if len(documents) == 1 else f"{name} #{number}"
                objects.append(Manifest(kind, str(meta["name"]), namespace, item, source))
    return Workspace(objects, problems, files)


def _items(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    if document.get("kind") == "List":
        return [i for i in document.get("items") or [] if isinstance(i, dict)]
    return [document]


def _no_workspace(folder: str) -> Result | None:
    if Path(folder).is_dir():
        return None
    return failed(f"The lab workspace {folder} does not exist.",
                  expected="the workspace folder with your manifests", actual="no such folder")


def _pick(ws: Workspace, kind: str, name: str | None, namespace: str,
          accept: Any, what: str) -> Manifest | None:
    """By name (and namespace) first; then the same name in another namespace (judged there);
    else discovery: the first object of the kind, in the namespace asked for, that ``accept``
    likes. A discovered object's label says how it was found; an object of another namespace
    or another name that ``accept`` does not like (the Fargate app's claim, say) belongs to
    something else and is never taken."""
    if name:
        found = ws.find(kind, name, namespace)
        if found is not None:
            return found
        elsewhere = next((m for m in ws.of(kind) if m.name == name), None)
        if elsewhere is not None:
            return replace(elsewhere, source=f"{elsewhere.source}; not in namespace {namespace}")
    found = next((m for m in ws.of(kind) if accept(m)
                  and (kind in CLUSTER_SCOPED or m.namespace == namespace)), None)
    if found is not None and name:
        found = replace(found, source=f"{found.source}; taken as {what}, as none is named "
                                      f"{name}")
    return found


def _string_problems(manifest: Manifest) -> list[str]:
    """StorageClass parameters are a map of strings: kubectl refuses 700 or true unquoted."""
    params = manifest.body.get("parameters") or {}
    shown = {k: json.dumps(v, default=str) for k, v in params.items() if not isinstance(v, str)}
    return [f"parameters.{k} is {v}, not a string (quote it: \"{v}\")" for k, v in shown.items()]


def _has_storage_request(claim: Manifest) -> bool:
    request = ((claim.spec.get("resources") or {}).get("requests") or {}).get("storage")
    return request is not None and bool(QUANTITY.match(str(request)))


# --- AWS cross-checks -----------------------------------------------------------------------


def _fs_problem(aws: Any, cluster: dict[str, Any], fs_id: str, who: str,
                fargate_only: bool = False) -> Result | None:
    """The fileSystemId must exist and have mount targets in every AZ the pods run in."""
    systems = {fs["FileSystemId"]: fs for fs in file_systems(aws)}
    if fs_id not in systems:
        here = ", ".join(file_system_label(fs) for fs in systems.values()) or "none"
        return failed(
            f"{who} names file system {fs_id}, which does not exist in {aws.region}: did you "
            "paste the id of your file system?",
            expected="the id of an existing EFS file system (aws efs describe-file-systems)",
            actual=f"{fs_id} not found; file systems here: {here}")
    where = placement(aws, cluster["name"], nodes=not fargate_only)
    return coverage_problem(aws, systems[fs_id], cluster, where) if where.users else None


def _driver_missing(aws: Any, cluster: str, name: str, who: str) -> Result | None:
    if addon(aws, cluster, name) is not None:
        return None
    return failed(f"{who} needs the {name} add-on on cluster {cluster}, and it is not "
                  "installed: nothing would act on it.", expected=f"add-on {name}",
                  actual="not installed")


@dataclass(frozen=True)
class Selector:
    namespace: str
    labels: dict[str, str]
    profile: str

    def selects(self, namespace: str, labels: dict[str, str]) -> bool:
        return namespace == self.namespace and all(labels.get(k) == v
                                                   for k, v in self.labels.items())


def fargate_selectors(aws: Any, cluster: str) -> list[Selector]:
    return [Selector(s.get("namespace", ""), dict(s.get("labels") or {}),
                     p["fargateProfileName"])
            for p in fargate_profiles(aws, cluster) for s in p.get("selectors") or []]


# --- StorageClasses -------------------------------------------------------------------------


class StorageClassParams(Params):
    workspace: str = Field(description="the lab workspace: pass {workspace}")
    cluster: str
    name: str | None = Field(default=None, description="the StorageClass name the lab suggests")


def _is_ebs(sc: Manifest) -> bool:
    return sc.body.get("provisioner") in (EBS, IN_TREE_EBS)


@check("k8s.ebs_storage_class", title="A gp3 StorageClass on the EBS CSI driver",
       params=StorageClassParams,
       hint="provisioner: ebs.csi.aws.com, parameters.type: gp3, "
            "volumeBindingMode: WaitForFirstConsumer")
def ebs_storage_class(aws: Any, p: StorageClassParams) -> Result:
    missing = _no_workspace(p.workspace)
    if missing:
        return missing
    ws = read_workspace(p.workspace)
    sc = _pick(ws, "StorageClass", p.name, "", _is_ebs, "the EBS StorageClass")
    if sc is None:
        return failed("None of your manifests defines an EBS StorageClass"
                      + (f" named {p.name}" if p.name else "") + ".",
                      expected=f"a StorageClass with provisioner {EBS}",
                      actual=ws.summary("StorageClass"))
    provisioner = sc.body.get("provisioner")
    if provisioner == IN_TREE_EBS:
        return failed(f"{sc.label} uses the in-tree provisioner {IN_TREE_EBS}, which newer "
                      "Kubernetes versions no longer ship; the add-on's driver is " + EBS + ".",
                      expected=f"provisioner {EBS}", actual=f"provisioner {provisioner}")
    if provisioner != EBS:
        return failed(f"{sc.label} is provisioned by {provisioner}, not the EBS CSI driver.",
                      expected=f"provisioner {EBS}", actual=f"provisioner {provisioner}")
    strings = _string_problems(sc)
    if strings:
        return failed(f"{sc.label} would be refused: {strings[0]}.",
                      expected="string parameter values", actual="; ".join(strings))
    volume_type = (sc.body.get("parameters") or {}).get("type")
    if volume_type not in EBS_TYPES:
        what = "sets no parameters.type" if volume_type is None else \
            f"asks for volume type {volume_type}, which EBS does not have"
        return failed(f"{sc.label} {what}.", expected="parameters.type gp3",
                      actual=f"type {volume_type}")
    if volume_type != "gp3":
        return failed(f"{sc.label} makes {volume_type} volumes; gp3 gives 3000 IOPS and "
                      "125 MiB/s at any size, for less money.", expected="parameters.type gp3",
                      actual=f"type {volume_type}")
    mode = sc.body.get("volumeBindingMode", "Immediate")
    if mode != "WaitForFirstConsumer":
        return failed(
            f"{sc.label} binds {mode}: the volume is made in some AZ before the pod is "
            "scheduled, and an EBS volume can only attach to a node in its own AZ.",
            expected="volumeBindingMode WaitForFirstConsumer", actual=f"volumeBindingMode {mode}")
    if find_cluster(aws, p.cluster) is None:
        return missing_cluster(aws, p.cluster)
    problem = _driver_missing(aws, p.cluster, "aws-ebs-csi-driver", sc.label)
    if problem:
        return problem
    return passed(f"{sc.label} makes gp3 volumes with {EBS}, in the AZ of the pod's node.")


def _is_efs_dynamic(sc: Manifest) -> bool:
    return sc.body.get("provisioner") == EFS and bool(
        (sc.body.get("parameters") or {}).get("provisioningMode"))


@check("k8s.efs_storage_class", title="An efs-ap StorageClass for your file system",
       params=StorageClassParams,
       hint="provisioner: efs.csi.aws.com with parameters provisioningMode: efs-ap, "
            "fileSystemId: <your fs id>, directoryPerms: \"700\"")
def efs_storage_class(aws: Any, p: StorageClassParams) -> Result:
    missing = _no_workspace(p.workspace)
    if missing:
        return missing
    ws = read_workspace(p.workspace)
    sc = _pick(ws, "StorageClass", p.name, "", lambda m: m.body.get("provisioner") == EFS,
               "the EFS StorageClass")
    if sc is None:
        return failed("None of your manifests defines an EFS StorageClass"
                      + (f" named {p.name}" if p.name else "") + ".",
                      expected=f"a StorageClass with provisioner {EFS}",
                      actual=ws.summary("StorageClass"))
    if sc.body.get("provisioner") != EFS:
        return failed(f"{sc.label} is provisioned by {sc.body.get('provisioner')}.",
                      expected=f"provisioner {EFS}",
                      actual=f"provisioner {sc.body.get('provisioner')}")
    strings = _string_problems(sc)
    if strings:
        return failed(f"{sc.label} would be refused: {strings[0]}.",
                      expected="string parameter values", actual="; ".join(strings))
    params = sc.body.get("parameters") or {}
    if params.get("provisioningMode") != "efs-ap":
        return failed(f"{sc.label} does not provision dynamically: the driver creates one "
                      "access point per claim only with provisioningMode efs-ap.",
                      expected="parameters.provisioningMode efs-ap",
                      actual=f"provisioningMode {params.get('provisioningMode')}")
    perms = params.get("directoryPerms")
    if perms is None or not re.fullmatch(r"0?[0-7]{3}", str(perms)):
        return failed(f"{sc.label} needs directoryPerms, the octal mode of each claim's "
                      "directory.", expected='directoryPerms such as "700"',
                      actual=f"directoryPerms {perms}")
    gids: list[Any] = [params.get("gidRangeStart"), params.get("gidRangeEnd")]
    if any(g is not None for g in gids) and not (
            all(str(g or "").isdigit() for g in gids) and int(gids[0]) <= int(gids[1])):
        return failed(f"{sc.label} has an invalid GID range.",
                      expected="gidRangeStart <= gidRangeEnd, both numbers",
                      actual=f"{gids[0]}..{gids[1]}")
    fs_id = params.get("fileSystemId")
    if not fs_id:
        return failed(f"{sc.label} names no fileSystemId.", expected="fileSystemId fs-...",
                      actual="none")
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return missing_cluster(aws, p.cluster)
    problem = _fs_problem(aws, cluster, str(fs_id), sc.label)
    if problem:
        return problem
    problem = _driver_missing(aws, p.cluster, "aws-efs-csi-driver", sc.label)
    if problem:
        return problem
    return passed(f"{sc.label} provisions access points on {fs_id}, which has mount targets "
                  "where the nodes run.")


# --- claims and volumes ---------------------------------------------------------------------


class ClaimParams(Params):
    workspace: str
    cluster: str
    provisioner: str = Field(description="ebs.csi.aws.com or efs.csi.aws.com")
    name: str | None = None
    namespace: str = "default"


def _class_of(ws: Workspace, claim: Manifest) -> Manifest | None:
    name = claim.spec.get("storageClassName")
    return ws.find("StorageClass", str(name)) if name else None


@check("k8s.claim", title="A PersistentVolumeClaim on the right StorageClass", params=ClaimParams,
       hint="A PVC names its class in spec.storageClassName and asks for resources.requests."
            "storage.")
def claim(aws: Any, p: ClaimParams) -> Result:
    missing = _no_workspace(p.workspace)
    if missing:
        return missing
    ws = read_workspace(p.workspace)

    def on_provisioner(m: Manifest) -> bool:
        sc = _class_of(ws, m)
        return sc is not None and sc.body.get("provisioner") == p.provisioner

    pvc = _pick(ws, "PersistentVolumeClaim", p.name, p.namespace, on_provisioner,
                f"the claim on {p.provisioner}")
    if pvc is None:
        return failed(f"None of your manifests defines a claim on {p.provisioner}"
                      + (f" named {p.name} in namespace {p.namespace}" if p.name else "") + ".",
                      expected=f"a PersistentVolumeClaim whose StorageClass uses {p.provisioner}",
                      actual=ws.summary("PersistentVolumeClaim"))
    class_name = pvc.spec.get("storageClassName")
    sc = _class_of(ws, pvc)
    if sc is None:
        return failed(
            f"{pvc.label} " + (f"names StorageClass {class_name}, which none of your manifests "
                               "define." if class_name else
                               no_class_words(_cluster_version(aws, p.cluster)) + "."),
            expected="storageClassName of your class", actual=f"storageClassName {class_name}")
    if sc.body.get("provisioner") != p.provisioner:
        return failed(f"{pvc.label} uses {sc.name}, provisioned by {sc.body.get('provisioner')}.",
                      expected=f"a class provisioned by {p.provisioner}",
                      actual=f"{sc.name}: {sc.body.get('provisioner')}")
    modes = pvc.spec.get("accessModes") or []
    if not modes:
        return failed(f"{pvc.label} sets no accessModes.", expected="accessModes",
                      actual="none")
    if p.provisioner == EBS and any(m in ("ReadWriteMany", "ReadOnlyMany") for m in modes):
        return failed(f"{pvc.label} asks for {', '.join(modes)}, but an EBS volume attaches to "
                      "one node at a time.", expected="ReadWriteOnce",
                      actual=", ".join(modes))
    if not _has_storage_request(pvc):
        return failed(f"{pvc.label} requests no valid storage size.",
                      expected="resources.requests.storage such as 4Gi",
                      actual=str((pvc.spec.get("resources") or {}).get("requests")))
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return missing_cluster(aws, p.cluster)
    fargate = [s for s in fargate_selectors(aws, p.cluster)
               if s.namespace == pvc.namespace and not s.labels]
    if fargate:
        return failed(
            f"{pvc.label} is in namespace {pvc.namespace}, which Fargate profile "
            f"{fargate[0].profile} runs on Fargate: "
            + ("Fargate pods cannot attach EBS volumes." if p.provisioner == EBS else
               "Fargate supports only statically provisioned EFS volumes."),
            expected="a namespace that runs on EC2 nodes", actual=f"namespace {pvc.namespace}")
    return passed(f"{pvc.label} claims {pvc.spec['resources']['requests']['storage']} "
                  f"({', '.join(modes)}) from {sc.name} ({p.provisioner}).")


class VolumeParams(Params):
    workspace: str
    cluster: str
    name: str | None = None


def parse_volume_handle(handle: str) -> tuple[str, str, str] | None:
    """``fs-id``, ``fs-id:/path``, ``fs-id::fsap-id`` or ``fs-id:/path:fsap-id``."""
    match = VOLUME_HANDLE.match(handle.strip())
    return (match.group(1), match.group(2) or "", match.group(3) or "") if match else None


def _pv_driver(pv: Manifest) -> str:
    if pv.spec.get("awsElasticBlockStore"):
        return IN_TREE_EBS
    return str((pv.spec.get("csi") or {}).get("driver", "none"))


@check("k8s.efs_static_volume", title="A static EFS PersistentVolume", params=VolumeParams,
       hint="A PersistentVolume with csi.driver efs.csi.aws.com and volumeHandle "
            "<fs id>::<access point id>.")
def efs_static_volume(aws: Any, p: VolumeParams) -> Result:
    missing = _no_workspace(p.workspace)
    if missing:
        return missing
    ws = read_workspace(p.workspace)
    pv = _pick(ws, "PersistentVolume", p.name, "", lambda m: _pv_driver(m) == EFS,
              "the EFS PersistentVolume")
    if pv is None:
        return failed("None of your manifests defines an EFS PersistentVolume"
                      + (f" named {p.name}" if p.name else "") + ".",
                      expected=f"a PersistentVolume with csi.driver {EFS}",
                      actual=ws.summary("PersistentVolume"))
    driver = _pv_driver(pv)
    if driver != EFS:
        return failed(f"{pv.label} uses {driver}; only EFS volumes can be mounted by "
                      "Fargate pods.", expected=f"csi.driver {EFS}", actual=f"driver {driver}")
    handle = str((pv.spec.get("csi") or {}).get("volumeHandle", ""))
    parsed = parse_volume_handle(handle)
    if parsed is None:
        return failed(f"{pv.label} has volumeHandle {handle!r}, which is not a file system id.",
                      expected="fs-<id> or fs-<id>::fsap-<id>",
                      actual=f"volumeHandle {handle!r}")
    fs_id, path, point = parsed
    if path and not path.startswith("/"):
        return failed(
            f"{pv.label} has volumeHandle {handle!r} with one colon, so the driver reads "
            f"{path!r} as a subdirectory of the file system, not as an access point"
            + (f": write {fs_id}::{path}" if path.startswith("fsap-") else "") + ".",
            expected="fs-<id>::fsap-<id> (two colons before an access point) or "
                     "fs-<id>:/path", actual=f"volumeHandle {handle!r}")
    if not (pv.spec.get("capacity") or {}).get("storage"):
        return failed(f"{pv.label} has no capacity.storage; Kubernetes requires one (EFS "
                      "ignores the size).", expected="capacity.storage such as 5Gi",
                      actual="no capacity")
    modes = pv.spec.get("accessModes") or []
    if not modes:
        return failed(f"{pv.label} sets no accessModes.", expected="ReadWriteMany",
                      actual="none")
    cluster = find_cluster(aws, p.cluster)
    if cluster is None:
        return missing_cluster(aws, p.cluster)
    problem = _fs_problem(aws, cluster, fs_id, pv.label, fargate_only=True)
    if problem:
        return problem
    if point:
        try:
            found = aws.efs.describe_access_points(AccessPointId=point)["AccessPoints"]
        except ClientError as exc:
            if "NotFound" not in exc.response.get("Error", {}).get("Code", ""):
                raise
            found = []
        if not found or found[0]["FileSystemId"] != fs_id:
            actual = (f"{point} belongs to {found[0]['FileSystemId']}" if found
                      else f"no access point {point}")
            return failed(f"{pv.label} names access point {point}, which is not an access "
                          f"point of {fs_id}.", expected=f"an access point of {fs_id}",
                          actual=actual)
    return passed(f"{pv.label} mounts {handle} with {EFS}.")


# --- what Fargate pods use ------------------------------------------------------------------


def _pod_spec(workload: Manifest) -> tuple[dict[str, Any], dict[str, str]]:
    """(pod spec, pod labels) of a Pod or of a workload's pod template."""
    if workload.kind == "Pod":
        return workload.spec, dict((workload.body.get("metadata") or {}).get("labels") or {})
    spec = workload.spec
    if workload.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template") or {}
    return template.get("spec") or {}, dict((template.get("metadata") or {}).get("labels") or {})


def _claims_of(workload: Manifest) -> list[str]:
    spec, _ = _pod_spec(workload)
    return [str((v.get("persistentVolumeClaim") or {}).get("claimName"))
            for v in spec.get("volumes") or [] if v.get("persistentVolumeClaim")]


def has_default_class(version: str | None) -> bool:
    """EKS marks gp2 (the in-tree EBS class) as the default StorageClass up to Kubernetes
    1.29; clusters made on 1.30 or later have no default class at all."""
    try:
        major, minor = (int(part) for part in str(version).split(".")[:2])
    except ValueError:
        return True
    return (major, minor) < (1, 30)


def no_class_words(version: str | None) -> str:
    if has_default_class(version):
        return ("names no storageClassName, so it gets the cluster's default class (gp2, the "
                "in-tree EBS class, on EKS before Kubernetes 1.30)")
    return (f"names no storageClassName, and an EKS cluster on Kubernetes {version} has no "
            "default StorageClass, so nothing would ever provision a volume for it (it stays "
            "Pending)")


def _cluster_version(aws: Any, name: str) -> str | None:
    cluster = find_cluster(aws, name)
    return str(cluster.get("version")) if cluster else None


def _fargate_claim_problem(ws: Workspace, pvc: Manifest, user: str,
                           version: str | None = None) -> tuple[str, str, str] | None:
    """(cause, expected, actual) when this claim cannot serve a Fargate pod."""
    expected = f"a claim bound to a static PersistentVolume with csi.driver {EFS}"
    volume_name = pvc.spec.get("volumeName")
    class_name = pvc.spec.get("storageClassName")
    sc = _class_of(ws, pvc)
    if sc is not None and _is_ebs(sc):
        return (f"{user} uses {pvc.label}, which is EBS-backed (StorageClass {sc.name}, "
                f"{sc.body.get('provisioner')}): Fargate pods cannot attach EBS volumes; EFS "
                "is the only persistent storage Fargate offers", expected,
                f"StorageClass {sc.name} ({sc.body.get('provisioner')})")
    if sc is not None and _is_efs_dynamic(sc) and not volume_name:
        return (f"{user} uses {pvc.label}, which relies on dynamic provisioning (StorageClass "
                f"{sc.name}, provisioningMode {sc.body['parameters']['provisioningMode']}): on "
                "Fargate only static provisioning works, so make a PersistentVolume yourself",
                expected, f"dynamic StorageClass {sc.name}")
    if class_name is None and not volume_name:
        why = (", which Fargate cannot use" if has_default_class(version) else "")
        return (f"{user} uses {pvc.label}, which {no_class_words(version)}{why}", expected,
                "no storageClassName")
    if volume_name:
        candidates = [pv for pv in ws.of("PersistentVolume") if pv.name == volume_name]
    else:
        candidates = [pv for pv in ws.of("PersistentVolume")
                      if (pv.spec.get("storageClassName") or "") == (class_name or "")]
    if not candidates:
        return (f"{user} uses {pvc.label}, but no PersistentVolume in your manifests "
                + (f"is named {volume_name}" if volume_name else
                   f"has storageClassName {class_name!r}") + " for it to bind to",
                expected, ws.summary("PersistentVolume"))
    modes = set(pvc.spec.get("accessModes") or [])
    wanted_class = class_name or ""
    for pv in candidates:
        if _pv_driver(pv) != EFS:
            continue
        if (pv.spec.get("storageClassName") or "") != wanted_class:
            continue
        ref = pv.spec.get("claimRef") or {}
        if ref and (ref.get("name") != pvc.name
                    or ref.get("namespace", pvc.namespace) != pvc.namespace):
            continue
        if modes and not modes <= set(pv.spec.get("accessModes") or []):
            continue
        return None
    pv = candidates[0]
    if _pv_driver(pv) != EFS:
        return (f"{user} uses {pvc.label}, bound to {pv.label}, which is EBS-backed "
                f"({_pv_driver(pv)}): Fargate pods cannot attach EBS volumes", expected,
                f"{pv.name}: {_pv_driver(pv)}")
    if (pv.spec.get("storageClassName") or "") != wanted_class:
        return (f"{user} uses {pvc.label}, which cannot bind to {pv.label}: the claim's "
                f"storageClassName is {wanted_class!r} and the volume's "
                f"{pv.spec.get('storageClassName') or ''!r}, and a claim binds only to a volume "
                "of its own class", expected + ', both with storageClassName ""',
                f"claim class {wanted_class!r}, volume class "
                f"{pv.spec.get('storageClassName') or ''!r}")
    offered = set(pv.spec.get("accessModes") or [])
    if modes and not modes <= offered:
        return (f"{user} uses {pvc.label}, which cannot bind to {pv.label}: the claim asks for "
                f"access modes {', '.join(sorted(modes))} and the volume offers only "
                f"{', '.join(sorted(offered)) or 'none'}", expected + ", ReadWriteMany on both",
                f"claim modes {sorted(modes)}, volume modes {sorted(offered)}")
    ref = pv.spec.get("claimRef") or {}
    return (f"{user} uses {pvc.label}, which cannot bind to {pv.label}: the volume's claimRef "
            f"reserves it for {ref.get('namespace', '?')}/{ref.get('name', '?')}", expected,
            f"claimRef {ref.get('namespace', '?')}/{ref.get('name', '?')}")


class FargateParams(Params):
    workspace: str
    cluster: str
    claim: str | None = Field(default=None, description="the claim the Fargate pod should use")


@check("k8s.fargate_storage", title="Fargate pods use statically provisioned EFS",
       params=FargateParams,
       hint="On Fargate: EFS only, through a PersistentVolume you write yourself and a claim "
            "bound to it.")
def fargate_storage(aws: Any, p: FargateParams) -> Result:
    missing = _no_workspace(p.workspace)
    if missing:
        return missing
    if find_cluster(aws, p.cluster) is None:
        return missing_cluster(aws, p.cluster)
    selectors = fargate_selectors(aws, p.cluster)
    if not selectors:
        return failed(f"Cluster {p.cluster} has no Fargate profile, so no pod runs on Fargate.",
                      expected="a Fargate profile", actual="none")
    ws = read_workspace(p.workspace)
    used: list[tuple[Manifest, str]] = []
    for workload in (m for m in ws.objects if m.kind in WORKLOADS):
        _, labels = _pod_spec(workload)
        if not any(s.selects(workload.namespace, labels) for s in selectors):
            continue
        if workload.kind == "DaemonSet":
            return failed(f"{workload.label} would run on Fargate, which runs no DaemonSets.",
                          expected="a Pod or Deployment", actual="DaemonSet")
        for name in _claims_of(workload):
            pvc = ws.find("PersistentVolumeClaim", name, workload.namespace)
            if pvc is None:
                return failed(f"{workload.label} mounts claim {name}, which none of your "
                              f"manifests define in namespace {workload.namespace}.",
                              expected=f"a PersistentVolumeClaim {name}",
                              actual=ws.summary("PersistentVolumeClaim"))
            used.append((pvc, workload.label))
    namespaces = {s.namespace for s in selectors if not s.labels}
    for pvc in ws.of("PersistentVolumeClaim"):
        if pvc.namespace in namespaces and all(pvc is not u for u, _ in used):
            used.append((pvc, f"namespace {pvc.namespace} (on Fargate)"))
    where = ", ".join(sorted({s.namespace for s in selectors}))
    if not used:
        return failed(f"No pod in a Fargate namespace ({where}) uses a PersistentVolumeClaim.",
                      expected="a pod on Fargate with a claim on a static EFS volume",
                      actual=ws.summary("PersistentVolumeClaim"))
    version = _cluster_version(aws, p.cluster)
    for pvc, user in used:
        problem = _fargate_claim_problem(ws, pvc, user, version)
        if problem:
            cause, expected, actual = problem
            return failed(cause[0].upper() + cause[1:] + ".", expected=expected, actual=actual)
    names = [pvc.name for pvc, _ in used]
    if p.claim and p.claim not in names:
        return failed(f"No Fargate pod uses claim {p.claim}.",
                      expected=f"claim {p.claim} used by a pod in {where}",
                      actual="claims used on Fargate: " + ", ".join(names))
    return passed(f"On Fargate ({where}), {', '.join(sorted(set(names)))} bind(s) to static "
                  "EFS volumes.")
