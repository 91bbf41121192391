"""The WSGI layer in front of moto: parse, lock, reconcile, hook, answer."""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from . import api
from .backends import DEFAULT_ACCOUNT
from .plane import ControlPlane, Request, log

HEALTH_PATH = "/cloudkata/health"
IDENTITY = "cloudkata-sandbox"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")
STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
               400: "Bad Request", 404: "Not Found", 409: "Conflict", 500: "Server Error"}

StartResponse = Callable[..., Any]


def parse_request(environ: dict[str, Any], body: bytes) -> Request:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL.search(auth)
    service, region = (match.group(3), match.group(2)) if match else ("", "us-east-1")
    access_key = match.group(1) if match else ""
    account = access_key if re.fullmatch(r"\d{12}", access_key) else DEFAULT_ACCOUNT
    params: dict[str, Any] = {}
    action = ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    content_type = environ.get("CONTENT_TYPE", "")
    if target:
        action = target.rsplit(".", 1)[-1]
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
    elif "json" in content_type and body:
        try:
            params = json.loads(body)
        except ValueError:
            params = {}
    else:
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        form |= parse_qs(environ.get("QUERY_STRING", ""))
        params = {key: values[0] if len(values) == 1 else values for key, values in form.items()}
        action = str(params.get("Action", ""))
    return Request(service=service, action=action, region=region, account_id=account,
                   method=environ.get("REQUEST_METHOD", "GET"),
                   path=environ.get("PATH_INFO", "/"), params=params,
                   json=bool(target) or "json" in content_type)


def _respond(start_response: StartResponse, response: api.Response) -> list[bytes]:
    payload = response.encoded()
    reason = STATUS_TEXT.get(response.status, "OK")
    headers = [("Content-Type", response.content_type),
               ("Content-Length", str(len(payload))), *response.headers.items()]
    start_response(f"{response.status} {reason}", headers)
    return [payload]


class ControlMiddleware:
    """moto's app, with the control plane reconciling around every request."""

    def __init__(self, moto_app: Any, plane: ControlPlane,
                 on_change: Callable[[], None] | None = None) -> None:
        self.moto_app = moto_app
        self.plane = plane
        self.on_change = on_change
        self.started = time.time()
        self.warning: str | None = None
        """Set at start-up when saved state could not be restored; shown by the CLI."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path == HEALTH_PATH:
            return _respond(start_response, api.Response(200, {
                "name": IDENTITY, "pid": os.getpid(), "started": self.started,
                "clock": self.plane.now(), "speed": self.plane.clock.speed,
                "warning": self.warning}))
        if path.startswith("/cloudkata/"):
            return self._control(environ, path, body, start_response)
        if path.startswith("/moto-api/"):
            with self.plane.lock:
                result = list(self.moto_app(environ, start_response))
                if path.startswith("/moto-api/reset"):
                    self.plane.reset()
                    self._changed()
            return result
        request = parse_request(environ, body)
        with self.plane.lock:
            self.plane.reconcile()
            for matcher, hook in api.BEFORE:
                if matcher.matches(request):
                    try:
                        answer = hook(self.plane, request)
                    except Exception as exc:  # noqa: BLE001 - an AWS-shaped error, not HTML
                        log.exception("hook %s failed", getattr(hook, "__qualname__", hook))
                        failure = api.aws_error if request.json else api.query_error
                        answer = failure("InternalFailure",
                                         f"The cloudkata sandbox failed: {exc}", 500)
                    if answer is not None:
                        if request.mutating:
                            self.plane.reconcile()
                            self._changed()
                        return _respond(start_response, answer)
            captured: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
                captured["status"], captured["headers"] = status, headers
                return start_response(status, headers, *exc)

            payload = b"".join(self.moto_app(environ, capture))
            ok = captured.get("status", "500").startswith("2")
            if ok:
                parsed: Any = None
                for matcher, after_hook in api.AFTER:
                    if matcher.matches(request):
                        if parsed is None:
                            parsed = _parse_body(payload)
                        try:
                            after_hook(self.plane, request, parsed)
                        except Exception:  # noqa: BLE001 - moto's answer still stands
                            log.exception("after-hook %s failed",
                                          getattr(after_hook, "__qualname__", after_hook))
            if request.mutating:
                self.plane.reconcile()
                self._changed()
            return [payload]

    def _changed(self) -> None:
        self.plane.dirty = True
        if self.on_change:
            self.on_change()

    def _control(self, environ: dict[str, Any], path: str, body: bytes,
                 start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        hook = api.CONTROL.get((method, path))
        if hook is None:
            return _respond(start_response, api.Response(404, {"message": f"no route {path}"}))
        try:
            arguments = json.loads(body) if body else {}
        except ValueError:
            return _respond(start_response, api.Response(400, {"message": "body is not JSON"}))
        with self.plane.lock:
            self.plane.reconcile()  # answer from state as of now
            response = hook(self.plane, arguments)
            if method != "GET":
                self.plane.reconcile()
                self._changed()
        return _respond(start_response, response)


def _parse_body(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")


@api.control("GET", "/cloudkata/clock")
def _clock_get(plane: ControlPlane, _: dict[str, Any]) -> api.Response:
    return api.Response(200, {"now": plane.now(), "speed": plane.clock.speed})


@api.control("POST", "/cloudkata/clock")
def _clock_post(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """``{"advance": seconds}`` jumps ahead; ``{"speed": x}`` changes the pace."""
    if "speed" in arguments:
        plane.clock.set_speed(float(arguments["speed"]))
    if "advance" in arguments:
        seconds = float(arguments["advance"])
        step = float(arguments.get("step", 5.0))
        # advance in steps so time-driven rules (boot, health, alarms) fire in order
        while seconds > 0:
            plane.clock.advance(min(step, seconds))
            seconds -= step
            plane.reconcile()
    return api.Response(200, {"now": plane.now(), "speed": plane.clock.speed})
