"""SSM public parameters for the EKS- and ECS-optimised AMIs, as AWS publishes them.

AWS publishes the AMI to use for EKS nodes under
``/aws/service/eks/optimized-ami/<k8s version>/amazon-linux-2/recommended/image_id`` (AL2 and
AL2 arm64, up to Kubernetes 1.32: EKS builds no AL2 AMIs for 1.33 and later) and
``.../amazon-linux-2023/<x86_64|arm64>/standard/recommended/image_id`` (AL2023), each with
``image_name`` and ``release_version`` beside it and the three together as a JSON document at
``.../recommended``. Launch templates, CloudFormation (``AWS::SSM::Parameter::Value``) and
lab scripts resolve them; moto has none, so ``aws ssm get-parameter`` fails with
ParameterNotFound. They are loaded lazily, as moto loads its own public parameters, the first
time a name under ``/aws/service/eks`` is asked for. Each points at an EKS-optimised AMI that
exists in the region's EC2 (``describe-images`` finds it), one per Kubernetes version and
family, named as AWS names them (``amazon-eks-node-1.31-v20260930``,
``amazon-eks-node-al2023-x86_64-standard-1.31-v20260930``) and owned by Amazon's EKS account:
they are added to moto's EC2 with its own AMIs (:func:`_patch_ec2_has_the_eks_amis`), so
``run-instances`` with them works, a check can tell an EKS AMI from another by its name, and
the node groups of ``eks_nodes`` launch from the same images.

The ECS-optimised AMI document (``/aws/service/ecs/optimized-ami/amazon-linux-2/recommended``)
is JSON on AWS (``{"ecs_agent_version":"1.88.0",...,"image_id":"ami-..."}``), which scripts
parse with ``jq`` or ``json.loads``; moto returns the Python repr of a dict (single quotes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import datetime
from typing import Any

from .. import patches

EKS_VERSIONS = ("1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34")
LAST_AL2_VERSION = "1.32"
RELEASE_PATCH = {"1.28": "15", "1.29": "15", "1.30": "14", "1.31": "13", "1.32": "9",
                 "1.33": "5", "1.34": "1"}
"""The Kubernetes patch level of the newest EKS AMI for each minor version (plausible)."""

EKS_PREFIX = "/aws/service/eks"
EKS_AMI_OWNER = "602401143452"
"""The AWS account that publishes the EKS-optimised AMIs (owner alias ``amazon``)."""

# family -> (pattern of the Amazon Linux AMI in moto's latest list, SSM path part, name stem)
FAMILIES: dict[str, tuple[str, str, str]] = {
    "al2_x86_64": (r"^amzn2-ami-kernel-5\.10-hvm-.*-x86_64-gp2$", "amazon-linux-2",
                   "amazon-eks-node-{v}"),
    "al2_arm64": (r"^amzn2-ami-kernel-5\.10-hvm-.*-arm64-gp2$", "amazon-linux-2-arm64",
                  "amazon-eks-arm64-node-{v}"),
    "al2023_x86_64": (r"^al2023-ami-2023.*-kernel-6\.1-x86_64$",
                      "amazon-linux-2023/x86_64/standard",
                      "amazon-eks-node-al2023-x86_64-standard-{v}"),
    "al2023_arm64": (r"^al2023-ami-2023.*-kernel-6\.1-arm64$",
                     "amazon-linux-2023/arm64/standard",
                     "amazon-eks-node-al2023-arm64-standard-{v}"),
}

AMI_TYPE_FAMILY = {
    "AL2_x86_64": "al2_x86_64",
    "AL2_x86_64_GPU": "al2_x86_64",
    "AL2_ARM_64": "al2_arm64",
    "AL2023_x86_64_STANDARD": "al2023_x86_64",
    "AL2023_x86_64_NEURON": "al2023_x86_64",
    "AL2023_x86_64_NVIDIA": "al2023_x86_64",
    "AL2023_ARM_64_STANDARD": "al2023_arm64",
    "AL2023_ARM_64_NVIDIA": "al2023_arm64",
    "BOTTLEROCKET_x86_64": "al2023_x86_64",
    "BOTTLEROCKET_ARM_64": "al2023_arm64",
}


@functools.lru_cache(maxsize=64)
def _latest_amis(region: str) -> tuple[tuple[str, str], ...]:
    """(name, ami id) of moto's latest Amazon Linux AMIs for the region."""
    from moto.utilities.utils import load_resource

    try:
        amis: list[dict[str, Any]] = load_resource(f"ec2/resources/latest_amis/{region}.json")
    except FileNotFoundError:
        return ()
    return tuple((ami["name"], ami["ami_id"]) for ami in amis)


