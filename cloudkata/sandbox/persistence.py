"""Sandbox state that survives a stop, a crash, and a trip to the instructor's machine.

moto has no persistence of its own. In the sandbox process we pickle its backends (measured:
~0.2 s for ec2, ecs, iam, elbv2) and the control plane's own state, and restore them into a
fresh process with identical ids and ARNs. AWS managed policies are left out (1,500+ of them;
IAM would weigh ~24 MB) and re-attached from the fresh backend on restore.

The file is a header line of JSON (format, moto version) and a pickle. It is read with a
restricted unpickler that only admits moto's and our own classes and plain data types, because
an exported file comes from a learner and a pickle could otherwise run code on the grader's
machine. A file that is corrupt or from another version is moved aside, never overwritten.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..atomic import write_bytes
from .control import ControlPlane, api
from .control.backends import loaded

log = logging.getLogger("cloudkata.sandbox")

FORMAT = 2  # 2: all backends in one pickle
MAGIC = b"cloudkata-sandbox-state\n"
SERVICES = (
    "iam", "sts", "ec2", "autoscaling", "ecs", "ecr", "elbv2", "applicationautoscaling",
    "cloudwatch", "logs", "eks", "efs", "fsx", "ssm", "cloudformation", "events",
)
AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


class StateFileError(ValueError):
    """The state file cannot be used; the message says why in one sentence."""


def moto_version() -> str:
    import moto

    return str(moto.__version__)


# --- per-service adjustments: what must not (or cannot) be pickled as it is -----------------

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


def _iam_rejoin(restored: Any, fresh: Any) -> None:
    """Give the restored IAM backend the fresh one's AWS managed policies, by ARN."""
    aws_policies = {arn: p for arn, p in fresh.managed_policies.items()
                    if arn.startswith(AWS_POLICY_PREFIX)}
    restored.aws_managed_policies = fresh.aws_managed_policies
    restored.managed_policies = {**aws_policies, **restored.managed_policies}
    for holder in [*restored.roles.values(), *restored.users.values(),
                   *restored.groups.values()]:
        for arn in list(getattr(holder, "managed_policies", {})):
            if arn in aws_policies:
                holder.managed_policies[arn] = aws_policies[arn]
                aws_policies[arn].attachment_count = getattr(
                    aws_policies[arn], "attachment_count", 0) + 1


def _ssm_strip(backend: Any) -> dict[str, Any]:
    saved = {"_resource_tags": backend._resource_tags}
    backend._resource_tags = {key: dict(value) for key, value in backend._resource_tags.items()}
    return saved


def _ssm_unstrip(backend: Any, saved: dict[str, Any]) -> None:
    backend._resource_tags = saved["_resource_tags"]


def _ssm_revive(backend: Any) -> None:
    tags: defaultdict[str, defaultdict[str, dict[str, str]]] = defaultdict(
        lambda: defaultdict(dict))
    for key, value in backend._resource_tags.items():
        tags[key].update(value)
    backend._resource_tags = tags


STRIP = {"iam": (_iam_strip, _iam_unstrip), "ssm": (_ssm_strip, _ssm_unstrip)}
REVIVE = {"ssm": _ssm_revive}


# --- snapshot -----------------------------------------------------------------------------

def snapshot(plane: ControlPlane) -> bytes:
    """Everything in the sandbox, as bytes (call under the plane's lock).

    All backends go into one pickle, so references between them survive: an Auto Scaling
    group's backend points at the very EC2 backend that is restored beside it, not at a copy.
    """
    backends: dict[str, dict[str, dict[str, Any]]] = {}
    for service in SERVICES:
        for account, region, backend in loaded(service):
            backends.setdefault(service, {}).setdefault(account, {})[region] = backend
    stripped = [(STRIP[service], backend) for service, accounts in backends.items()
                if service in STRIP for regions in accounts.values()
                for backend in regions.values()]
    saved = [(unstrip, backend, strip(backend)) for (strip, unstrip), backend in stripped]
    try:
        data, skipped = _dumps_dropping_failures(backends)
    finally:
        for unstrip, backend, state in saved:
            unstrip(backend, state)
    if skipped:
        log.warning("not saved: %s", "; ".join(skipped))
    payload = {"backends": data, "plane": plane.state, "clock": plane.now()}
    header = {"format": FORMAT, "moto": moto_version(), "saved": time.time(),
              "services": sorted(set(backends) - {s.split(":")[0] for s in skipped})}
    return MAGIC + json.dumps(header).encode() + b"\n" + pickle.dumps(
        payload, protocol=pickle.HIGHEST_PROTOCOL)


