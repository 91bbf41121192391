"""Progress: a readable, versioned JSON file that survives kills and is never reset silently."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from filelock import FileLock

from cloudkata import progress
from cloudkata.progress import SCHEMA_VERSION, ProgressBusyError, ProgressStore


def test_a_new_store_is_empty(tmp_path: Path) -> None:
    store = ProgressStore.open(tmp_path / "progress.json")
    assert store.done_steps("lab") == set()
    assert store.hints_taken("lab", "step") == 0
    assert store.warning is None
    assert not (tmp_path / "progress.json").exists()  # nothing written until something happens


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    store = ProgressStore.open(path)
    store.mark_done("ecs-iam-roles", "instance-role", "sandbox")
    store.mark_done("ecs-iam-roles", "execution-role", "aws")
    assert store.take_hint("ecs-iam-roles", "task-role", available=2) == 1
    assert store.take_hint("ecs-iam-roles", "task-role", available=2) == 2
    assert store.take_hint("ecs-iam-roles", "task-role", available=2) == 2  # capped
    store.record_attempt("ecs-iam-roles", "task-role")
    store.answer_quiz("ecs-iam-roles", "agent-role", 1, True)

    again = ProgressStore.open(path)
    assert again.warning is None
    assert again.done_steps("ecs-iam-roles") == {"instance-role", "execution-role"}
    assert again.hints_taken("ecs-iam-roles", "task-role") == 2
    lab = again.data["labs"]["ecs-iam-roles"]
    assert lab["steps"]["execution-role"]["target"] == "aws"
    assert lab["attempts"] == {"task-role": 1}
    assert lab["quiz"]["agent-role"]["answer"] == 1
    assert lab["quiz"]["agent-role"]["correct"] is True


def test_mark_done_keeps_the_first_time(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    store = ProgressStore.open(path)
    store.mark_done("lab", "a", "sandbox")
    first = store.data["labs"]["lab"]["steps"]["a"]
    store.mark_done("lab", "a", "aws")
    assert ProgressStore.open(path).data["labs"]["lab"]["steps"]["a"] == first


def test_reset_a_step_or_a_lab(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    store = ProgressStore.open(path)
    for step in ("a", "b"):
        store.mark_done("lab", step, "sandbox")
        store.take_hint("lab", step, 3)
    store.mark_done("other", "a", "sandbox")
    store.reset_lab("lab", "a")
    reread = ProgressStore.open(path)
    assert reread.done_steps("lab") == {"b"}
    assert reread.hints_taken("lab", "a") == 0
    assert reread.hints_taken("lab", "b") == 1
    reread.reset_lab("lab")
    final = ProgressStore.open(path)
    assert final.done_steps("lab") == set()
    assert final.done_steps("other") == {"a"}


def test_the_file_is_versioned_readable_json(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    ProgressStore.open(path).mark_done("lab", "a", "sandbox")
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["schema"] == SCHEMA_VERSION == 1
    assert "\n  " in text  # indented for a human


def test_writes_leave_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    store = ProgressStore.open(path)
    for n in range(5):
        store.take_hint("lab", "a", 10)
        store.mark_done("lab", f"s{n}", "sandbox")
    # the lock file stays (deleting it would race another process); no temp file does
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json", "progress.json.lock"]


def test_a_corrupt_file_is_moved_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    broken = b'{"schema": 1, "labs": {"lab": {"steps": {"a"'  # a half-written file
    path.write_bytes(broken)
    store = ProgressStore.open(path)
    assert store.warning is not None
    asides = [p for p in tmp_path.iterdir() if p.name.startswith("progress.json.corrupt-")]
    assert len(asides) == 1
    assert asides[0].read_bytes() == broken
    assert str(asides[0]) in store.warning
    assert store.done_steps("lab") == set()
    store.mark_done("lab", "a", "sandbox")  # a new file starts cleanly
    assert json.loads(path.read_text())["labs"]["lab"]["steps"]["a"]["target"] == "sandbox"


def test_two_corrupt_files_in_the_same_second_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("not json")
    first = ProgressStore.open(path)
    path.write_text("[]")
    second = ProgressStore.open(path)
    assert first.warning and second.warning
    asides = sorted(p.read_text() for p in tmp_path.iterdir() if ".corrupt-" in p.name)
    assert asides == ["[]", "not json"]


def test_another_schema_version_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    future = json.dumps({"schema": 99, "labs": {}})
    path.write_text(future)
    store = ProgressStore.open(path)
    assert store.warning is not None and "schema 99" in store.warning
    asides = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert [p.read_text() for p in asides] == [future]


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cloudkata.progress import ProgressStore

    store = ProgressStore.open(Path(sys.argv[1]))
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        store.take_hint("lab", f"step-{n % 50}", 1000)
        store.mark_done("lab", f"step-{n}", "sandbox")
""")


