"""Manifest checks: Kubernetes YAML in a workspace folder, cross-checked against the sandbox."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from cloudkata.checks import Result, Status
from cloudkata.checks.manifests import (
    has_default_class,
    no_class_words,
    parse_volume_handle,
    read_workspace,
)
from cloudkata.targets import Target

from .test_storage import (
    CLUSTER,
    Eks,
    add_ebs_csi,
    add_efs,
    add_efs_csi_pod_identity,
    build_eks,
    run,
)

GP3 = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: kata-gp3}
provisioner: ebs.csi.aws.com
volumeBindingMode: WaitForFirstConsumer
parameters: {type: gp3, encrypted: "true"}
"""

EBS_CLAIM = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kata-ebs-claim, namespace: default}
spec:
  storageClassName: kata-gp3
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 4Gi}}
"""


def efs_class(fs: str, perms: str = '"700"') -> str:
    return f"""\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: kata-efs-ap}}
provisioner: efs.csi.aws.com
parameters:
  provisioningMode: efs-ap
  fileSystemId: {fs}
  directoryPerms: {perms}
"""


EFS_CLAIM = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: kata-efs-claim}
spec:
  storageClassName: kata-efs-ap
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 5Gi}}
"""


def fargate_app(claim_spec: str, volume: str = "") -> str:
    """A Fargate namespace's claim (spec given), a pod that mounts it, and a volume."""
    return volume + textwrap.dedent("""\
    ---
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: kata-fargate-claim, namespace: kata-apps}
    spec:
    """) + textwrap.indent(claim_spec, "  ") + textwrap.dedent("""\
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: app, namespace: kata-apps}
    spec:
      containers: [{name: app, image: busybox}]
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: kata-fargate-claim}
    """)


def static_pv(handle: str, driver: str = "efs.csi.aws.com") -> str:
    return f"""\
apiVersion: v1
kind: PersistentVolume
metadata: {{name: kata-fargate-pv}}
spec:
  capacity: {{storage: 5Gi}}
  accessModes: [ReadWriteMany]
  storageClassName: ""
  csi: {{driver: {driver}, volumeHandle: "{handle}"}}
"""


STATIC_CLAIM = """\
storageClassName: ""
volumeName: kata-fargate-pv
accessModes: [ReadWriteMany]
resources: {requests: {storage: 5Gi}}
"""


@pytest.fixture
def env(sandbox: Target) -> Eks:
    return build_eks(sandbox)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return tmp_path


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def check(env: Eks, ws: Path, check_id: str, **params: Any) -> Result:
    return run(env.target, check_id, workspace=str(ws), cluster=CLUSTER, **params)


# --- reading the workspace ------------------------------------------------------------------


def test_read_workspace_splits_documents_and_reports_bad_yaml(tmp_path: Path) -> None:
    write(tmp_path, "both.yaml", GP3 + "---\n" + EBS_CLAIM)
    write(tmp_path, "broken.yml", "kind: StorageClass\n  metadata: : x\n")
    found = read_workspace(str(tmp_path))
    assert [(m.kind, m.name, m.namespace) for m in found.objects] == [
        ("StorageClass", "kata-gp3", ""), ("PersistentVolumeClaim", "kata-ebs-claim", "default")]
    assert found.problems and "broken.yml line 2" in found.problems[0]


@pytest.mark.parametrize(("handle", "parsed"), [
    ("fs-0123abcd", ("fs-0123abcd", "", "")),
    ("fs-0123abcd::fsap-0123456789abcdef0", ("fs-0123abcd", "", "fsap-0123456789abcdef0")),
    ("fs-0123abcd:/data", ("fs-0123abcd", "/data", "")),
    ("vol-0123abcd", None),
])
def test_volume_handles(handle: str, parsed: tuple[str, str, str] | None) -> None:
    assert parse_volume_handle(handle) == parsed


# --- k8s.ebs_storage_class ------------------------------------------------------------------


def test_ebs_storage_class_passes(env: Eks, ws: Path) -> None:
    add_ebs_csi(env, settle=False)
    write(ws, "sc.yaml", GP3)
    result = check(env, ws, "k8s.ebs_storage_class", name="kata-gp3")
    assert result.status is Status.PASSED, result
    assert "gp3" in result.message


