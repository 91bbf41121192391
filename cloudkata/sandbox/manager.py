"""Start, find, stop and reset the sandbox process that outlives any one command or TUI.

The pid/port file lives in the user runtime dir, mode 0600: it also holds the random token
the sandbox's control routes require (see :mod:`cloudkata.sandbox.control.guard`). ``stop``
only ever signals a process that answers our health route with its own pid, so it never
kills a stranger that reused the pid, and it returns only once that process is gone.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import locations
from ..atomic import write_bytes
from .control.guard import TOKEN_HEADER
from .server import HEALTH_PATH, IDENTITY

DEFAULT_PORT = 4599
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
"""Seconds a stopping sandbox gets to save and exit before it is killed."""
CONTROL_TIMEOUT = 30.0
MAX_HANDIN_BYTES = 64 * 1024 * 1024


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
    token: str | None = field(default=None, compare=False, repr=False)
    """The key to the control routes (from the 0600 pid file)."""

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


_TOKENS: dict[tuple[str, int], str] = {}
"""Tokens of sandboxes this process has seen, by (host, port): tests run private ones."""


def _read_state(state_file: Path) -> SandboxInfo | None:
    try:
        data = json.loads(state_file.read_text())
        info = SandboxInfo(int(data["pid"]), int(data["port"]), data.get("host", "127.0.0.1"),
                           token=data.get("token"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.token:
        _TOKENS[(info.host, info.port)] = info.token
    return info


def _address(endpoint: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(endpoint)
    host = parts.hostname or "127.0.0.1"
    return ("127.0.0.1" if host in ("localhost", "::1") else host), parts.port or 80


def control_headers(endpoint: str) -> dict[str, str]:
    """The headers a control request to the sandbox at ``endpoint`` needs (its token)."""
    _read_state(locations.sandbox_state_file())  # the freshest token for the usual sandbox
    token = _TOKENS.get(_address(endpoint))
    return {TOKEN_HEADER: token} if token else {}


def _health(endpoint: str, timeout: float = 1.0) -> dict | None:
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if data.get("name") == IDENTITY else None


def status(state_file: Path | None = None, port: int | None = None) -> SandboxInfo | None:
    """The running sandbox we started (on ``port``, if given), or None."""
    state_file = state_file or locations.sandbox_state_file()
    info = _read_state(state_file)
    if info is None or (port and info.port != port):
        return None
    health = _health(info.endpoint)
    if health is None or health.get("pid") != info.pid:
        return None
    return replace(info, warning=health.get("warning"))


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the server binds: a port a stopped sandbox just left (TIME_WAIT) is free
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str:
    """Who listens on ``port``, in words ("python3 (pid 1234)"), as far as we may see."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return "another program"
    for connection in connections:
        if (connection.status == psutil.CONN_LISTEN and connection.laddr
                and connection.laddr.port == port):
            if connection.pid is None:
                return "another user's program"
            try:
                process = psutil.Process(connection.pid)
                command = " ".join(process.cmdline()[:3]) or process.name()
            except psutil.Error:
                return f"pid {connection.pid}"
            return f"{command} (pid {connection.pid})"
    return "another program"


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
            f"Port {port} on 127.0.0.1 is taken by {port_holder(port)}; "
            "start the sandbox on another one with --port."
        )
    state_file.unlink(missing_ok=True)
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", PYTHONWARNINGS="ignore")
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            # -P: never import a `cloudkata/` folder from the working directory (a checkout's
            # root holds the unmapped sources) instead of the installed package
            [sys.executable, "-P", "-m", "cloudkata.sandbox.server", "--port", str(port),
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


def _ours(pid: int) -> bool:
    """Is ``pid`` a live sandbox server process (not a stranger that reused the pid)?"""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return "cloudkata.sandbox.server" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (reaping it when it is our child); True if it did."""
    import psutil

    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return not _ours(pid)  # a zombie of someone else's counts as gone
    return True


def stop(state_file: Path | None = None, port: int | None = None,
         announce: Callable[[str], None] | None = None) -> bool:
    """Stop the sandbox we started and return once its process has exited.

    It gets SIGTERM, saves its resources (they come back on the next start) and exits; one
    that does not exit within :data:`STOP_TIMEOUT` is killed, and ``announce`` says so.
    A hung sandbox (its health route silent, its process alive) is stopped the same way.
    With ``port``, only a sandbox on that port is stopped. Returns False when none ran.
    """
    state_file = state_file or locations.sandbox_state_file()
    recorded = _read_state(state_file)
    if recorded is None or (port and recorded.port != port):
        if recorded is None:
            state_file.unlink(missing_ok=True)
        return False
    health = _health(recorded.endpoint)
    answering = health is not None and health.get("pid") == recorded.pid
    if not answering and not _ours(recorded.pid):
        state_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(recorded.pid, signal.SIGTERM)
    if not _wait_gone(recorded.pid, STOP_TIMEOUT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(recorded.pid, signal.SIGKILL)
        _wait_gone(recorded.pid, 5.0)
        if announce:
            announce(f"The sandbox did not stop within {STOP_TIMEOUT:.0f}s and was killed; "
                     "changes from its last seconds may not be saved.")
    state_file.unlink(missing_ok=True)
    return True


def _request(endpoint: str, method: str, path: str, payload: dict | None = None,
             timeout: float = CONTROL_TIMEOUT) -> dict:
    """One control request with the sandbox's token; errors are one sentence."""
    headers = {"Content-Type": "application/json", **control_headers(endpoint)}
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(endpoint + path, method=method, data=data,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", str(exc))
        except ValueError:
            message = str(exc)
        raise SandboxRequestError(message) from None
    except (OSError, ValueError) as exc:
        raise SandboxError(f"The sandbox at {endpoint} did not answer {path}: {exc}") from exc


def _post(endpoint: str, path: str, payload: dict) -> dict:
    return _request(endpoint, "POST", path, payload)


def reset(endpoint: str) -> None:
    """Wipe every resource in the sandbox (moto's reset route; ~10 ms)."""
    try:
        _request(endpoint, "POST", "/moto-api/reset", timeout=10)
    except SandboxError as exc:
        raise SandboxError(f"Cannot reset the sandbox at {endpoint}: {exc}") from exc


PARTIAL_ADVANCE = "advance again for the rest"


def advance(endpoint: str, seconds: float) -> float:
    """Move the sandbox's clock ahead (boots, health checks, alarms happen); returns now.

    One request stops at the sandbox's time limit and says so (a busy machine may not fit a
    long settle in it); this goes on from where it stopped until all of ``seconds`` passed.
    """
    start = clock(endpoint)
    goal = float(start["now"]) + seconds if start else None
    while True:
        try:
            return float(_post(endpoint, "/cloudkata/clock", {"advance": seconds})["now"])
        except SandboxError as exc:
            now = clock(endpoint)
            if goal is None or now is None or PARTIAL_ADVANCE not in str(exc):
                raise
            seconds = goal - float(now["now"])
            if seconds <= 0:
                return float(now["now"])


def checkpoint(endpoint: str, name: str) -> None:
    """Keep the sandbox's whole state in its memory under ``name`` (see :func:`rollback`)."""
    _post(endpoint, "/cloudkata/checkpoint", {"name": name})


def rollback(endpoint: str, name: str) -> None:
    """Put back the state kept by :func:`checkpoint` (much faster than an import)."""
    _post(endpoint, "/cloudkata/rollback", {"name": name})


def clock(endpoint: str) -> dict | None:
    """The sandbox's simulated time and speed, or None if it does not answer."""
    try:
        return _request(endpoint, "GET", "/cloudkata/clock", timeout=5)
    except SandboxError:
        return None


def export_state(endpoint: str, path: str | Path) -> dict:
    """Write everything in the sandbox to ``path`` (to hand in, or to keep).

    The sandbox sends the bytes; this process writes the file (atomically, mode 0600).
    """
    answer = _request(endpoint, "GET", "/cloudkata/export")
    try:
        data = base64.b64decode(answer["data"], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise SandboxError("The sandbox's export was damaged in transit; try again.") from None
    path = Path(path).expanduser().resolve()
    try:
        write_bytes(path, data)
    except OSError as exc:
        raise SandboxRequestError(f"Cannot write {path}: {exc.strerror}.") from None
    return {"path": str(path), "bytes": len(data), "services": answer.get("services", [])}


def import_state(endpoint: str, path: str | Path) -> dict:
    """Replace everything in the sandbox with the state in ``path``.

    This process reads the file and sends its bytes; the sandbox checks all of it before it
    changes anything, so a bad file leaves the sandbox exactly as it was.
    """
    path = Path(path).expanduser().resolve()
    try:
        size = path.stat().st_size
        if size > MAX_HANDIN_BYTES:
            raise SandboxRequestError(f"{path} is {size:,} bytes; a sandbox file is at most "
                                      f"{MAX_HANDIN_BYTES:,}.")
        data = path.read_bytes()
    except OSError as exc:
        raise SandboxRequestError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        answer = _post(endpoint, "/cloudkata/import",
                       {"data": base64.b64encode(data).decode("ascii")})
    except SandboxRequestError as exc:
        raise SandboxRequestError(f"{path}: {exc}") from None
    return {"path": str(path), **answer}


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
