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


CATCH_UP_SECONDS = 1.0
"""Simulated time that must pass before a read reconciles again: nothing the sandbox simulates
(boots, health checks, alarm periods, cooldowns) is finer than a second."""


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
        self.reconciled_at: float | None = None

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
                self.reconciled_at = self.now()

    def catch_up(self) -> None:
        """Reconcile before answering, unless nothing could have changed since the last time.

        Every write and every control call reconciles after itself, so state changes are
        already settled; what is left is time. With the clock (nearly) where the last
        reconcile left it, the reconcilers would find nothing to do: skipping them makes a
        read cost what moto costs (a whole-lab check is dozens of reads in a row).
        """
        if self.reconciled_at is None or abs(self.now() - self.reconciled_at) >= CATCH_UP_SECONDS:
            self.reconcile()

    def reset(self) -> None:
        with self.lock:
            self.state.clear()
            self.dirty = True
            self.reconciled_at = None
