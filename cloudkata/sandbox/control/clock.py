"""Simulated time: AWS's minutes, compressed so a learner sees them pass, frozen for tests.

``speed`` is simulated seconds per real second. ``--pace real`` (10x) keeps waits visible: a
150 s health check takes 15 s, an instance boots in a few seconds. ``--pace fast`` (100x) makes
them near-instant. ``--pace frozen`` (0) stops time except when advanced explicitly, which is
what tests use.
"""

from __future__ import annotations

import threading
import time

PACES: dict[str, float] = {"real": 10.0, "fast": 100.0, "frozen": 0.0}


class Clock:
    def __init__(self, speed: float = PACES["real"], start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._speed = speed
        self._real_anchor = time.monotonic()
        self._sim_anchor = time.time() if start is None else start

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """Simulated epoch seconds."""
        with self._lock:
            return self._sim_anchor + (time.monotonic() - self._real_anchor) * self._speed

    def advance(self, seconds: float) -> float:
        """Jump ahead (tests, or a learner who does not want to wait); returns the new now."""
        with self._lock:
            self._sim_anchor += seconds
        return self.now()

    def set_speed(self, speed: float) -> None:
        with self._lock:
            now = self._sim_anchor + (time.monotonic() - self._real_anchor) * self._speed
            self._sim_anchor, self._real_anchor, self._speed = now, time.monotonic(), speed