@pytest.mark.parametrize(("text", "cause"), [
    (GP3.replace("ebs.csi.aws.com", "kubernetes.io/aws-ebs"), "in-tree provisioner"),
    (GP3.replace("type: gp3", "type: gp2"), "makes gp2 volumes"),
    (GP3.replace("type: gp3", "type: gp9"), "which EBS does not have"),
    (GP3.replace("WaitForFirstConsumer", "Immediate"), "only attach to a node in its own AZ"),
    (GP3.replace('"true"', "true"), "not a string"),
])
def test_ebs_storage_class_names_the_mistake(env: Eks, ws: Path, text: str, cause: str) -> None:
    add_ebs_csi(env, settle=False)
    write(ws, "sc.yaml", text)
    result = check(env, ws, "k8s.ebs_storage_class", name="kata-gp3")
    assert result.status is Status.FAILED
    assert cause in result.message


def test_ebs_storage_class_needs_the_driver_addon(env: Eks, ws: Path) -> None:
    write(ws, "sc.yaml", GP3)
    result = check(env, ws, "k8s.ebs_storage_class", name="kata-gp3")
    assert result.status is Status.FAILED
    assert "aws-ebs-csi-driver add-on" in result.message


def test_ebs_storage_class_missing_names_the_files(env: Eks, ws: Path) -> None:
    write(ws, "claim.yaml", EBS_CLAIM)
    result = check(env, ws, "k8s.ebs_storage_class", name="kata-gp3")
    assert result.status is Status.FAILED
    assert result.actual is not None and "claim.yaml" in result.actual


def test_a_missing_workspace_is_named(env: Eks, tmp_path: Path) -> None:
    result = check(env, tmp_path / "nope", "k8s.ebs_storage_class")
    assert result.status is Status.FAILED
    assert "does not exist" in result.message


# --- k8s.claim ------------------------------------------------------------------------------


def test_ebs_claim_passes(env: Eks, ws: Path) -> None:
    write(ws, "all.yaml", GP3 + "---\n" + EBS_CLAIM)
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim")
    assert result.status is Status.PASSED, result
    assert "4Gi" in result.message


def test_ebs_claim_with_read_write_many_fails(env: Eks, ws: Path) -> None:
    write(ws, "all.yaml", GP3 + "---\n" + EBS_CLAIM.replace("ReadWriteOnce", "ReadWriteMany"))
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim")
    assert result.status is Status.FAILED
    assert "one node at a time" in result.message


def test_claim_without_a_class_on_a_cluster_without_a_default_class(env: Eks, ws: Path) -> None:
    """EKS stopped marking gp2 as the default class with Kubernetes 1.30: the lab's 1.32
    cluster has none, so a claim without storageClassName is never provisioned."""
    write(ws, "all.yaml", GP3 + "---\n" + EBS_CLAIM.replace("  storageClassName: kata-gp3\n", ""))
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim")
    assert result.status is Status.FAILED
    assert "names no storageClassName" in result.message
    assert "Kubernetes 1.32 has no default StorageClass" in result.message


@pytest.mark.parametrize(("version", "default"), [("1.29", True), ("1.30", False),
                                                  ("1.32", False), (None, True)])
def test_which_eks_versions_have_a_default_class(version: str | None, default: bool) -> None:
    assert has_default_class(version) is default
    assert ("default class (gp2" in no_class_words(version)) is default


def test_a_claim_of_another_name_in_another_namespace_is_not_taken(env: Eks, ws: Path) -> None:
    """Discovery looks for the claim in the namespace asked for: the Fargate app's EBS claim
    (another name, another namespace) belongs to something else and is never judged here."""
    write(ws, "sc.yaml", GP3)
    write(ws, "app.yaml", fargate_app(
        "storageClassName: kata-gp3\naccessModes: [ReadWriteOnce]\n"
        "resources: {requests: {storage: 5Gi}}\n"))
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim")
    assert result.status is Status.FAILED
    assert "None of your manifests defines a claim on ebs.csi.aws.com named kata-ebs-claim " \
        "in namespace default" in result.message
    write(ws, "claim.yaml", EBS_CLAIM.replace("kata-ebs-claim", "data"))
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim")
    assert result.status is Status.PASSED, result
    assert ("PersistentVolumeClaim data in namespace default (claim.yaml; taken as the claim on "
            "ebs.csi.aws.com, as none is named kata-ebs-claim)") in result.message


def test_the_named_claim_in_the_fargate_namespace_is_judged_there(env: Eks, ws: Path) -> None:
    write(ws, "all.yaml", GP3 + "---\n" + EBS_CLAIM.replace("namespace: default",
                                                           "namespace: kata-apps"))
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim")
    assert result.status is Status.FAILED
    assert "(all.yaml #2; not in namespace default)" in result.message
    assert "Fargate pods cannot attach EBS volumes" in result.message


