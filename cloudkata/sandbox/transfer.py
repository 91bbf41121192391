"""Export and import over the connection: the sandbox never opens a path a request names.

``GET /cloudkata/export`` answers the hand-in file's bytes (base64 in JSON, with its
services); ``POST /cloudkata/import`` takes them the same way. The CLI reads and writes the
file on the learner's side, so a request can neither make the sandbox write a file anywhere
the user may write nor read one it should not. The bytes are the data-only hand-in format
(:mod:`cloudkata.sandbox.handin`): an import validates the whole file before it touches the
running state.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from . import persistence
from .control import ControlPlane, api


@api.control("GET", "/cloudkata/export")
def _export(plane: ControlPlane, _: dict[str, Any]) -> api.Response:
    data = persistence.export_bytes(plane)
    header, _rest = persistence.read_header(data)
    return api.Response(200, {"data": base64.b64encode(data).decode("ascii"),
                              "bytes": len(data), "services": header["services"]})


@api.control("POST", "/cloudkata/import")
def _import(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    encoded = arguments.get("data")
    if not isinstance(encoded, str):
        raise api.ControlError('Send the file as {"data": "<base64>"}.')
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise api.ControlError("The file's bytes were not valid base64.") from None
    try:
        header = persistence.import_bytes(plane, data)
    except persistence.StateFileError as exc:
        raise api.ControlError(f"The file cannot be imported: {exc}.") from None
    plane.dirty = True
    return api.Response(200, {"services": header["services"], "bytes": len(data)})


# --- checkpoints: a named in-memory snapshot, for trying a change and taking it back -----------

MAX_CHECKPOINTS = 4
"""Checkpoints are whole-sandbox pickles held in memory; a few are all an author needs."""


def _checkpoint_name(arguments: dict[str, Any]) -> str:
    name = arguments.get("name")
    if not isinstance(name, str) or not name or len(name) > 64:
        raise api.ControlError('Name the checkpoint: {"name": "<at most 64 characters>"}.')
    return name


@api.control("POST", "/cloudkata/checkpoint")
def _checkpoint_save(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """Keep the whole state under a name (dev check: before it applies a mistake)."""
    name = _checkpoint_name(arguments)
    saved = plane.checkpoints
    if name not in saved and len(saved) >= MAX_CHECKPOINTS:
        saved.pop(next(iter(saved)))
    data = persistence.snapshot(plane)
    saved[name] = data
    return api.Response(200, {"name": name, "bytes": len(data)})


@api.control("POST", "/cloudkata/rollback")
def _checkpoint_restore(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """Put back the state kept under a name; the checkpoint stays for the next rollback."""
    name = _checkpoint_name(arguments)
    data = plane.checkpoints.get(name)
    if data is None:
        raise api.ControlError(f"There is no checkpoint named {name!r}.", status=404)
    persistence.restore_snapshot(plane, data)
    plane.dirty = True
    return api.Response(200, {"name": name})
