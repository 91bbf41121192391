"""Run a learner's command line with the real awscli, like one shell for a lab session.

Each line runs in ``bash -c`` in the lab workspace with the target's environment. Variables the
learner sets (``ARN=$(aws ...)``) and ``cd`` carry over to the next line through a small state
file, so pipes, ``$(...)`` and variables work as in a terminal, while a hung or killed command
cannot take the session down with it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import IO

from cloudkata.aws_bridge import BASH_FUNCTION, bridge_for, run_aws

DEFAULT_TIMEOUT = 300.0
EXIT_GRACE = 0.2
"""Seconds to keep reading after bash exits, for output still in the pipe."""

_SAVE_STATE = r"""
__ck_save() {
  __ck_rc=$?
  { for __ck_v in $(compgen -v); do
      case " $__CK_BASE " in *" $__ck_v "*) continue;; esac
      case $__ck_v in __ck_*|__CK_*|BASH*|FUNCNAME|_) continue;; esac
      declare -p "$__ck_v" 2>/dev/null
    done; } > "$__CK_STATE.tmp" && mv -f "$__CK_STATE.tmp" "$__CK_STATE"
  pwd > "$__CK_CWD"
  exit $__ck_rc
}
trap __ck_save EXIT
[ -f "$__CK_STATE" ] && . "$__CK_STATE"
cd "$(cat "$__CK_CWD" 2>/dev/null || pwd)" 2>/dev/null
"""


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class ShellSession:
    """One lab's console: a workspace, an environment and the shell variables set so far."""

    def __init__(self, workspace: Path, env: dict[str, str], *,
                 in_process_aws: bool = False) -> None:
        self.workspace = workspace
        self.env = dict(env)
        self.in_process_aws = in_process_aws
        """Run ``aws`` inside this process (~0.02 s instead of ~0.45 s or more each).

        For batch runs (``dev check``, ``solve``, benchmarks); the learner's console keeps
        the subprocess, where isolation matters more than speed. Plain ``aws`` lines run
        directly; lines with shell syntax go to bash, whose ``aws`` calls come back here
        through :mod:`cloudkata.aws_bridge`.
        """
        self._state = workspace / ".cloudkata-shell" / "vars.sh"
        self._cwd = workspace / ".cloudkata-shell" / "cwd"
        self._state.parent.mkdir(parents=True, exist_ok=True)
        self._base: str | None = None
        self._running: subprocess.Popen[str] | None = None
        self._cancelled = False

    def _baseline(self) -> str:
        """Variable names a fresh bash already has: these are not the learner's to carry."""
        if self._base is None:
            names = subprocess.run(["bash", "-c", "compgen -v"], env=self.env,
                                   capture_output=True, text=True, check=False).stdout.split()
            self._base = " ".join(names)
        return self._base

    def run(self, command: str, *, on_output: Callable[[str], None] | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        """Run one command line; stream its output lines to ``on_output`` as they come."""
        argv = plain_aws_argv(command) if self.in_process_aws else None
        if argv is not None:
            return self._run_in_process(command, argv, on_output)
        env = dict(self.env, __CK_BASE=self._baseline(), __CK_STATE=str(self._state),
                   __CK_CWD=str(self._cwd))
        prelude = _SAVE_STATE
        if self.in_process_aws:  # the line's own aws calls run here too, not as new Pythons
            env["__CK_AWS_PORT"] = str(bridge_for(self.env).port)
            prelude += BASH_FUNCTION
        started = time.monotonic()
        process = subprocess.Popen(
            ["bash", "-c", prelude + "\n" + command],
            cwd=self.workspace, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True,
        )
        self._running, self._cancelled = process, False
        lines: list[str] = []
        queue: Queue[str | None] = Queue()
        threading.Thread(target=_pump, args=(process.stdout, queue), daemon=True).start()
        deadline = started + timeout
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            if now >= deadline:
                _kill_group(process)
                lines.append(f"(stopped after {timeout:.0f}s)\n")
                break
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > EXIT_GRACE:
                break  # the shell is done; a background job (cmd &) may hold the pipe open
            try:
                line = queue.get(timeout=min(0.05, deadline - now))
            except Empty:
                continue
            if line is None:
                break
            lines.append(line)
            if on_output:
                on_output(line.rstrip("\n"))
        exit_code = process.wait()
        self._running = None
        if self._cancelled:
            lines.append("(stopped)\n")
        return CommandResult(command, exit_code, "".join(lines), time.monotonic() - started)

    def _current_dir(self) -> Path:
        """Where the last command left the shell (``cd`` carries over), else the workspace."""
        try:
            path = Path(self._cwd.read_text().strip())
        except OSError:
            return self.workspace
        return path if path.is_dir() else self.workspace

    def _run_in_process(self, command: str, argv: list[str],
                        on_output: Callable[[str], None] | None) -> CommandResult:
        started = time.monotonic()
        exit_code, out, err = run_aws(argv, self.env, str(self._current_dir()))
        output = out + err
        if on_output:
            for line in output.splitlines():
                on_output(line)
        return CommandResult(command, exit_code, output, time.monotonic() - started)

    def cancel(self) -> bool:
        """Stop the running command and everything it started (ctrl+c in the console).

        Returns False when nothing was running. Safe to call from another thread.
        """
        process = self._running
        if process is None or process.poll() is not None:
            return False
        self._cancelled = True
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            process.terminate()
        return True

    def forget(self) -> None:
        """Drop the carried variables and directory (a fresh console)."""
        self._state.unlink(missing_ok=True)
        self._cwd.unlink(missing_ok=True)
        self._state.parent.mkdir(parents=True, exist_ok=True)  # the workspace may be new


def _pump(stream: IO[str] | None, queue: Queue[str | None]) -> None:
    """Read lines in a thread, so a silent command cannot block the timeout."""
    assert stream is not None
    for line in stream:
        queue.put(line)
    queue.put(None)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill bash and everything it started (it leads its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


_SHELL_OPERATORS = set("|&;<>()")


def plain_aws_argv(command: str) -> list[str] | None:
    """The arguments of a line that is nothing but an ``aws`` command, else None.

    Anything a shell would interpret (pipes, redirections, ``$``, backticks, globs, ``~``)
    sends the line to bash instead.
    """
    if any(char in command for char in "$`*?~\\\n"):
        return None
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    if not tokens or tokens[0] != "aws":
        return None
    if any(token and set(token) <= _SHELL_OPERATORS for token in tokens):
        return None
    return shlex.split(command)[1:]


def quote(value: str) -> str:
    return shlex.quote(value)


def is_aws_command(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and os.path.basename(words[0]) == "aws"
