"""`cloudkata sandbox ...` as a learner uses it: honest about what stop does, --port everywhere.

These run a private sandbox under their own CLOUDKATA_HOME, never the worker's shared one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from cloudkata.cli import main
from cloudkata.exit_codes import ExitCode
from cloudkata.sandbox import manager
from tests.conftest import TRUST_ECS_TASKS


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"CLOUDKATA_HOME": str(tmp_path / "home"), "CLOUDKATA_SANDBOX_PACE": "fast"}
    yield env
    previous = os.environ.get("CLOUDKATA_HOME")
    os.environ["CLOUDKATA_HOME"] = env["CLOUDKATA_HOME"]
    try:
        manager.stop()
    finally:
        if previous is None:
            os.environ.pop("CLOUDKATA_HOME", None)
        else:
            os.environ["CLOUDKATA_HOME"] = previous


def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _roles(port: int) -> list[str]:
    iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    return [role["RoleName"] for role in iam.list_roles()["Roles"]]


def test_stop_does_what_its_help_says(home: dict[str, str]) -> None:
    """The help promises the resources come back after a stop; so they must."""
    code, help_text = cli(home, "sandbox", "stop", "--help")
    assert code == 0 and "come back on the next" in " ".join(help_text.split())
    port = _free_port()
    assert cli(home, "sandbox", "start", "--port", str(port))[0] == 0
    iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    iam.create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    code, out = cli(home, "sandbox", "stop")
    assert code == 0 and "Sandbox stopped" in out
    code, out = cli(home, "sandbox", "start", "--port", str(port))  # same port, first time
    assert code == 0, out
    assert _roles(port) == ["kept"]


def test_every_sandbox_command_takes_port(home: dict[str, str]) -> None:
    for command in ("start", "stop", "status", "reset", "export", "import", "load"):
        code, out = cli(home, "sandbox", command, "--help")
        assert code == 0 and "--port" in out, command


def test_status_and_stop_with_another_port(home: dict[str, str]) -> None:
    port = _free_port()
    assert cli(home, "sandbox", "start", "--port", str(port))[0] == 0
    code, out = cli(home, "sandbox", "status", "--port", str(port + 1))
    assert code == ExitCode.UNREACHABLE and f"on port {port + 1}" in out
    code, out = cli(home, "sandbox", "stop", "--port", str(port + 1))
    assert code == 0 and "No sandbox was running on port" in out
    code, out = cli(home, "sandbox", "status", "--port", str(port))
    assert code == 0 and f"127.0.0.1:{port}" in out


def test_a_taken_port_is_said_once_with_its_holder(home: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, out = cli(home, "sandbox", "start", "--port", str(port))
    assert code == ExitCode.UNREACHABLE
    assert out.count("is taken by") == 1 and f"pid {os.getpid()}" in out
