"""Facts about AWS that both the checks and the sandbox rely on, defined once.

This module imports nothing, so the sandbox (``cloudkata.sandbox``) may import it without
pulling in more of the checks, and the checks never depend on the sandbox or the engine.
"""

from __future__ import annotations

DYNAMIC_PORTS: tuple[int, int] = (32768, 60999)
"""The host ports the ECS agent hands out for a bridge-mode ``hostPort`` of 0 (or none) on
Linux: the kernel's ephemeral range, inclusive.

Amazon ECS API Reference, ``PortMapping.hostPort``: "The default ephemeral port range for
Docker version 1.6.0 and later is listed on the instance under
``/proc/sys/net/ipv4/ip_local_port_range``. If this kernel parameter is unavailable, the
default ephemeral port range from 49153 through 65535 (Linux) ... is used."
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html)

Every ECS-optimised AMI has that kernel parameter, set to Linux's default ``32768 60999``, so
this is the range tasks really get; the 49153-65535 fallback applies only to a kernel without
it. The sandbox's scheduler hands out ports from this range and the checks accept exactly
this range, so a check never rejects a port the sandbox chose.
"""
