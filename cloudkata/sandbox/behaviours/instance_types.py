"""EC2 instance types as the ECS agent sees them: what a container instance registers.

On AWS the ECS agent registers 1,024 CPU units per vCPU and the memory the operating system
reports (``MemTotal``), minus what the kernel, the agent and Docker keep, so always somewhat
below the instance type's nominal memory: a t2.micro (1 GiB) registers ~982 MiB, an m5.large
(8 GiB) ~7,667 MiB. Task placement is decided on these registered numbers, which is why a
task reserving 1,024 MiB never fits on a t2.micro; moto registers 4,096 CPU / 7,482 MiB for
every type, so the sandbox takes them from this table instead.

The registered memory figures are the magnitudes AWS reports for the ECS-optimized Amazon
Linux 2 AMI (within ~1% of it; they vary slightly with AMI and kernel). Types not in the
table fall back to :func:`lookup`'s rule: moto's own catalogue of vCPUs and memory with the
same ~6% memory overhead, and, for a type moto does not know either, :data:`DEFAULT`.

This module registers no reconciler; it is plain data used by the ECS agent behaviour.
"""

from __future__ import annotations

from typing import NamedTuple


class InstanceType(NamedTuple):
    """One instance type: nominal vCPUs and MiB, and what ECS registers for it."""

    vcpus: int
    memory_mib: int
    ecs_cpu: int
    ecs_memory_mib: int


CPU_UNITS_PER_VCPU = 1024
MEMORY_OVERHEAD = 0.06
"""Fraction of nominal memory an ECS container instance does not register (for fall-backs)."""

INSTANCE_TYPES: dict[str, InstanceType] = {
    # t2: Xen, burstable
    "t2.micro": InstanceType(1, 1024, 1024, 982),
    "t2.small": InstanceType(1, 2048, 1024, 1993),
    "t2.medium": InstanceType(2, 4096, 2048, 3943),
    "t2.large": InstanceType(2, 8192, 2048, 7982),
    "t2.xlarge": InstanceType(4, 16384, 4096, 16038),
    # t3: Nitro, burstable (2 vCPUs from micro up)
    "t3.micro": InstanceType(2, 1024, 2048, 943),
    "t3.small": InstanceType(2, 2048, 2048, 1954),
    "t3.medium": InstanceType(2, 4096, 2048, 3892),
    "t3.large": InstanceType(2, 8192, 2048, 7854),
    "t3.xlarge": InstanceType(4, 16384, 4096, 15788),
    # t3a: AMD variant of t3, same sizes
    "t3a.micro": InstanceType(2, 1024, 2048, 943),
    "t3a.small": InstanceType(2, 2048, 2048, 1954),
    "t3a.medium": InstanceType(2, 4096, 2048, 3892),
    "t3a.large": InstanceType(2, 8192, 2048, 7854),
    "t3a.xlarge": InstanceType(4, 16384, 4096, 15788),
    # m5: general purpose
    "m5.large": InstanceType(2, 8192, 2048, 7667),
    "m5.xlarge": InstanceType(4, 16384, 4096, 15473),
    # c5: compute optimized
    "c5.large": InstanceType(2, 4096, 2048, 3711),
    "c5.xlarge": InstanceType(4, 8192, 4096, 7529),
}

DEFAULT = InstanceType(2, 8192, 2048, 7667)
"""For a type neither this table nor moto knows: registered like an m5.large (2 vCPUs, 8 GiB),
the general-purpose default size."""


def lookup(instance_type: str | None) -> InstanceType:
    """The registrable resources of ``instance_type``.

    Known types come from :data:`INSTANCE_TYPES`. Others are derived from moto's catalogue
    (``VCpuInfo.DefaultVCpus`` x 1,024 CPU units; ``MemoryInfo.SizeInMiB`` less
    :data:`MEMORY_OVERHEAD`); a type moto does not know either gets :data:`DEFAULT`.
    """
    if not instance_type:
        return DEFAULT
    known = INSTANCE_TYPES.get(instance_type)
    if known is not None:
        return known
    try:
        from moto.ec2.models.instance_types import INSTANCE_TYPES as MOTO_TYPES
    except ImportError:  # pragma: no cover - moto is pinned
        return DEFAULT
    info = MOTO_TYPES.get(instance_type)
    if not info:
        return DEFAULT
    try:
        vcpus = int(info["VCpuInfo"]["DefaultVCpus"])
        memory = int(info["MemoryInfo"]["SizeInMiB"])
    except (KeyError, TypeError, ValueError):
        return DEFAULT
    return InstanceType(vcpus, memory, vcpus * CPU_UNITS_PER_VCPU,
                        int(memory * (1 - MEMORY_OVERHEAD)))