def test_a_kill_at_any_moment_leaves_valid_json(tmp_path: Path) -> None:
    """SIGKILL a process mid-write, again and again: the file is always whole."""
    path = tmp_path / "progress.json"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(1234)
    for _ in range(6):
        process = subprocess.Popen([sys.executable, str(script), str(path)],
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.01, 0.15))
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["schema"] == SCHEMA_VERSION
        store = ProgressStore.open(path)
        assert store.warning is None
    assert len(ProgressStore.open(path).done_steps("lab")) > 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"]
    assert len(leftovers) <= 6  # a kill between mkstemp and rename may leave one; never harm


RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from cloudkata.progress import ProgressStore

    path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    store = ProgressStore.open(path)  # opened before the other writes: its copy goes stale
    while not go.exists():
        time.sleep(0.001)
    for n in range(100):
        store.record_attempt("lab", "shared")  # both processes count the same attempts
        store.mark_done("lab", f"{name}-{n}", "sandbox")  # and add steps of their own
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """The TUI and the CLI record progress at the same time: 2 x 200 updates, all kept."""
    path = tmp_path / "progress.json"
    ProgressStore.open(path).mark_done("lab", "before", "sandbox")
    script, go = tmp_path / "racer.py", tmp_path / "go"
    script.write_text(RACER)
    racers = [subprocess.Popen([sys.executable, str(script), str(path), name, str(go)])
              for name in ("tui", "cli")]
    time.sleep(0.5)  # both started and waiting
    go.touch()
    assert [racer.wait(timeout=120) for racer in racers] == [0, 0]
    store = ProgressStore.open(path)
    assert store.warning is None
    assert store.data["labs"]["lab"]["attempts"] == {"shared": 200}
    expected = {"before"} | {f"{name}-{n}" for name in ("tui", "cli") for n in range(100)}
    assert store.done_steps("lab") == expected


def test_a_long_lived_store_sees_another_process_write(tmp_path: Path) -> None:
    """The app's store is opened once; a step the CLI finished shows, and is not undone."""
    path = tmp_path / "progress.json"
    app = ProgressStore.open(path)
    app.take_hint("lab", "a", 3)
    subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from cloudkata.progress import ProgressStore
        ProgressStore.open(Path({str(path)!r})).mark_done("lab", "a", "aws")
    """)], check=True)
    assert app.done_steps("lab") == {"a"}  # re-read: the file changed under it
    assert app.take_hint("lab", "a", 3) == 2
    reread = ProgressStore.open(path)
    assert reread.done_steps("lab") == {"a"} and reread.hints_taken("lab", "a") == 2


HOLDER = textwrap.dedent("""
    import sys, time
    from filelock import FileLock
    with FileLock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold_lock(tmp_path: Path, seconds: float) -> subprocess.Popen[str]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    holder = subprocess.Popen([sys.executable, str(script),
                               str(tmp_path / "progress.json.lock"), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_write_waits_for_the_lock_then_merges(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    store = ProgressStore.open(path)
    holder = _hold_lock(tmp_path, 0.5)
    started = time.monotonic()
    store.record_attempt("lab", "a")
    assert time.monotonic() - started > 0.3  # it waited for the other process
    holder.wait(timeout=10)
    assert ProgressStore.open(path).data["labs"]["lab"]["attempts"] == {"a": 1}


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LOCK_TIMEOUT", 0.2)
    path = tmp_path / "progress.json"
    store = ProgressStore.open(path)
    holder = _hold_lock(tmp_path, 3)
    try:
        with pytest.raises(ProgressBusyError, match="progress.json.lock"):
            store.mark_done("lab", "a", "sandbox")
    finally:
        holder.kill()
        holder.wait()
    assert not path.exists()  # nothing was written without the lock


def test_one_lock_object_per_file_in_a_process(tmp_path: Path) -> None:
    """Two stores on one file in one process share the lock, so neither waits for itself."""
    path = tmp_path / "progress.json"
    first, second = ProgressStore.open(path), ProgressStore.open(path)
    assert progress._lock_for(path) is progress._lock_for(path)
    with progress._lock_for(path):  # re-entrant: a write inside a held lock does not hang
        first.mark_done("lab", "a", "sandbox")
        second.mark_done("lab", "b", "sandbox")
    assert ProgressStore.open(path).done_steps("lab") == {"a", "b"}
    assert isinstance(progress._lock_for(path), FileLock)
