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

from cloudkata.progress import SCHEMA_VERSION, ProgressStore


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json"]


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