def _dumps_dropping_failures(backends: dict[str, Any]) -> tuple[bytes, list[str]]:
    """Pickle all backends together; a service that cannot be pickled is left out alone."""
    skipped: list[str] = []
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
    with plane.lock:
        data = snapshot(plane)
        plane.dirty = False
    write_bytes(path, data)


# --- restore ------------------------------------------------------------------------------

SAFE_BUILTINS = frozenset({
    "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float",
    "complex", "bool", "slice", "range", "object", "NoneType", "getattr",
})
SAFE_MODULES = ("moto.", "cloudkata.", "datetime", "collections", "uuid", "decimal",
                "copyreg", "re", "enum", "zoneinfo", "dateutil.", "ipaddress", "_codecs",
                "pathlib")


class _RestrictedUnpickler(pickle.Unpickler):
    """Admit moto's and cloudkata's classes and plain data; refuse everything else."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            if name in SAFE_BUILTINS:
                return super().find_class(module, name)
        elif module.startswith(SAFE_MODULES) or module in ("moto", "re", "copyreg"):
            found = super().find_class(module, name)
            if module.startswith(("moto", "cloudkata")) and not isinstance(found, type):
                raise pickle.UnpicklingError(f"refusing function {module}.{name}")
            return found
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def _loads(data: bytes) -> Any:
    return _RestrictedUnpickler(io.BytesIO(data)).load()


def read_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC):
        raise StateFileError("it is not a cloudkata sandbox state file")
    line, _, rest = data[len(MAGIC):].partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        raise StateFileError("its header is damaged") from None
    if header.get("format") != FORMAT:
        raise StateFileError(f"it has format {header.get('format')}, this cloudkata reads "
                             f"format {FORMAT}")
    if header.get("moto") != moto_version():
        raise StateFileError(f"it was saved with moto {header.get('moto')}, this sandbox runs "
                             f"moto {moto_version()}")
    return header, rest


def restore(plane: ControlPlane, data: bytes) -> dict[str, Any]:
    """Replace the sandbox's state with the snapshot's; returns its header."""
    from moto.backends import get_backend

    header, rest = read_header(data)
    try:
        payload = _loads(rest)
        services = _loads(payload["backends"])
    except Exception as exc:  # noqa: BLE001 - any damage is one sentence
        raise StateFileError(f"it cannot be read ({type(exc).__name__}: {exc})") from None
    with plane.lock:
        for service, accounts in services.items():
            backend_dict = get_backend(service)  # type: ignore[call-overload]
            for account, regions in accounts.items():
                account_backends = backend_dict[account]
                for region, backend in regions.items():
                    if service == "iam":
                        _iam_rejoin(backend, account_backends[region])
                    if service in REVIVE:
                        REVIVE[service](backend)
                    account_backends[region] = backend
        plane.state.clear()
        plane.state.update(payload.get("plane", {}))
        now = plane.now()
        saved_clock = float(payload.get("clock", now))
        if saved_clock > now:
            plane.clock.advance(saved_clock - now)
        plane.dirty = False
    return header


def load_file(plane: ControlPlane, path: Path) -> str | None:
    """Restore from ``path`` if it exists. A bad file is moved aside; returns a warning."""
    if not path.exists():
        return None
    try:
        restore(plane, path.read_bytes())
    except (StateFileError, OSError) as exc:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.replace(aside)
        return (f"The saved sandbox state could not be restored: {exc}. It was moved to "
                f"{aside}; the sandbox starts empty.")
    return None


@api.control("POST", "/cloudkata/export")
def _export(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    path = Path(arguments["path"])
    with plane.lock:
        data = snapshot(plane)
    write_bytes(path, data)
    header, _ = read_header(data)
    return api.Response(200, {"path": str(path), "bytes": len(data),
                              "services": header["services"]})


@api.control("POST", "/cloudkata/import")
def _import(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    path = Path(arguments["path"])
    try:
        header = restore(plane, path.read_bytes())
    except OSError as exc:
        return api.Response(400, {"message": f"Cannot read {path}: {exc.strerror}."})
    except StateFileError as exc:
        return api.Response(400, {"message": f"{path} cannot be imported: {exc}."})
    plane.dirty = True
    return api.Response(200, {"path": str(path), "services": header["services"]})
