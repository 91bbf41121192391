"""Sandbox state that survives a stop, a crash, and a trip to the instructor's machine.

moto has no persistence of its own, so we save its backends and the control plane's state, all
in ONE object graph (an Auto Scaling backend points at the very EC2 backend restored beside
it), and restore them into a fresh process with identical ids and ARNs. AWS managed policies
are left out (1,500+ per partition; IAM would weigh ~24 MB) and re-joined from a fresh backend.

Two formats, because they trust different people:

- the hand-in file (:func:`export_bytes`, :func:`import_bytes`) goes from a learner to an
  instructor, so it is data only (:mod:`.handin`): nothing in it can name code. An import
  decodes and checks the whole file before it touches the running sandbox, then replaces
  every saved service, so nothing of the sandbox's previous state survives it.
- the crash snapshot (:func:`save`, :func:`load_file`) is written every half second by the
  sandbox itself, under the plane's lock, so it stays a pickle: 2.5-5x faster to write than
  the hand-in format on a lab-sized state (bench/bench_handin.py). It is written mode
  0600 into the user's private data dir and read only if the file belongs to this user and
  nobody else can write it; a pickle is never read from anything another person made.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import pickle
import re
import stat
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..atomic import write_bytes
from . import handin
from .control import ControlPlane
from .control.backends import loaded
from .handin import StateFileError

__all__ = ["StateFileError", "export_bytes", "import_bytes", "load_file", "read_header",
           "save", "state_graph"]

log = logging.getLogger("cloudkata.sandbox")

FORMAT = 2  # of the crash snapshot: a JSON header line and one pickle of everything
MAGIC = b"cloudkata-sandbox-state\n"  # of the crash snapshot; hand-in files use handin.MAGIC
SERVICES = (
    "iam", "sts", "ec2", "autoscaling", "ecs", "ecr", "elbv2", "applicationautoscaling",
    "cloudwatch", "logs", "eks", "efs", "fsx", "ssm", "cloudformation", "events",
)
AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"
MAX_CLOCK_AHEAD = 400 * 24 * 3600.0
"""An imported sandbox clock may be this far ahead of ours (fast pace for weeks), no more."""
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z0-9-]{1,32}")


def moto_version() -> str:
    import moto

    return str(moto.__version__)


# --- per-service adjustments: what must not (or cannot) be saved as it is -------------------

def _iam_strip(backend: Any) -> dict[str, Any]:
    saved = {"aws_managed_policies": backend.aws_managed_policies,
             "managed_policies": backend.managed_policies}
    backend.aws_managed_policies = []
    backend.managed_policies = {arn: p for arn, p in backend.managed_policies.items()
                                if not arn.startswith(AWS_POLICY_PREFIX)}
    return saved


def _iam_unstrip(backend: Any, saved: dict[str, Any]) -> None:
    backend.aws_managed_policies = saved["aws_managed_policies"]
    backend.managed_policies = saved["managed_policies"]


def _attributes(found: Any) -> dict[str, Any]:
    """An object's own attributes, read without running any method of its class."""
    try:
        attributes = object.__getattribute__(found, "__dict__")
    except AttributeError:
        return {}
    return attributes if type(attributes) is dict else {}


def _iam_check(backend: Any) -> None:
    """What :func:`_iam_rejoin` relies on, checked before the running state is touched."""
    own = _attributes(backend)
    holders = [own.get(name) for name in ("roles", "users", "groups")]
    ok = type(own.get("managed_policies")) is dict and all(
        type(h) is dict and all(type(_attributes(x).get("managed_policies", {})) is dict
                                for x in h.values()) for h in holders)
    if not ok:
        raise StateFileError("its IAM state is damaged")


def _iam_rejoin(restored: Any, fresh: Any) -> None:
    """Give the restored IAM backend the fresh one's AWS managed policies, by ARN."""
    aws_policies = {arn: p for arn, p in fresh.managed_policies.items()
                    if arn.startswith(AWS_POLICY_PREFIX)}
    for policy in aws_policies.values():
        policy.attachment_count = 0  # the fresh backend's own attachments are going away
    restored.aws_managed_policies = fresh.aws_managed_policies
    restored.managed_policies = {**aws_policies, **restored.managed_policies}
    for holder in [*restored.roles.values(), *restored.users.values(),
                   *restored.groups.values()]:
        for arn in list(getattr(holder, "managed_policies", {})):
            if arn in aws_policies:
                holder.managed_policies[arn] = aws_policies[arn]
                aws_policies[arn].attachment_count += 1


def _ssm_strip(backend: Any) -> dict[str, Any]:
    saved = {"_resource_tags": backend._resource_tags}
    backend._resource_tags = {key: dict(value) for key, value in backend._resource_tags.items()}
    return saved


def _ssm_unstrip(backend: Any, saved: dict[str, Any]) -> None:
    backend._resource_tags = saved["_resource_tags"]


