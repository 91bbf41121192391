"""Per-learner progress: one readable JSON file, schema-versioned, written atomically.

Progress is a convenience for the learner (what is done, hints taken); grading never trusts
it and always re-reads live state. A corrupt file is moved aside with a message, never reset
silently.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import locations
from .atomic import write_json

SCHEMA_VERSION = 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ProgressStore:
    path: Path = field(default_factory=locations.progress_file)
    data: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None
    """Set when the file on disk was unreadable and has been moved aside."""

    @classmethod
    def open(cls, path: Path | None = None) -> ProgressStore:
        store = cls(path or locations.progress_file())
        store.data = store._read()
        return store

    def _read(self) -> dict[str, Any]:
        empty = {"schema": SCHEMA_VERSION, "labs": {}}
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

    def save(self) -> None:
        write_json(self.path, self.data)

    def lab(self, lab_id: str) -> dict[str, Any]:
        labs = self.data.setdefault("labs", {})
        return labs.setdefault(lab_id, {"steps": {}, "hints": {}, "attempts": {}, "quiz": {}})

    def done_steps(self, lab_id: str) -> set[str]:
        return set(self.data.get("labs", {}).get(lab_id, {}).get("steps", {}))

    def mark_done(self, lab_id: str, step_id: str, target: str) -> None:
        steps = self.lab(lab_id)["steps"]
        if step_id not in steps:
            steps[step_id] = {"at": _now(), "target": target}
            self.save()

    def record_attempt(self, lab_id: str, step_id: str) -> None:
        attempts = self.lab(lab_id)["attempts"]
        attempts[step_id] = attempts.get(step_id, 0) + 1
        self.save()

    def hints_taken(self, lab_id: str, step_id: str) -> int:
        return int(self.data.get("labs", {}).get(lab_id, {}).get("hints", {}).get(step_id, 0))

    def take_hint(self, lab_id: str, step_id: str, available: int) -> int:
        """Reveal one more hint (up to ``available``); returns how many are now shown."""
        hints = self.lab(lab_id)["hints"]
        hints[step_id] = min(available, hints.get(step_id, 0) + 1)
        self.save()
        return hints[step_id]

    def answer_quiz(self, lab_id: str, question_id: str, answer: int, correct: bool) -> None:
        self.lab(lab_id)["quiz"][question_id] = {"answer": answer, "correct": correct,
                                                 "at": _now()}
        self.save()

    def reset_lab(self, lab_id: str, step_id: str | None = None) -> None:
        labs = self.data.setdefault("labs", {})
        if step_id is None:
            labs.pop(lab_id, None)
        elif lab_id in labs:
            for part in ("steps", "hints", "attempts"):
                labs[lab_id].get(part, {}).pop(step_id, None)
        self.save()