def _build_date(region: str, family: str) -> str:
    """Build date (yyyymmdd) of the EKS AMIs: that of the region's newest Amazon Linux AMI of
    the family in moto's list, as EKS builds its AMIs on Amazon Linux's."""
    pattern = re.compile(FAMILIES[family][0])
    for name, _ in _latest_amis(region):
        if pattern.match(name):
            date = re.search(r"\.(\d{8})\.", name)
            return date.group(1) if date else "20260101"
    return "20260101"


def eks_ami_id(region: str, image_name: str) -> str:
    """A stable AMI id for an EKS AMI in a region (the same after every reset and restart)."""
    return "ami-" + hashlib.sha256(f"{region}/{image_name}".encode()).hexdigest()[:17]


def k8s_minor(version: str | None) -> str:
    """The nearest Kubernetes version the tables know (``1.32.3`` -> ``1.32``)."""
    match = re.match(r"^(\d+)\.(\d+)", version or "")
    if not match:
        return EKS_VERSIONS[-1]
    wanted = (int(match.group(1)), int(match.group(2)))
    known = [tuple(int(p) for p in v.split(".")) for v in EKS_VERSIONS]
    below = [v for v in known if v <= wanted]
    chosen = max(below) if below else min(known)
    return f"{chosen[0]}.{chosen[1]}"


def recommended(region: str, version: str, family: str) -> dict[str, str]:
    """The EKS-optimised AMI AWS recommends: image_id, image_name, release_version."""
    minor = k8s_minor(version)
    date = _build_date(region, family)
    name = f"{FAMILIES[family][2].format(v=minor)}-v{date}"
    return {
        "image_id": eks_ami_id(region, name),
        "image_name": name,
        "release_version": f"{minor}.{RELEASE_PATCH[minor]}-{date}",
    }


def eks_images(region: str) -> list[dict[str, Any]]:
    """The EKS-optimised AMIs the sandbox's EC2 has in a region, as moto's ``Ami`` takes them:
    one per Kubernetes version and family, as the SSM parameters name them."""
    images = []
    for version in EKS_VERSIONS:
        for family in FAMILIES:
            if family.startswith("al2_") and _newer(version, LAST_AL2_VERSION):
                continue
            ami = recommended(region, version, family)
            k8s = f"{version}.{RELEASE_PATCH[version]}"
            base = ("Amazon Linux 2023" if family.startswith("al2023")
                    else "AmazonLinux2")
            images.append({
                "ami_id": ami["image_id"], "name": ami["image_name"],
                "description": (f"EKS-optimized Kubernetes node based on {base}, (k8s: {k8s}, "
                                "containerd: 1.7.*)"),
                "architecture": "arm64" if family.endswith("arm64") else "x86_64",
                "creation_date": datetime.strptime(
                    ami["release_version"].rsplit("-", 1)[-1], "%Y%m%d"),
            })
    return images


def family_for(ami_type: str | None, version: str | None) -> str:
    """The AMI family of a node group's amiType (AL2023 where AL2 no longer exists)."""
    family = AMI_TYPE_FAMILY.get(ami_type or "", "al2023_x86_64")
    if family.startswith("al2_") and _newer(k8s_minor(version), LAST_AL2_VERSION):
        family = family.replace("al2_", "al2023_")
    return family


def _newer(version: str, than: str) -> bool:
    return tuple(int(p) for p in version.split(".")) > tuple(int(p) for p in than.split("."))


