"""SSM public parameters for the EKS- and ECS-optimised AMIs, as AWS publishes them.

AWS publishes the AMI to use for EKS nodes under
``/aws/service/eks/optimized-ami/<k8s version>/amazon-linux-2/recommended/image_id`` (AL2 and
AL2 arm64, up to Kubernetes 1.32: EKS builds no AL2 AMIs for 1.33 and later) and
``.../amazon-linux-2023/<x86_64|arm64>/standard/recommended/image_id`` (AL2023), each with
``image_name`` and ``release_version`` beside it and the three together as a JSON document at
``.../recommended``. Launch templates, CloudFormation (``AWS::SSM::Parameter::Value``) and
lab scripts resolve them; moto has none, so ``aws ssm get-parameter`` fails with
ParameterNotFound. They are loaded lazily, as moto loads its own public parameters, the first
time a name under ``/aws/service/eks`` is asked for, and point at Amazon Linux AMIs that exist
in moto's EC2 for the region (from moto's own latest-AMI list), so ``run-instances`` with them
works and the node groups of ``eks_nodes`` launch from the same images.

The ECS-optimised AMI document (``/aws/service/ecs/optimized-ami/amazon-linux-2/recommended``)
is JSON on AWS (``{"ecs_agent_version":"1.88.0",...,"image_id":"ami-..."}``), which scripts
parse with ``jq`` or ``json.loads``; moto returns the Python repr of a dict (single quotes).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from .. import patches

EKS_VERSIONS = ("1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34")
LAST_AL2_VERSION = "1.32"
RELEASE_PATCH = {"1.28": "15", "1.29": "15", "1.30": "14", "1.31": "13", "1.32": "9",
                 "1.33": "5", "1.34": "1"}
"""The Kubernetes patch level of the newest EKS AMI for each minor version (plausible)."""

EKS_PREFIX = "/aws/service/eks"
FALLBACK_AMI = "ami-ekslinux"
"""In moto's global AMI list (``amazon-eks-node-linux``), for a region without its own list."""

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


def _base_ami(region: str, family: str) -> tuple[str, str]:
    """(ami id, build date yyyymmdd) of the Amazon Linux AMI a family's EKS AMI stands for."""
    pattern = re.compile(FAMILIES[family][0])
    for name, ami_id in _latest_amis(region):
        if pattern.match(name):
            date = re.search(r"\.(\d{8})\.", name)
            return ami_id, date.group(1) if date else "20260101"
    return FALLBACK_AMI, "20260101"


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
    ami_id, date = _base_ami(region, family)
    return {
        "image_id": ami_id,
        "image_name": f"{FAMILIES[family][2].format(v=minor)}-v{date}",
        "release_version": f"{minor}.{RELEASE_PATCH[minor]}-{date}",
    }


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
_patch_parameter_store_pickles()