def test_ebs_claim_in_the_fargate_namespace_is_flagged(env: Eks, ws: Path) -> None:
    write(ws, "all.yaml", GP3 + "---\n" + EBS_CLAIM.replace("namespace: default",
                                                           "namespace: kata-apps"))
    result = check(env, ws, "k8s.claim", provisioner="ebs.csi.aws.com", name="kata-ebs-claim",
                   namespace="kata-apps")
    assert result.status is Status.FAILED
    assert "Fargate pods cannot attach EBS volumes" in result.message
    assert "kata-fargate" in result.message


# --- k8s.efs_storage_class ------------------------------------------------------------------


def test_efs_storage_class_passes(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    add_efs_csi_pod_identity(env)
    write(ws, "efs.yaml", efs_class(fs) + "---\n" + EFS_CLAIM)
    result = check(env, ws, "k8s.efs_storage_class", name="kata-efs-ap")
    assert result.status is Status.PASSED, result
    claim = check(env, ws, "k8s.claim", provisioner="efs.csi.aws.com", name="kata-efs-claim")
    assert claim.status is Status.PASSED, claim


def test_efs_storage_class_with_a_made_up_file_system(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    add_efs_csi_pod_identity(env)
    write(ws, "efs.yaml", efs_class("fs-0123456789abcdef0"))
    result = check(env, ws, "k8s.efs_storage_class", name="kata-efs-ap")
    assert result.status is Status.FAILED
    assert "fs-0123456789abcdef0, which does not exist" in result.message
    assert result.actual is not None and fs in result.actual


def test_efs_storage_class_whose_file_system_misses_an_az(env: Eks, ws: Path) -> None:
    fs = add_efs(env, zones=1)
    write(ws, "efs.yaml", efs_class(fs))
    result = check(env, ws, "k8s.efs_storage_class", name="kata-efs-ap")
    assert result.status is Status.FAILED
    assert "no mount target in us-east-1b" in result.message


@pytest.mark.parametrize(("perms", "cause"), [("700", "not a string"),
                                              ('"rwx"', "directoryPerms")])
def test_efs_storage_class_directory_perms(env: Eks, ws: Path, perms: str, cause: str) -> None:
    fs = add_efs(env)
    write(ws, "efs.yaml", efs_class(fs, perms))
    result = check(env, ws, "k8s.efs_storage_class")
    assert result.status is Status.FAILED
    assert cause in result.message


def test_efs_storage_class_needs_the_driver_addon(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    write(ws, "efs.yaml", efs_class(fs))
    result = check(env, ws, "k8s.efs_storage_class")
    assert result.status is Status.FAILED
    assert "aws-efs-csi-driver" in result.message


# --- k8s.efs_static_volume ------------------------------------------------------------------


def test_static_volume_passes_with_an_access_point(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    write(ws, "pv.yaml", static_pv(f"{fs}::{env.extra['ap']}"))
    result = check(env, ws, "k8s.efs_static_volume", name="kata-fargate-pv")
    assert result.status is Status.PASSED, result


def test_static_volume_with_an_unknown_file_system(env: Eks, ws: Path) -> None:
    add_efs(env)
    write(ws, "pv.yaml", static_pv("fs-deadbeef"))
    result = check(env, ws, "k8s.efs_static_volume")
    assert result.status is Status.FAILED
    assert "fs-deadbeef, which does not exist" in result.message


def test_static_volume_with_another_file_systems_access_point(env: Eks, ws: Path) -> None:
    add_efs(env)
    other = env.efs.create_file_system(CreationToken="other")["FileSystemId"]
    for subnet in env.private:
        env.efs.create_mount_target(FileSystemId=other, SubnetId=subnet,
                                    SecurityGroups=[env.extra["efs_sg"]])
    write(ws, "pv.yaml", static_pv(f"{other}::{env.extra['ap']}"))
    result = check(env, ws, "k8s.efs_static_volume")
    assert result.status is Status.FAILED
    assert f"which is not an access point of {other}" in result.message
    assert result.actual == f"{env.extra['ap']} belongs to {env.extra['fs']}"


def test_static_volume_with_one_colon_before_the_access_point(env: Eks, ws: Path) -> None:
    """fs-x:fsap-y means the subdirectory "fsap-y", not the access point: a real mix-up."""
    fs = add_efs(env)
    write(ws, "pv.yaml", static_pv(f"{fs}:{env.extra['ap']}"))
    result = check(env, ws, "k8s.efs_static_volume", name="kata-fargate-pv")
    assert result.status is Status.FAILED
    assert "with one colon" in result.message
    assert f"write {fs}::{env.extra['ap']}" in result.message
    write(ws, "pv.yaml", static_pv(f"{fs}:/data"))
    result = check(env, ws, "k8s.efs_static_volume", name="kata-fargate-pv")
    assert result.status is Status.PASSED, result


def test_static_volume_on_ebs_is_refused(env: Eks, ws: Path) -> None:
    write(ws, "pv.yaml", static_pv("vol-0123", driver="ebs.csi.aws.com"))
    result = check(env, ws, "k8s.efs_static_volume", name="kata-fargate-pv")
    assert result.status is Status.FAILED
    assert "only EFS volumes" in result.message


# --- k8s.fargate_storage --------------------------------------------------------------------


def test_fargate_storage_passes_with_a_static_efs_volume(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    write(ws, "app.yaml", fargate_app(STATIC_CLAIM, static_pv(f"{fs}::{env.extra['ap']}")))
    result = check(env, ws, "k8s.fargate_storage", claim="kata-fargate-claim")
    assert result.status is Status.PASSED, result
    assert "kata-apps" in result.message


def test_ebs_backed_claim_for_a_fargate_pod_is_flagged(env: Eks, ws: Path) -> None:
    write(ws, "sc.yaml", GP3)
    write(ws, "app.yaml", fargate_app(
        "storageClassName: kata-gp3\naccessModes: [ReadWriteOnce]\n"
        "resources: {requests: {storage: 5Gi}}\n"))
    result = check(env, ws, "k8s.fargate_storage", claim="kata-fargate-claim")
    assert result.status is Status.FAILED
    assert "EBS-backed" in result.message
    assert "Fargate pods cannot attach EBS volumes" in result.message
    assert "Pod app" in result.message


def test_dynamic_efs_claim_for_a_fargate_pod_is_flagged(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    write(ws, "efs.yaml", efs_class(fs))
    write(ws, "app.yaml", fargate_app(
        "storageClassName: kata-efs-ap\naccessModes: [ReadWriteMany]\n"
        "resources: {requests: {storage: 5Gi}}\n"))
    result = check(env, ws, "k8s.fargate_storage", claim="kata-fargate-claim")
    assert result.status is Status.FAILED
    assert "relies on dynamic provisioning" in result.message
    assert "only static provisioning works" in result.message


def test_fargate_claim_without_a_volume_to_bind(env: Eks, ws: Path) -> None:
    write(ws, "app.yaml", fargate_app(STATIC_CLAIM))
    result = check(env, ws, "k8s.fargate_storage")
    assert result.status is Status.FAILED
    assert "no PersistentVolume" in result.message and "kata-fargate-pv" in result.message


def test_fargate_claim_with_a_class_cannot_bind_a_classless_volume(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    write(ws, "efs.yaml", efs_class(fs))
    claim = STATIC_CLAIM.replace('storageClassName: ""', "storageClassName: kata-efs-ap")
    write(ws, "app.yaml", fargate_app(claim, static_pv(f"{fs}::{env.extra['ap']}")))
    result = check(env, ws, "k8s.fargate_storage", claim="kata-fargate-claim")
    assert result.status is Status.FAILED
    assert "storageClassName is 'kata-efs-ap' and the volume's ''" in result.message


def test_fargate_claim_wanting_more_access_than_the_volume_offers(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    volume = static_pv(f"{fs}::{env.extra['ap']}").replace("[ReadWriteMany]", "[ReadWriteOnce]")
    write(ws, "app.yaml", fargate_app(STATIC_CLAIM, volume))
    result = check(env, ws, "k8s.fargate_storage", claim="kata-fargate-claim")
    assert result.status is Status.FAILED
    assert ("asks for access modes ReadWriteMany and the volume offers only ReadWriteOnce"
            in result.message)


def test_fargate_pod_without_storage_fails(env: Eks, ws: Path) -> None:
    write(ws, "sc.yaml", GP3)
    result = check(env, ws, "k8s.fargate_storage")
    assert result.status is Status.FAILED
    assert "No pod in a Fargate namespace (kata-apps)" in result.message


def test_pods_outside_fargate_are_not_judged(env: Eks, ws: Path) -> None:
    fs = add_efs(env)
    app = fargate_app(STATIC_CLAIM, static_pv(fs))
    write(ws, "app.yaml", app)
    write(ws, "ec2.yaml", GP3 + "---\n" + EBS_CLAIM)  # EBS in default, on EC2 nodes: fine
    result = check(env, ws, "k8s.fargate_storage")
    assert result.status is Status.PASSED, result
