"""The sandbox's control plane: what makes moto behave like AWS over time.

moto stores resources but simulates nothing: services start no tasks, targets never turn
healthy, alarms never fire. Here a set of small *reconcilers* (one module per behaviour) looks at
moto's backends and moves them on, as AWS's control plane would, on a simulated clock.

Reconciliation is lazy: it runs under the request lock before every API request (so time-driven
changes are visible to any reader) and after every mutating one (so a write's effects are
visible to the next read). An idle sandbox therefore costs no CPU. Tests freeze the clock and
advance it through ``POST /cloudkata/clock``, so nothing in a test ever sleeps.
"""

from .clock import Clock
from .plane import ControlPlane, Reconciler, Request, reconciler

__all__ = ["Clock", "ControlPlane", "Reconciler", "Request", "reconciler"]
