"""Start, find, stop and reset the sandbox process that outlives any one command or TUI.

The pid/port file lives in the user runtime dir. ``stop`` only ever signals a process that
answers our health route with its own pid, so it never kills a stranger that reused the pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import locations
from .server import HEALTH_PATH, IDENTITY

DEFAULT_PORT = 4599
START_TIMEOUT = 20.0


class SandboxError(RuntimeError):
    """A sandbox problem, worded for the learner."""


class SandboxRequestError(SandboxError):
    """The sandbox answered, but refused what was asked (a bad file, an unknown service)."""


@dataclass(frozen=True)
class SandboxInfo:
    pid: int
    port: int
    host: str = "127.0.0.1"
    warning: str | None = field(default=None, compare=False)
    """Why saved state could not be restored at start-up, if it could not."""

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


def _read_state(state_file: Path) -> SandboxInfo | None:
    try:
        data = json.loads(state_file.read_text())
        return SandboxInfo(int(data["pid"]), int(data["port"]), data.get("host", "127.0.0.1"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _health(endpoint: str, timeout: float = 1.0) -> dict | None:
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if data.get("name") == IDENTITY else None


def status(state_file: Path | None = None) -> SandboxInfo | None:
    """The running sandbox we started, or None."""
    state_file = state_file or locations.sandbox_state_file()
    info = _read_state(state_file)
    if info is None:
        return None
    health = _health(info.endpoint)
    if health is None or health.get("pid") != info.pid:
        return None
    return replace(info, warning=health.get("warning"))


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(port: int = DEFAULT_PORT, state_file: Path | None = None,
          log_file: Path | None = None, pace: str | None = None,
          snapshot_file: Path | None = None) -> SandboxInfo:
    """Start the sandbox in the background (or return the one already running)."""
    state_file = state_file or locations.sandbox_state_file()
    log_file = log_file or locations.sandbox_log_file()
    running = status(state_file)
    if running:
        return running
    if port and not _port_free(port):
        raise SandboxError(
            f"Port {port} on 127.0.0.1 is taken by another program; "
            "start the sandbox on another one with --port."
        )
    state_file.unlink(missing_ok=True)
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", PYTHONWARNINGS="ignore")
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cloudkata.sandbox.server", "--port", str(port),
             "--state-file", str(state_file),
             "--snapshot", str(snapshot_file or locations.sandbox_snapshot_file()),
             "--pace", pace or os.environ.get("CLOUDKATA_SANDBOX_PACE", "real")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            start_new_session=True, close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(f"The sandbox exited at start-up; see {log_file}.")
        info = status(state_file)
        if info:
            return info
        time.sleep(0.05)
    process.terminate()
    raise SandboxError(f"The sandbox did not answer within {START_TIMEOUT:.0f}s; see {log_file}.")


def stop(state_file: Path | None = None) -> bool:
    """Stop the sandbox we started. Returns False when none was running."""
    state_file = state_file or locations.sandbox_state_file()
    info = status(state_file)
    if info is None:
        state_file.unlink(missing_ok=True)
        return False
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _health(info.endpoint, 0.2):
        time.sleep(0.05)
    state_file.unlink(missing_ok=True)
    return True


def reset(endpoint: str) -> None:
    """Wipe every resource in the sandbox (moto's reset route; ~10 ms)."""
    request = urllib.request.Request(endpoint + "/moto-api/reset", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except OSError as exc:
        raise SandboxError(f"Cannot reset the sandbox at {endpoint}: {exc}") from exc


def _post(endpoint: str, path: str, payload: dict) -> dict:
    request = urllib.request.Request(endpoint + path, method="POST",
                                     data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", str(exc))
        except ValueError:
            message = str(exc)
        raise SandboxRequestError(message) from None
    except OSError as exc:
        raise SandboxError(f"The sandbox at {endpoint} did not answer {path}: {exc}") from exc


def advance(endpoint: str, seconds: float) -> float:
    """Move the sandbox's clock ahead (boots, health checks, alarms happen); returns now."""
    return float(_post(endpoint, "/cloudkata/clock", {"advance": seconds})["now"])


def clock(endpoint: str) -> dict | None:
    """The sandbox's simulated time and speed, or None if it does not answer."""
    try:
        with urllib.request.urlopen(endpoint + "/cloudkata/clock", timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def export_state(endpoint: str, path: Path) -> dict:
    """Write everything in the sandbox to ``path`` (to hand in, or to keep)."""
    return _post(endpoint, "/cloudkata/export", {"path": str(Path(path).resolve())})


def import_state(endpoint: str, path: Path) -> dict:
    """Replace everything in the sandbox with the state in ``path``."""
    return _post(endpoint, "/cloudkata/import", {"path": str(Path(path).resolve())})


def set_load(endpoint: str, **load: object) -> dict:
    """Set a service's synthetic CPU/memory utilisation (a sandbox-only knob)."""
    return _post(endpoint, "/cloudkata/load", dict(load))


def ensure_running(port: int = DEFAULT_PORT, announce=None) -> SandboxInfo:
    """Return the running sandbox, starting it first (and saying so in one line) if needed."""
    info = status()
    if info:
        return info
    if announce:
        announce(f"Starting the sandbox on 127.0.0.1:{port} (it keeps running in the background; "
                 "`cloudkata sandbox stop` ends it).")
    info = start(port)
    if announce and info.warning:
        announce(info.warning)
    return info
