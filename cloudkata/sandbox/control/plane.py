"""The control plane: a clock, a request lock, and the reconcilers that run under it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock

log = logging.getLogger("cloudkata.sandbox")

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Lookup", "Search")


@dataclass(frozen=True)
class Request:
    """What the control plane knows about one API request."""

    service: str
    action: str
    region: str
    account_id: str
    method: str = "POST"
    path: str = "/"
    params: dict[str, Any] = field(default_factory=dict)
    json: bool = False
    """True for the JSON protocols (ECS, Logs, App Auto Scaling, EKS), False for query/XML."""

    @property
    def mutating(self) -> bool:
        if self.action:
            return not self.action.startswith(READ_PREFIXES)
        return self.method not in ("GET", "HEAD")


Reconciler = Callable[["ControlPlane"], None]
_RECONCILERS: list[tuple[int, str, Reconciler]] = []


def reconciler(order: int) -> Callable[[Reconciler], Reconciler]:
    """Register a reconciler; lower ``order`` runs first (agent before scheduler before ELB)."""

    def register(function: Reconciler) -> Reconciler:
        name = f"{function.__module__}.{function.__qualname__}"
        if all(existing != name for _, existing, _ in _RECONCILERS):
            _RECONCILERS.append((order, name, function))
            _RECONCILERS.sort(key=lambda item: item[0])
        return function

    return register


class ControlPlane:
    """Shared state of the simulation that moto has no place for."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.state: dict[str, Any] = {}
        """Per-module state (e.g. synthetic load, activity logs), saved with the snapshot."""
        self.dirty = False
        self.checkpoints: dict[str, bytes] = {}
        """Named in-memory snapshots (``/cloudkata/checkpoint``); never saved themselves."""
        self._reconciling = False

    def now(self) -> float:
        return self.clock.now()

    def module_state(self, name: str, default: Callable[[], Any]) -> Any:
        if name not in self.state:
            self.state[name] = default()
        return self.state[name]

    def reconcile(self) -> None:
        """Run every reconciler once; a failing reconciler is logged, never fatal."""
        with self.lock:
            if self._reconciling:
                return
            self._reconciling = True
            try:
                for _, name, function in list(_RECONCILERS):
                    try:
                        function(self)
                    except Exception:  # noqa: BLE001 - one bad rule must not stop the sandbox
                        log.exception("reconciler %s failed", name)
            finally:
                self._reconciling = False

    def reset(self) -> None:
        with self.lock:
            self.state.clear()
            self.dirty = True
