"""The awscli inside this process, reachable from the bash lines a batch run starts.

A solution line such as ``ARN=$(aws elbv2 describe-load-balancers ...)`` needs bash (for the
``$(...)``), and bash would start the ``aws`` program for every call inside it: a new Python
that imports awscli, ~1 s each on a busy 2-core machine. Mistakes and teardowns are full of
such lines, so ``dev check`` spent most of its time starting Pythons.

For batch runs (``dev check``, ``solve``, benchmarks) the shell gets a small ``aws`` function
instead. It sends its arguments, the working directory and the exported ``AWS_*`` variables
over a loopback socket (bash's own ``/dev/tcp``; nothing to install) to this bridge, which runs
them on a ready awscli driver (~20 ms) and answers exit code, standard output and standard
error separately, so ``$(aws ...)`` captures only what the real program would have printed on
standard output. When the bridge cannot be reached the function runs the real ``aws``.
The learner's own console never uses it: there, isolation matters more than speed.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
from typing import Any

BASH_FUNCTION = r"""
aws() {
  local __ck_fd __ck_rc __ck_n __ck_v
  local -a __ck_env=()
  if [ -n "$__CK_AWS_PORT" ]; then
    exec {__ck_fd}<>"/dev/tcp/127.0.0.1/$__CK_AWS_PORT"
  fi 2>/dev/null
  if [ -z "$__ck_fd" ]; then command aws "$@"; return; fi
  for __ck_v in $(compgen -e); do
    case $__ck_v in AWS_*) __ck_env+=("$__ck_v=${!__ck_v}");; esac
  done
  printf '%s\0' "$PWD" "${#__ck_env[@]}" "${__ck_env[@]}" "$#" "$@" >&"$__ck_fd"
  read -r -u "$__ck_fd" __ck_rc __ck_n
  head -c "${__ck_n:-0}" <&"$__ck_fd"
  cat <&"$__ck_fd" >&2
  exec {__ck_fd}>&-
  return "${__ck_rc:-255}"
}
"""

_LOCK = threading.Lock()
"""One in-process awscli call at a time: each swaps the process's environment and streams."""

_DRIVERS: dict[frozenset[tuple[str, str]], Any] = {}


def _one_command_per_process_assumed() -> None:
    """Make awscli's ``--x``/``--no-x`` check safe when one driver runs many EC2 commands.

    ``toplevelbool`` registers its check on ``operation-args-parsed.ec2.*`` each time an EC2
    command with such a pair (``modify-vpc-attribute --enable-dns-hostnames``) builds its
    arguments, so the next EC2 command (``create-subnet``) runs it against arguments it does
    not have and fails with AttributeError. A pair the parsed command lacks is not its own.
    """
    from awscli.customizations import toplevelbool

    def validate_boolean_mutex_groups(boolean_pairs: list[tuple[Any, Any]], parsed_args: Any,
                                      **kwargs: Any) -> None:
        mine = [(positive, negative) for positive, negative in boolean_pairs
                if hasattr(parsed_args, positive.py_name)
                and hasattr(parsed_args, negative.py_name)]
        original(mine, parsed_args, **kwargs)

    original = toplevelbool.validate_boolean_mutex_groups
    if original.__module__ == toplevelbool.__name__:  # not yet replaced
        toplevelbool.validate_boolean_mutex_groups = validate_boolean_mutex_groups


def run_aws(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, str, str]:
    """Run ``aws ARGV`` on a ready driver with ``env`` and ``cwd``: (exit code, stdout, stderr)."""
    import awscli.clidriver  # noqa: F401 - sets AWS_DATA_PATH, which saved_env must hold

    _one_command_per_process_assumed()

    out, err = io.StringIO(), io.StringIO()
    with _LOCK:
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        try:
            os.environ.clear()
            os.environ.update(env)
            if "AWS_DATA_PATH" in saved_env:  # set by awscli at import; it finds its data
                os.environ["AWS_DATA_PATH"] = saved_env["AWS_DATA_PATH"]
            os.chdir(cwd)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                exit_code = _driver_for(env).main(argv)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
    return exit_code, out.getvalue(), err.getvalue()


def _driver_for(env: dict[str, str]) -> Any:
    """One awscli driver per environment, made while that environment is in place.

    Making a driver loads awscli's plugins and command table (~50-300 ms); running a command
    on a made one costs ~20 ms. The driver's session reads credentials, region and endpoint
    from the environment when it is made, so it is kept per environment, never shared across
    two (call under ``_LOCK`` with ``env`` applied to ``os.environ``).
    """
    from awscli.clidriver import create_clidriver

    key = frozenset(env.items())
    if key not in _DRIVERS:
        if len(_DRIVERS) >= 8:
            _DRIVERS.clear()
        _DRIVERS[key] = create_clidriver()
    return _DRIVERS[key]


class AwsBridge:
    """A loopback listener that runs the shell function's ``aws`` calls in this process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = dict(env)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port: int = self._socket.getsockname()[1]
        threading.Thread(target=self._serve, name="cloudkata-aws-bridge", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            try:
                cwd, env, argv = _read_request(connection)
                code, out, err = run_aws(argv, {**self.env, **env}, cwd)
            except (OSError, ValueError) as exc:
                code, out, err = 255, "", f"cloudkata: the in-process aws failed: {exc}\n"
            except SystemExit as exc:  # awscli exits on some argument errors
                code, out, err = (exc.code if isinstance(exc.code, int) else 255), "", ""
            data = out.encode()
            with contextlib.suppress(OSError):
                connection.sendall(f"{code} {len(data)}\n".encode() + data + err.encode())


_BRIDGES: dict[frozenset[tuple[str, str]], AwsBridge] = {}
_BRIDGES_LOCK = threading.Lock()


def bridge_for(env: dict[str, str]) -> AwsBridge:
    """The bridge for this environment, started on first use and kept for the process."""
    key = frozenset(env.items())
    with _BRIDGES_LOCK:
        if key not in _BRIDGES:
            _BRIDGES[key] = AwsBridge(env)
        return _BRIDGES[key]


def _read_request(connection: socket.socket) -> tuple[str, dict[str, str], list[str]]:
    """Parse ``cwd NUL n-env NUL K=V NUL... n-args NUL arg NUL...`` as the function sends it."""
    buffer = b""
    fields: list[str] = []

    def wanted() -> int | None:
        """How many fields make the whole request, once the counts are known."""
        if len(fields) < 2:
            return None
        n_env = int(fields[1])
        if len(fields) < 3 + n_env:
            return None
        return 3 + n_env + int(fields[2 + n_env])

    while (total := wanted()) is None or len(fields) < total:
        chunk = connection.recv(65536)
        if not chunk:
            raise ValueError("the request ended early")
        buffer += chunk
        *complete, buffer = buffer.split(b"\0")
        fields.extend(part.decode() for part in complete)
    n_env = int(fields[1])
    env = dict(item.split("=", 1) for item in fields[2:2 + n_env])
    return fields[0], env, fields[3 + n_env:]
