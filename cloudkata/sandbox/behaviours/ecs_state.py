"""The ECS scheduler's clock, bookkeeping and per-pass context, shared by its modules.

moto calls the patched ECS methods without the control plane, so the plane is remembered here
(by a hook that runs before every ECS request, and by the scheduler's reconciler) for them to
read the simulated clock. AWS-visible fields live on moto's models, so moto's serializer answers
them; what the scheduler itself must remember - the targets each task registered, drain
deadlines, steady flags, event throttling - lives in ``plane.module_state("ecs_scheduler")``,
so it is saved and restored with the sandbox. :class:`_Context` gives one pass over one
(account, region) lazy access to the ELBv2 and EC2 backends.

The ``ecs_*`` modules are one behaviour split by responsibility (see ``ecs_scheduler``); the
underscore names they import from one another are private to that family.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..control import api, backends
from ..control.plane import ControlPlane, Request

STATE = "ecs_scheduler"
"""The scheduler's key in the control plane's state (saved with snapshots: do not rename)."""
MAX_EVENTS = 100
"""Events a service keeps (AWS describes the last 100)."""

_PLANE: list[ControlPlane] = []
"""The control plane, remembered so moto's patched methods (which moto calls without it) can
read the simulated clock and the scheduler's state."""


# ---------------------------------------------------------------------------------------------
# clock and state


def _now() -> float:
    if _PLANE:
        return _PLANE[0].now()
    import time

    return time.time()  # only without a control plane (moto used directly)


def _state() -> dict[str, Any]:
    if not _PLANE:
        return {"tasks": {}, "services": {}}
    return _PLANE[0].module_state(STATE, lambda: {"tasks": {}, "services": {}})


def _task_info(task: Any) -> dict[str, Any]:
    return _state()["tasks"].setdefault(task.task_arn, {"targets": [], "released": False})


def _service_info(service: Any) -> dict[str, Any]:
    return _state()["services"].setdefault(service.arn, {"steady": False})


@api.before("ecs")
def _remember_plane(plane: ControlPlane, _: Request) -> api.Response | None:
    _PLANE[:] = [plane]
    return None


# ---------------------------------------------------------------------------------------------
# a context per (account, region) with lazy access to the other backends


class _Context:
    def __init__(self, ecs: Any, now: float) -> None:
        self.ecs = ecs
        self.now = now
        self._elbv2: list[Any] = []
        self._ec2: list[Any] = []
        self._hosts: dict[str, Any] | None = None

    @property
    def elbv2(self) -> Any | None:
        if not self._elbv2:
            self._elbv2.append(backends.find("elbv2", self.ecs.account_id, self.ecs.region_name))
        return self._elbv2[0]

    @property
    def ec2(self) -> Any | None:
        if not self._ec2:
            self._ec2.append(backends.find("ec2", self.ecs.account_id, self.ecs.region_name))
        return self._ec2[0]

    def host(self, instance_id: str) -> Any | None:
        """The EC2 instance (moto's lookup walks every reservation; done once per pass)."""
        if self._hosts is None:
            self._hosts = {}
            if self.ec2 is not None:
                for reservation in self.ec2.all_reservations():
                    for instance in reservation.instances:
                        self._hosts[instance.id] = instance
        return self._hosts.get(instance_id)

    def instance_of(self, task: Any) -> Any | None:
        if not task.container_instance_arn:
            return None
        return self.ecs.container_instances.get(task.cluster_name, {}).get(
            task.container_instance_arn.split("/")[-1])

    def service_of(self, task: Any) -> Any | None:
        group = task.group or ""
        if not group.startswith("service:"):
            return None
        return self.ecs.services.get(f"{task.cluster_name}:{group[len('service:'):]}")


def _definition(ecs: Any, arn: str) -> Any | None:
    try:
        return ecs.describe_task_definition(arn)
    except Exception:  # noqa: BLE001 - a deleted revision
        return None


def _context_for(ecs: Any) -> _Context:
    return _Context(ecs, _now())


def _event(ctx: _Context, service: Any, message: str) -> None:
    """A service event, newest first, as ``describe-services`` shows them."""
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": ctx.now,
                              "message": message})
    del service.events[MAX_EVENTS:]
