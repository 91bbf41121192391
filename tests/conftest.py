"""Shared fixtures: one real sandbox (moto over HTTP) per xdist worker, reset between tests.

Each worker gets its own CLOUDKATA_HOME, so progress files, workspaces and the sandbox's
pid/port file never collide between workers or with the developer's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudkata.sandbox import manager
from cloudkata.targets import Target


@pytest.fixture(scope="session")
def cloudkata_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("cloudkata-home")
    previous = os.environ.get("CLOUDKATA_HOME")
    os.environ["CLOUDKATA_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("CLOUDKATA_HOME", None)
    else:
        os.environ["CLOUDKATA_HOME"] = previous


@pytest.fixture(scope="session")
def sandbox_info(cloudkata_home: Path) -> Iterator[manager.SandboxInfo]:
    """The worker's sandbox process, on a free port, found by the CLI via CLOUDKATA_HOME."""
    info = manager.start(port=0, pace="frozen")  # time moves only when a test advances it
    yield info
    manager.stop()


@pytest.fixture
def sandbox(sandbox_info: manager.SandboxInfo) -> Target:
    """A clean sandbox target: every resource wiped before the test."""
    manager.reset(sandbox_info.endpoint)
    return Target("sandbox", "us-east-1", sandbox_info.endpoint)


@pytest.fixture
def labs_home(cloudkata_home: Path) -> Iterator[Path]:
    """A fresh data folder (progress, workspaces) for one test; the sandbox stays shared."""
    data = cloudkata_home / "data"
    for child in ("progress.json", "workspaces"):
        path = data / child
        if path.is_dir():
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    yield data


TRUST_ECS_TASKS = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
    '{"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)
"""A valid trust policy for tests that just need some role (the sandbox refuses "{}", as IAM)."""
