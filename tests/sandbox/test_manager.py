"""The sandbox manager: start, find, reset and stop our own process, and never a stranger.

These tests run a private sandbox with their own state and log files, so the worker's shared
sandbox (the ``sandbox`` fixture) is never disturbed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from cloudkata.sandbox import manager
from tests.conftest import TRUST_ECS_TASKS


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def iam(endpoint: str):  # noqa: ANN201 - a boto3 client
    return boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "sandbox.json", tmp_path / "sandbox.log"


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated live process whose pid a stale state file might name."""
    process = subprocess.Popen(["sleep", "30"])
    yield process
    process.kill()
    process.wait()


def test_lifecycle(files: tuple[Path, Path], capfd: pytest.CaptureFixture[str]) -> None:
    state_file, log_file = files
    info = manager.start(port=0, state_file=state_file, log_file=log_file)
    try:
        # the state file names the process and the real port picked for port 0
        state = json.loads(state_file.read_text())
        assert (state["pid"], state["port"]) == (info.pid, info.port)
        assert info.port != 0
        assert info.endpoint == f"http://127.0.0.1:{info.port}"
        assert manager.status(state_file) == info

        # a second start finds the running one instead of starting another
        assert manager.start(port=0, state_file=state_file, log_file=log_file) == info

        # reset wipes resources
        client = iam(info.endpoint)
        client.create_role(RoleName="left-over", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
        manager.reset(info.endpoint)
        assert client.list_roles()["Roles"] == []
        with pytest.raises(client.exceptions.NoSuchEntityException):
            client.get_role(RoleName="missing")
    finally:
        assert manager.stop(state_file) is True
    assert gone_soon(info.pid)
    assert not state_file.exists()
    assert manager.status(state_file) is None
    assert manager.stop(state_file) is False  # stopping twice is harmless

    # request logs and warnings never reach our terminal, nor the log file
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    log = log_file.read_text(errors="replace")
    assert "POST /" not in log and "GET /" not in log


def gone_soon(pid: int, within: float = 3.0) -> bool:
    """True once the process has exited (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as handle:
                if "(zombie)" in handle.read():
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    return False


def test_stop_never_kills_a_stranger(
    files: tuple[Path, Path], stranger: subprocess.Popen[bytes]
) -> None:
    state_file, _ = files
    with socket.socket() as sock:  # a port where no sandbox answers
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state_file.write_text(json.dumps({"pid": stranger.pid, "port": port}))
    assert manager.status(state_file) is None
    assert manager.stop(state_file) is False
    assert stranger.poll() is None and alive(stranger.pid)
    assert not state_file.exists()  # the stale file is cleaned up


def test_stop_never_kills_a_stranger_even_if_a_sandbox_answers(
    files: tuple[Path, Path], stranger: subprocess.Popen[bytes],
    sandbox_info: manager.SandboxInfo,
) -> None:
    """The port answers as a sandbox, but with another pid: the pid was reused."""
    state_file, _ = files
    state_file.write_text(json.dumps({"pid": stranger.pid, "port": sandbox_info.port}))
    assert manager.stop(state_file) is False
    assert stranger.poll() is None
    assert manager._health(sandbox_info.endpoint) is not None  # the real one is untouched


def test_a_corrupt_state_file_is_ignored(files: tuple[Path, Path]) -> None:
    state_file, _ = files
    state_file.write_text("{not json")
    assert manager.status(state_file) is None
    assert manager.stop(state_file) is False


def test_a_taken_port_is_one_sentence(files: tuple[Path, Path]) -> None:
    state_file, log_file = files
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(manager.SandboxError, match=f"Port {port} on 127.0.0.1 is taken") \
                as caught:
            manager.start(port=port, state_file=state_file, log_file=log_file)
    assert not state_file.exists()
    assert f"pid {os.getpid()}" in str(caught.value)  # it names what holds the port


def test_a_killed_sandbox_is_replaced(files: tuple[Path, Path]) -> None:
    """After a crash (SIGKILL: no cleanup) the state file is stale; start starts afresh."""
    state_file, log_file = files
    first = manager.start(port=0, state_file=state_file, log_file=log_file)
    os.kill(first.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(first.pid, 0)
    assert state_file.exists()
    assert manager.status(state_file) is None
    second = manager.start(port=0, state_file=state_file, log_file=log_file)
    try:
        assert second.pid != first.pid
        assert manager.status(state_file) == second
    finally:
        manager.stop(state_file)


def test_reset_of_an_unreachable_endpoint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(manager.SandboxError, match="Cannot reset the sandbox"):
        manager.reset(endpoint)


def test_the_server_module_runs_standalone() -> None:
    """``python -m cloudkata.sandbox.server --help`` works (the manager relies on it)."""
    result = subprocess.run([sys.executable, "-m", "cloudkata.sandbox.server", "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "--state-file" in result.stdout


def test_stop_returns_only_once_the_process_is_gone(files: tuple[Path, Path]) -> None:
    state_file, log_file = files
    info = manager.start(port=0, state_file=state_file, log_file=log_file)
    assert manager.stop(state_file) is True
    assert not alive(info.pid)  # gone and reaped, not merely "not answering"


def test_a_hung_sandbox_is_killed_and_the_stop_says_so(
        files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A sandbox that answers nothing (here: stopped by SIGSTOP) still stops, with a note."""
    state_file, log_file = files
    info = manager.start(port=0, state_file=state_file, log_file=log_file)
    os.kill(info.pid, signal.SIGSTOP)
    monkeypatch.setattr(manager, "STOP_TIMEOUT", 1.0)
    notes: list[str] = []
    try:
        assert manager.stop(state_file, announce=notes.append) is True
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)
    assert not alive(info.pid)
    assert len(notes) == 1 and "killed" in notes[0]
    assert not state_file.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_start_right_after_stop_works_first_time_on_the_same_port(
        files: tuple[Path, Path]) -> None:
    state_file, log_file = files
    port = _free_port()
    first = manager.start(port=port, state_file=state_file, log_file=log_file)
    iam(first.endpoint).list_roles()  # a connection the server closes: TIME_WAIT on its port
    manager.stop(state_file)
    second = manager.start(port=port, state_file=state_file, log_file=log_file)
    try:
        assert second.port == port and second.pid != first.pid
    finally:
        manager.stop(state_file)


def test_stop_with_another_port_leaves_the_sandbox_running(files: tuple[Path, Path]) -> None:
    state_file, log_file = files
    info = manager.start(port=0, state_file=state_file, log_file=log_file)
    try:
        assert manager.stop(state_file, port=info.port + 1) is False
        assert manager.status(state_file, port=info.port + 1) is None
        assert manager.status(state_file, port=info.port) == info
    finally:
        manager.stop(state_file)


def test_resources_come_back_after_stop_and_start(tmp_path: Path,
                                                  files: tuple[Path, Path]) -> None:
    """What `sandbox stop --help` promises: the resources are saved and come back."""
    state_file, log_file = files
    snapshot = tmp_path / "state.bin"
    info = manager.start(port=0, state_file=state_file, log_file=log_file,
                         snapshot_file=snapshot)
    iam(info.endpoint).create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    manager.stop(state_file)
    info = manager.start(port=0, state_file=state_file, log_file=log_file,
                         snapshot_file=snapshot)
    try:
        assert [r["RoleName"] for r in iam(info.endpoint).list_roles()["Roles"]] == ["kept"]
    finally:
        manager.stop(state_file)