def eks_parameters(region: str) -> list[tuple[str, str]]:
    """Every EKS AMI parameter AWS publishes that the sandbox knows, as (name, value)."""
    parameters: list[tuple[str, str]] = []
    for version in EKS_VERSIONS:
        for family, (_, path, _) in FAMILIES.items():
            if family.startswith("al2_") and _newer(version, LAST_AL2_VERSION):
                continue
            ami = recommended(region, version, family)
            base = f"{EKS_PREFIX}/optimized-ami/{version}/{path}/recommended"
            document = {"schema_version": "2", **ami}
            parameters.append((base, json.dumps(document, separators=(",", ":"))))
            parameters.extend((f"{base}/{field}", value) for field, value in ami.items())
    return parameters


def _json_value(value: Any) -> Any:
    """A tree parameter's value as AWS stores it: JSON text for a document."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _patch_tree_parameters_are_json() -> None:
    """AWS returns the ECS AMI ``recommended`` document as JSON; moto returns a repr.

    moto's tree of public parameters stores the document as a dict and serialises it with
    ``str()``; turn such values into compact JSON as they are loaded.
    """
    from moto.ssm import models

    @patches.wrap(models, "convert_to_params", why="tree parameter documents are JSON")
    def convert_to_params(original: Any, tree: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**item, "Value": _json_value(item["Value"])} for item in original(tree)]


def _patch_eks_public_parameters() -> None:
    """Load the EKS AMI parameters the first time a name under /aws/service/eks is read."""
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ParameterDict

    @patches.wrap(ParameterDict, "_check_loading_status",
                  why="the EKS AMI parameters load when a name under /aws/service/eks is read")
    def _check_loading_status(original: Any, self: ParameterDict, key: str) -> None:
        original(self, key)
        if not str(key or "").startswith(EKS_PREFIX):
            return
        if getattr(self, "cloudkata_eks_amis_loaded", False):
            return
        self.cloudkata_eks_amis_loaded = True
        for name, value in eks_parameters(self.region_name):
            versions = dict.__getitem__(self, name) if dict.__contains__(self, name) else None
            if versions:
                continue
            parameter = Parameter(
                account_id=self.account_id, name=name, value=value, parameter_type="String",
                description=None, allowed_pattern=None, keyid=None,
                last_modified_date=utcnow(), version=1, data_type="text")
            self.setdefault(name, []).append(parameter)


def _patch_ec2_has_the_eks_amis() -> None:
    """moto's EC2 knows Amazon Linux and ECS AMIs but no EKS-optimised one: the EKS AMI
    parameters pointed at plain Amazon Linux AMIs. Add the EKS AMIs, owned by Amazon's EKS
    account and public, when moto loads its own AMIs for a region."""
    from moto import settings
    from moto.ec2.models.amis import Ami, AmiBackend

    @patches.wrap(AmiBackend, "_load_amis",
                  why="the EKS-optimised AMIs the EKS SSM parameters name exist in EC2")
    def _load_amis(original: Any, self: Any) -> None:
        original(self)
        if not settings.ec2_load_default_amis():
            return
        for image in eks_images(self.region_name):
            if image["ami_id"] not in self.amis:
                self.amis[image["ami_id"]] = Ami(
                    self, owner_id=EKS_AMI_OWNER, owner_alias="amazon", public=True,
                    virtualization_type="hvm", hypervisor="xen", root_device_type="ebs",
                    root_device_name="/dev/xvda", **image)


def _patch_parameter_store_pickles() -> None:
    """Not an AWS behaviour but the sandbox's: its snapshot pickles moto's SSM backend, and
    moto's ParameterDict (a defaultdict needing account and region) cannot be unpickled —
    the whole snapshot then fails to restore. Rebuild it from the class (which the
    snapshot's restricted unpickler admits), its attributes and its items."""
    from moto.ssm.models import ParameterDict

    @patches.replace(ParameterDict, "__reduce__", why="snapshots pickle the SSM backend")
    def __reduce__(self: ParameterDict) -> tuple[Any, ...]:
        return (ParameterDict, (self.account_id, self.region_name), dict(self.__dict__), None,
                iter(list(dict.items(self))))


_patch_tree_parameters_are_json()
_patch_eks_public_parameters()
_patch_ec2_has_the_eks_amis()
_patch_parameter_store_pickles()