def _ssm_revive(backend: Any) -> None:
    """Back to moto's nested defaultdict (its factory is a lambda, which no file can hold)."""
    found = _attributes(backend).get("_resource_tags", {})
    if type(found) is not dict or not all(type(v) is dict for v in found.values()):
        raise StateFileError("its SSM tags are damaged")
    tags: defaultdict[str, defaultdict[str, dict[str, str]]] = defaultdict(
        lambda: defaultdict(dict))
    for key, value in found.items():
        tags[key].update(value)
    backend._resource_tags = tags


STRIP = {"iam": (_iam_strip, _iam_unstrip), "ssm": (_ssm_strip, _ssm_unstrip)}
CHECK = {"iam": _iam_check}
REVIVE = {"ssm": _ssm_revive}


# --- the object graph ---------------------------------------------------------------------

@contextmanager
def state_graph(plane: ControlPlane,
                services: tuple[str, ...] = SERVICES) -> Iterator[dict[str, Any]]:
    """Everything to save, as one graph, stripped for saving (hold the plane's lock)."""
    backends: dict[str, dict[str, dict[str, Any]]] = {}
    for service in services:
        for account, region, backend in loaded(service):
            backends.setdefault(service, {}).setdefault(account, {})[region] = backend
    saved = []
    try:
        for service, accounts in backends.items():
            if service in STRIP:
                strip, unstrip = STRIP[service]
                for regions in accounts.values():
                    for backend in regions.values():
                        saved.append((unstrip, backend, strip(backend)))
        yield {"backends": backends, "plane": plane.state, "clock": plane.now()}
    finally:
        for unstrip, backend, state in saved:
            unstrip(backend, state)


def _install(plane: ControlPlane, backends: dict[str, Any], plane_state: dict[str, Any],
             clock: float) -> None:
    """Replace every saved service with ``backends`` (absent: a fresh empty backend)."""
    from moto.backends import get_backend

    with plane.lock:
        for service in SERVICES:
            backend_dict = get_backend(service)
            previous = {}
            for account, region, backend in list(loaded(service)):
                previous[(account, region)] = backend
                dict.__delitem__(dict.__getitem__(backend_dict, account), region)
            for account, regions in backends.get(service, {}).items():
                account_backends = backend_dict[account]
                for region, backend in regions.items():
                    if service == "iam":
                        fresh = previous.get((account, region))
                        if fresh is None:
                            fresh = account_backends[region]  # moto makes a fresh one
                        _iam_rejoin(backend, fresh)
                    dict.__setitem__(account_backends, region, backend)
        plane.state.clear()
        plane.state.update(plane_state)
        now = plane.now()
        if clock > now:
            plane.clock.advance(clock - now)
        plane.dirty = False


# --- hand-in files (data only) --------------------------------------------------------------

def export_bytes(plane: ControlPlane) -> bytes:
    """The sandbox as a hand-in file. A service that cannot be written is left out (logged)."""
    services = list(SERVICES)
    skipped: list[str] = []
    with plane.lock:
        while True:
            with state_graph(plane, tuple(services)) as root:
                try:
                    data = handin.dumps({"moto": moto_version(), "saved": time.time(),
                                         "services": sorted(root["backends"])}, root)
                    break
                except handin.UnencodableError as exc:
                    culprit = _unencodable_service(root["backends"], exc)
                    skipped.append(f"{culprit}: {exc}")
            services.remove(culprit)
    if skipped:
        log.warning("not exported: %s", "; ".join(skipped))
    return data


def _unencodable_service(backends: dict[str, Any], exc: Exception) -> str:
    for service, accounts in backends.items():
        try:
            handin.encode_graph(accounts)
        except handin.UnencodableError:
            return service
    raise exc  # not in any one service (the plane's own state): nothing to leave out


def read_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    """A hand-in file's checked header, and the rest of its bytes."""
    if isinstance(data, bytes | bytearray) and bytes(data[:len(MAGIC)]) == MAGIC:
        raise StateFileError("it is an old cloudkata state file (a pickle), which cannot be "
                             "imported safely; export it again with this cloudkata")
    return handin.read_header(data, moto_version())


def import_bytes(plane: ControlPlane, data: bytes) -> dict[str, Any]:
    """Replace everything in the sandbox with a hand-in file's state; returns its header.

    The whole file is decoded and checked first, outside the lock: a bad file raises
    StateFileError and leaves the sandbox exactly as it was.
    """
    read_header(data)  # the old-format message, before the generic one
    header, root = handin.loads(data, moto_version(), check=_checked)
    _install(plane, root["backends"], root["plane"], root["clock"])
    return header


