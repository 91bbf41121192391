"""The wheel carries everything: code, lab YAML, Markdown, starter files, .tcss.

A wheel can silently miss package data; this builds one, installs it (without the source tree
on the path) into a fresh venv and runs a lab from it against the test sandbox.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from cloudkata.targets import Target

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("packaging")  # one build, on one worker


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # build from a copy: the work tree gets no build/ or egg-info
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests", "bench"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(work / "dist"), str(source)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("cloudkata-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    target_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    # dependencies come from the test venv's site-packages (plain path: no editable hooks)
    Path(target_site, "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                    "--target", target_site, str(wheel)], check=True, capture_output=True)
    return env_dir


def test_wheel_contains_labs_content_and_styles(installed_wheel: Path) -> None:
    python = installed_wheel / "bin" / "python"
    code = ("import cloudkata, importlib.resources as r; print(cloudkata.__file__); "
            "print(r.files('cloudkata.labs').joinpath('ecs-iam-roles.yaml').is_file()); "
            "print(r.files('cloudkata.content').joinpath('ecs-iam-roles/concepts.md').is_file());"
            "print(r.files('cloudkata.content').joinpath("
            "'ecs-iam-roles/workspace/ec2-trust.json').is_file());"
            "print(r.files('cloudkata.tui').joinpath('app.tcss').is_file())")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         check=True, cwd=installed_wheel).stdout.split()
    assert str(installed_wheel) in out[0], "cloudkata was imported from the source tree"
    assert out[1:] == ["True", "True", "True", "True"]


def test_installed_wheel_checks_a_lab(installed_wheel: Path, sandbox: Target) -> None:
    python = installed_wheel / "bin" / "python"
    run = [str(python), "-m", "cloudkata", "--endpoint-url", sandbox.endpoint_url]
    static = subprocess.run([*run, "dev", "check", "--static"], capture_output=True,
                            text=True, cwd=installed_wheel)
    assert static.returncode == 0, static.stdout + static.stderr
    before = subprocess.run([*run[:3], "check", "ecs-iam-roles", "--endpoint-url",
                             sandbox.endpoint_url], capture_output=True, text=True,
                            cwd=installed_wheel)
    assert before.returncode == 1, before.stdout + before.stderr
    assert "Role ecsInstanceRole does not exist" in before.stdout


def test_every_python_package_in_the_tree_is_listed_in_pyproject() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "__pycache__" in relative.parts or "tests" in relative.parts:
                continue
            parts = [part for part in relative.parts if part]
            found.add(".".join([package, *parts]))
    assert found - listed == set(), "add these to [tool.setuptools] packages"


def test_every_content_file_is_in_the_wheel(installed_wheel: Path) -> None:
    import zipfile

    wheel = next(installed_wheel.parent.glob("dist/cloudkata-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    content = ROOT / "content"
    missing = [str(path.relative_to(ROOT)) for path in content.rglob("*")
               if path.is_file() and "__pycache__" not in path.parts
               and f"cloudkata/content/{path.relative_to(content)}" not in names]
    assert missing == [], "add their suffixes to package-data in pyproject.toml"


def _installed_cli(installed_wheel: Path) -> list[str]:
    """The installed `cloudkata` as its console script runs it: no working dir on sys.path."""
    python = installed_wheel / "bin" / "python"
    return [str(python), "-P", "-c",
            "import sys; sys.argv[0] = 'cloudkata'; from cloudkata.cli import run; run()"]


@pytest.mark.parametrize("where", ["checkout root", "another folder"])
def test_installed_wheel_runs_from_the_checkout_root_and_elsewhere(
        installed_wheel: Path, tmp_path: Path, where: str) -> None:
    """From the checkout's root a source folder `cloudkata/` sits in the working directory;
    neither the CLI nor the sandbox process it starts may import it."""
    import os
    import socket

    cwd = ROOT if where == "checkout root" else tmp_path
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {**os.environ, "CLOUDKATA_HOME": str(tmp_path / "home"),
           "CLOUDKATA_SANDBOX_PACE": "fast", "CLOUDKATA_SANDBOX_PORT": port}
    cli = _installed_cli(installed_wheel)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, cwd=cwd,
                              env=env, timeout=300)

    started = run("sandbox", "start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        before = run("check", "ecs-iam-roles")
        assert before.returncode == 1, before.stdout + before.stderr
        steps = re.split(r"^[✗✓] ", before.stdout, flags=re.M)[1:]
        assert len(steps) == 4, before.stdout
        for step in steps:  # one cause, one message: no failure sentence twice in a step
            failures = [line for line in step.splitlines() if line.startswith("    ✗ ")]
            assert len(failures) == len(set(failures)), step
        assert "Not checked: needs role ecsTaskExecutionRole." in before.stdout
        solved = run("solve", "ecs-iam-roles")
        assert solved.returncode == 0, solved.stdout + solved.stderr
        after = run("check", "ecs-iam-roles")
        assert after.returncode == 0, after.stdout + after.stderr
    finally:
        stopped = run("sandbox", "stop")
    assert stopped.returncode == 0 and "Sandbox stopped" in stopped.stdout
    assert run("sandbox", "status").returncode == 3
