"""Per-learner progress: one readable JSON file, schema-versioned, written atomically.

Progress is a convenience for the learner (what is done, hints taken); grading never trusts
it and always re-reads live state. A corrupt file is moved aside with a message, never reset
silently.

The app and the CLI may record progress at the same moment (a check in the TUI while a
``cloudkata check`` runs in another terminal). Each change is therefore a merge, not an
overwrite: under a lock on a sibling ``progress.json.lock`` file, the file is re-read, this
process's one change is applied to what is on disk now, and the result is written atomically.
Without the lock the second writer would replace the file with its stale copy and the first
writer's update would be lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from filelock import FileLock, Timeout

from . import locations
from .atomic import write_json

SCHEMA_VERSION = 1
LOCK_TIMEOUT = 10.0
"""Seconds to wait for another process's write; one takes milliseconds, and the kernel frees
the lock of a process that dies, so waiting this long means something is badly wrong."""

POLL_INTERVAL = 0.005
"""Seconds between tries while another process writes (filelock's default, 50 ms, is many
times longer than a write and made two busy writers crawl)."""

T = TypeVar("T")
Stamp = tuple[int, int, int] | None


class ProgressBusyError(RuntimeError):
    """Another process held the progress lock for longer than :data:`LOCK_TIMEOUT`."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _empty() -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "labs": {}}


def _lock_for(path: Path) -> FileLock:
    """The one lock object for ``path`` in this process (filelock's singleton: a second object
    for the same file would wait for the first one, held by ourselves, and time out)."""
    lock_path = path.resolve().with_name(path.name + ".lock")
    return FileLock(str(lock_path), timeout=LOCK_TIMEOUT, is_singleton=True,
                    poll_interval=POLL_INTERVAL)


@dataclass
class ProgressStore:
    path: Path = field(default_factory=locations.progress_file)
    data: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None
    """Set when the file on disk was unreadable and has been moved aside."""
    _seen: Stamp = field(default=None, repr=False)
    """The file's identity when ``data`` was last read or written (see :meth:`_fresh`)."""

    @classmethod
    def open(cls, path: Path | None = None) -> ProgressStore:
        store = cls(path or locations.progress_file())
        store._reload()
        return store

    # --- reading and writing ------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with _lock_for(self.path):
                yield
        except Timeout:
            raise ProgressBusyError(
                f"Another cloudkata process has held the progress lock for {LOCK_TIMEOUT:.0f} s "
                f"({self.path}.lock); close it or try again."
            ) from None

    def _stamp(self) -> Stamp:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _reload(self) -> None:
        """Read the file as it is now (moving a corrupt one aside under the lock)."""
        if not self.path.exists():  # nothing to read and nothing to move: take no lock
            self.data, self._seen = _empty(), None
            return
        with self._locked():
            self.data = self._read()
            self._seen = self._stamp()

    def _fresh(self) -> dict[str, Any]:
        """``data``, re-read first if another process has written the file since."""
        if self._stamp() != self._seen:
            self._reload()
        return self.data

    def _read(self) -> dict[str, Any]:
        empty = _empty()
        if not self.path.exists():
            return empty
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("labs"), dict):
                raise ValueError("not a cloudkata progress file")
            if data.get("schema") != SCHEMA_VERSION:
                raise ValueError(f"schema {data.get('schema')!r}, expected {SCHEMA_VERSION}")
            return data
        except (OSError, ValueError) as exc:
            aside = self._aside_name()
            self.path.replace(aside)
            self.warning = (f"Your progress file could not be read ({exc}); it was moved to "
                            f"{aside} and a new one started.")
            return empty

    def _aside_name(self) -> Path:
        """A name no earlier corrupt copy has: two in one second must not overwrite each other."""
        stem = f"{self.path.name}.corrupt-{int(time.time())}"
        aside, n = self.path.with_name(stem), 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{stem}-{n}")
        return aside

    def _update(self, change: Callable[[dict[str, Any]], T]) -> T:
        """Apply one change to the file as it is *now*, under the lock, and write it atomically.

        ``change`` edits the freshly read data in place; it must be a change ("one more
        attempt"), not a value computed from an earlier read, or it would undo another
        process's update. The file is written only when the data actually changed.
        """
        with self._locked():
            self.data = self._read()
            before = json.dumps(self.data, sort_keys=True)
            result = change(self.data)
            if json.dumps(self.data, sort_keys=True) != before:
                write_json(self.path, self.data)
            self._seen = self._stamp()
        return result

    def save(self) -> None:
        """Write ``data`` as it is in memory, replacing the file (under the lock).

        Only for a caller that edited ``data`` directly and means to overwrite; the methods
        below merge instead, and do not lose another process's update.
        """
        with self._locked():
            write_json(self.path, self.data)
            self._seen = self._stamp()

    # --- the learner's progress ---------------------------------------------------------

    @staticmethod
    def _lab_in(data: dict[str, Any], lab_id: str) -> dict[str, Any]:
        labs = data.setdefault("labs", {})
        entry = labs.setdefault(lab_id, {})
        for part in ("steps", "hints", "attempts", "quiz"):
            entry.setdefault(part, {})
        return entry

    def lab(self, lab_id: str) -> dict[str, Any]:
        return self._lab_in(self._fresh(), lab_id)

    def done_steps(self, lab_id: str) -> set[str]:
        return set(self._fresh().get("labs", {}).get(lab_id, {}).get("steps", {}))

    def mark_done(self, lab_id: str, step_id: str, target: str) -> None:
        def change(data: dict[str, Any]) -> None:
            steps = self._lab_in(data, lab_id)["steps"]
            if step_id not in steps:  # the first time counts, even if it was another process
                steps[step_id] = {"at": _now(), "target": target}

        self._update(change)

    def record_attempt(self, lab_id: str, step_id: str) -> None:
        def change(data: dict[str, Any]) -> None:
            attempts = self._lab_in(data, lab_id)["attempts"]
            attempts[step_id] = attempts.get(step_id, 0) + 1

        self._update(change)

    def hints_taken(self, lab_id: str, step_id: str) -> int:
        labs = self._fresh().get("labs", {})
        return int(labs.get(lab_id, {}).get("hints", {}).get(step_id, 0))

    def take_hint(self, lab_id: str, step_id: str, available: int) -> int:
        """Reveal one more hint (up to ``available``); returns how many are now shown."""

        def change(data: dict[str, Any]) -> int:
            hints = self._lab_in(data, lab_id)["hints"]
            hints[step_id] = min(available, hints.get(step_id, 0) + 1)
            return int(hints[step_id])

        return self._update(change)

    def answer_quiz(self, lab_id: str, question_id: str, answer: int, correct: bool) -> None:
        def change(data: dict[str, Any]) -> None:
            self._lab_in(data, lab_id)["quiz"][question_id] = {
                "answer": answer, "correct": correct, "at": _now()}

        self._update(change)

    def reset_lab(self, lab_id: str, step_id: str | None = None) -> None:
        def change(data: dict[str, Any]) -> None:
            labs = data.setdefault("labs", {})
            if step_id is None:
                labs.pop(lab_id, None)
            elif lab_id in labs:
                for part in ("steps", "hints", "attempts"):
                    labs[lab_id].get(part, {}).pop(step_id, None)

        self._update(change)
