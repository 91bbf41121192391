"""Hooks into the request path: answer APIs moto lacks, observe what moto drops.

- ``@before(service, action=..., method=..., path=...)``: runs before moto; return a
  :class:`Response` to answer the request yourself (EKS add-ons, Application Auto Scaling's
  DescribeScalingActivities), or None to let moto answer.
- ``@after(service, action=...)``: runs after moto answered with 2xx; sees the request and
  moto's parsed JSON/XML body, e.g. to keep CreateService's deploymentConfiguration.
- ``@control(method, path)``: our own ``/cloudkata/...`` routes (clock, load, snapshot).
All run under the control plane's lock.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from .plane import ControlPlane, Request


@dataclass
class Response:
    status: int = 200
    body: Any = field(default_factory=dict)
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, default=str).encode()


class ControlError(Exception):
    """A control request that cannot be done; the message is one sentence for the caller."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def number(arguments: dict[str, Any], name: str, *, minimum: float, maximum: float,
           exclusive: bool = False, default: float | None = None) -> float | None:
    """A finite number argument within bounds, or ``default`` when absent; else ControlError."""
    if name not in arguments:
        return default
    value = arguments[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(f'"{name}" must be a finite number, not {json.dumps(value)[:40]}.')
    low_ok = value > minimum if exclusive else value >= minimum
    if not low_ok or value > maximum:
        low = f"more than {minimum:g}" if exclusive else f"at least {minimum:g}"
        raise ControlError(f'"{name}" must be {low} and at most {maximum:g}, not {value:g}.')
    return float(value)


def aws_error(code: str, message: str, status: int = 400,
              content_type: str = "application/x-amz-json-1.1") -> Response:
    """An error in the JSON protocols' shape (botocore reads __type and message)."""
    return Response(status, {"__type": code, "message": message, "Message": message},
                    content_type, {"x-amzn-ErrorType": code})


def query_error(code: str, message: str, status: int = 400) -> Response:
    """An error in the query (XML) protocol's shape: IAM, EC2, ELBv2, Auto Scaling."""
    body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
            f'<Message>{escape(message)}</Message></Error><RequestId>cloudkata</RequestId>'
            f'</ErrorResponse>')
    return Response(status, body, "text/xml")


BeforeHook = Callable[[ControlPlane, Request], Response | None]
AfterHook = Callable[[ControlPlane, Request, Any], None]
ControlHook = Callable[[ControlPlane, dict[str, Any]], Response]


@dataclass(frozen=True)
class _Match:
    service: str
    action: str | None
    method: str | None
    path: re.Pattern[str] | None

    def matches(self, request: Request) -> bool:
        if request.service != self.service:
            return False
        if self.action is not None and request.action != self.action:
            return False
        if self.method is not None and request.method != self.method:
            return False
        return not (self.path is not None and not self.path.fullmatch(request.path))


BEFORE: list[tuple[_Match, BeforeHook]] = []
AFTER: list[tuple[_Match, AfterHook]] = []
CONTROL: dict[tuple[str, str], ControlHook] = {}


def _match(service: str, action: str | None, method: str | None, path: str | None) -> _Match:
    return _Match(service, action, method, re.compile(path) if path else None)


def before(service: str, *, action: str | None = None, method: str | None = None,
           path: str | None = None) -> Callable[[BeforeHook], BeforeHook]:
    def register(hook: BeforeHook) -> BeforeHook:
        BEFORE.append((_match(service, action, method, path), hook))
        return hook

    return register


def after(service: str, *, action: str | None = None, method: str | None = None,
          path: str | None = None) -> Callable[[AfterHook], AfterHook]:
    def register(hook: AfterHook) -> AfterHook:
        AFTER.append((_match(service, action, method, path), hook))
        return hook

    return register


def control(method: str, path: str) -> Callable[[ControlHook], ControlHook]:
    def register(hook: ControlHook) -> ControlHook:
        CONTROL[(method, path)] = hook
        return hook

    return register
