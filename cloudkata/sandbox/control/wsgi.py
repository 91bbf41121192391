"""The WSGI layer in front of moto: parse, lock, reconcile, hook, answer."""

from __future__ import annotations

import io
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from . import api, guard
from .backends import DEFAULT_ACCOUNT
from .plane import ControlPlane, Request, log

HEALTH_PATH = "/cloudkata/health"
IDENTITY = "cloudkata-sandbox"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")
STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
               400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               413: "Payload Too Large", 500: "Server Error", 503: "Service Unavailable"}
CONTROL_TIMEOUT = 5.0
"""Seconds a control request may wait for the plane's lock before it answers "busy"."""

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
                 on_change: Callable[[], None] | None = None,
                 token: str | None = None) -> None:
        self.moto_app = moto_app
        self.plane = plane
        self.on_change = on_change
        self.token = token or guard.new_token()
        """Control routes need it; the server writes it (0600) beside its pid."""
        self.port: int | None = None
        """The port the server listens on; requests addressed elsewhere are refused."""
        self.started = time.time()
        self.warning: str | None = None
        """Set at start-up when saved state could not be restored; shown by the CLI."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        why = guard.refusal(environ, port=self.port)
        if why:
            return _respond(start_response, api.Response(403, {"message": why}))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= guard.MAX_CONTROL_BODY:
            return _respond(start_response, api.Response(413, {
                "message": "The request body is larger than the sandbox accepts."}))
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path == HEALTH_PATH:
            return _respond(start_response, api.Response(200, {
                "name": IDENTITY, "pid": os.getpid(), "started": self.started,
                "clock": self.plane.now(), "speed": self.plane.clock.speed,
                "warning": self.warning}))
        if path.startswith(("/cloudkata/", "/moto-api/")):
            why = guard.control_refusal(environ, self.token, body)
            if why:
                return _respond(start_response, api.Response(403, {"message": why}))
        if path.startswith("/cloudkata/"):
            return self._control(environ, path, body, start_response)
        if path.startswith("/moto-api/"):
            if not self.plane.lock.acquire(timeout=CONTROL_TIMEOUT):
                return _respond(start_response, _busy())
            try:
                result = list(self.moto_app(environ, start_response))
                if path.startswith("/moto-api/reset"):
                    self.plane.reset()
                    self._changed()
            finally:
                self.plane.lock.release()
            return result
        request = parse_request(environ, body)
        with self.plane.lock:
            self.plane.catch_up()
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
            written: list[bytes] = []

            def capture(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
                captured["status"], captured["headers"] = status, headers
                return written.append

            try:
                answer_body = b"".join(self.moto_app(environ, capture))
            except Exception as exc:  # noqa: BLE001 - AWS's shape, never an HTML page
                return _respond(start_response, _internal_failure(request, exc))
            payload = b"".join(written) + answer_body
            status = captured.get("status", "500 Server Error")
            headers = captured.get("headers", [])
            if status.startswith("5") and "html" in dict(
                    (k.lower(), v) for k, v in headers).get("content-type", ""):
                return _respond(start_response, _internal_failure(request, None))
            start_response(status, headers)
            ok = status.startswith("2")
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
        if not isinstance(arguments, dict):
            return _respond(start_response, api.Response(
                400, {"message": "The body must be a JSON object."}))
        if not self.plane.lock.acquire(timeout=CONTROL_TIMEOUT):
            return _respond(start_response, _busy())
        try:
            self.plane.catch_up()  # answer from state as of now
            response = hook(self.plane, arguments)
            if method != "GET":
                self.plane.reconcile()
                self._changed()
        except api.ControlError as exc:
            response = api.Response(exc.status, {"message": str(exc)})
            if method != "GET":
                self._changed()  # e.g. a partial advance still moved the clock
        except Exception as exc:  # noqa: BLE001 - one sentence, never an HTML page
            log.exception("control route %s %s failed", method, path)
            response = api.Response(500, {"message": f"The sandbox failed on {path} "
                                          f"({type(exc).__name__}); its log has the details."})
        finally:
            self.plane.lock.release()
        return _respond(start_response, response)


def _internal_failure(request: Request, exc: Exception | None) -> api.Response:
    """moto failed: AWS's InternalFailure, with a reference to find the traceback in the log."""
    reference = uuid.uuid4().hex[:8]
    what = f"{request.service or 'unknown service'} {request.action or request.path}"
    if exc is None:
        log.error("moto answered an HTML error to %s [ref %s]", what, reference)
    else:
        log.error("moto failed on %s [ref %s]", what, reference, exc_info=exc)
    message = (f"The cloudkata sandbox failed on {what} (sandbox.log, ref {reference}); "
               "this is the sandbox's fault, not yours.")
    failure = api.aws_error if request.json else api.query_error
    return failure("InternalFailure", message, 500)


def _busy() -> api.Response:
    return api.Response(503, {"message": f"The sandbox is busy: another request held it for "
                                         f"{CONTROL_TIMEOUT:.0f} s. Try again in a moment."})


def _parse_body(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")


@api.control("GET", "/cloudkata/clock")
def _clock_get(plane: ControlPlane, _: dict[str, Any]) -> api.Response:
    return api.Response(200, {"now": plane.now(), "speed": plane.clock.speed})


MAX_ADVANCE = 30 * 24 * 3600.0
"""One request moves the clock at most 30 simulated days."""
MAX_STEPS = 20_000
"""Reconciliations one advance may run; a smaller step for a long advance is refused."""
MAX_SPEED = 1000.0


@api.control("POST", "/cloudkata/clock")
def _clock_post(plane: ControlPlane, arguments: dict[str, Any]) -> api.Response:
    """``{"advance": seconds, "step"?: seconds}`` jumps ahead; ``{"speed": x}`` sets the pace.

    Every number is checked first, so a request either does all it asks or nothing; the
    advance stops at the control time limit and says how far it got.
    """
    speed = api.number(arguments, "speed", minimum=0, maximum=MAX_SPEED)
    seconds = api.number(arguments, "advance", minimum=0, maximum=MAX_ADVANCE)
    step = api.number(arguments, "step", minimum=0, maximum=MAX_ADVANCE, exclusive=True,
                      default=5.0)
    assert step is not None
    if seconds is not None and seconds / step > MAX_STEPS:
        raise api.ControlError(f"Advancing {seconds:g} s in steps of {step:g} s would take "
                               f"{seconds / step:,.0f} steps; use a step of at least "
                               f"{seconds / MAX_STEPS:g} s.")
    if speed is not None:
        plane.clock.set_speed(speed)
    if seconds:
        deadline = time.monotonic() + CONTROL_TIMEOUT - 0.5
        left = seconds
        # advance in steps so time-driven rules (boot, health, alarms) fire in order
        while left > 0:
            plane.clock.advance(min(step, left))
            left -= step
            plane.reconcile()
            if left > 0 and time.monotonic() > deadline:
                raise api.ControlError(
                    f"The sandbox advanced its clock {seconds - left:g} of {seconds:g} s before "
                    f"the {CONTROL_TIMEOUT:.0f} s limit; advance again for the rest.", 503)
    return api.Response(200, {"now": plane.now(), "speed": plane.clock.speed})