def _checked(root: Any, header: dict[str, Any]) -> dict[str, Any]:
    """The file's graph, once checked to have the shape a sandbox needs (any slip in here is
    turned into a StateFileError by :func:`handin.loads`)."""
    from moto.backends import get_backend

    if type(root) is not dict or set(root) != {"backends", "plane", "clock"}:
        raise StateFileError("its contents are not a sandbox")
    backends, plane_state, clock = root["backends"], root["plane"], root["clock"]
    if type(plane_state) is not dict or not all(type(k) is str for k in plane_state):
        raise StateFileError("its control-plane state is damaged")
    if type(clock) not in (int, float) or not math.isfinite(clock) or \
            clock > time.time() + MAX_CLOCK_AHEAD:
        raise StateFileError("its clock is damaged")
    if type(backends) is not dict or set(backends) != set(header["services"]) or \
            not set(backends) <= set(SERVICES):
        raise StateFileError("its services do not match its header")
    for service, accounts in backends.items():
        expected = get_backend(service).backend
        if type(accounts) is not dict:
            raise StateFileError(f"its {service} state is damaged")
        for account, regions in accounts.items():
            if type(account) is not str or not _ACCOUNT.fullmatch(account) or \
                    type(regions) is not dict:
                raise StateFileError(f"its {service} state is damaged")
            for region, backend in regions.items():
                if type(region) is not str or not _REGION.fullmatch(region) or \
                        type(backend) is not expected or \
                        _attributes(backend).get("account_id") != account:
                    raise StateFileError(f"its {service} state is damaged")
                if service in CHECK:
                    CHECK[service](backend)
                if service in REVIVE:
                    REVIVE[service](backend)
    return root


# --- crash snapshot (pickle; only ever the user's own file) -------------------------------------

def snapshot(plane: ControlPlane) -> bytes:
    """Everything in the sandbox as a crash snapshot (call under the plane's lock)."""
    with state_graph(plane) as root:
        data, skipped = _dumps_dropping_failures(root["backends"])
        services = sorted(set(root["backends"]) - {s.split(":")[0] for s in skipped})
        payload = {"backends": data, "plane": plane.state, "clock": root["clock"]}
        blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    if skipped:
        log.warning("not saved: %s", "; ".join(skipped))
    header = {"format": FORMAT, "moto": moto_version(), "saved": time.time(),
              "services": services}
    return MAGIC + json.dumps(header).encode() + b"\n" + blob


def _dumps_dropping_failures(backends: dict[str, Any]) -> tuple[bytes, list[str]]:
    """Pickle all backends together; a service that cannot be pickled is left out alone."""
    skipped: list[str] = []
    backends = dict(backends)
    while True:
        try:
            return pickle.dumps(backends, protocol=pickle.HIGHEST_PROTOCOL), skipped
        except Exception:  # noqa: BLE001 - find the culprit, keep the rest
            for service in list(backends):
                try:
                    pickle.dumps(backends[service], protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:  # noqa: BLE001
                    skipped.append(f"{service}: {exc}")
                    del backends[service]
                    break
            else:
                raise


def save(plane: ControlPlane, path: Path) -> None:
    """Write the crash snapshot (atomically; mkstemp makes it 0600, only the user reads it)."""
    with plane.lock:
        data = snapshot(plane)
        plane.dirty = False
    write_bytes(path, data)
    os.chmod(path, 0o600)  # in case an older cloudkata left a wider mode on the name


def _read_own_file(path: Path) -> bytes:
    """The file's bytes, if this user owns it and nobody else may write it (no symlinks)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            raise StateFileError("it does not belong to you")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise StateFileError("others may write it")
        return handle.read()


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big object graph is built (or dropped)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def restore_snapshot(plane: ControlPlane, data: bytes) -> None:
    """Put back a crash snapshot or checkpoint (our own bytes; call under the plane's lock)."""
    if not data.startswith(MAGIC):
        raise StateFileError("it is not a cloudkata sandbox state file")
    line, _, rest = data[len(MAGIC):].partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        raise StateFileError("its header is damaged") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StateFileError("it has another format than this cloudkata's")
    if header.get("moto") != moto_version():
        raise StateFileError(f"it was saved with moto {header.get('moto')!s:.40}, this "
                             f"sandbox runs moto {moto_version()}")
    try:
        with _no_gc():  # millions of new objects would set off full collections midway
            payload = pickle.loads(rest)  # our own file, checked by _read_own_file
            backends = pickle.loads(payload["backends"])
        for service, accounts in backends.items():
            for regions in accounts.values():
                for backend in regions.values():
                    if service in REVIVE:
                        REVIVE[service](backend)
    except Exception as exc:  # noqa: BLE001 - any damage is one sentence
        raise StateFileError(f"it cannot be read ({type(exc).__name__})") from None
    with _no_gc():
        _install(plane, backends, payload.get("plane", {}), float(payload.get("clock", 0.0)))


def load_file(plane: ControlPlane, path: Path) -> str | None:
    """Restore from ``path`` if it exists. A bad file is moved aside; returns a warning."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        restore_snapshot(plane, _read_own_file(path))
    except (StateFileError, OSError) as exc:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.replace(aside)
        return (f"The saved sandbox state could not be restored: {exc}. It was moved to "
                f"{aside}; the sandbox starts empty.")
    return None
