"""Who may talk to the sandbox: the learner's own programs, never a web page.

The sandbox listens on 127.0.0.1, and a learner's browser runs on the same machine. Any page
it opens could send requests there: a "simple" cross-origin POST needs no preflight, and a
DNS-rebinding page even reads the answers. So, for every request:

- a request that carries ``Origin`` or ``Sec-Fetch-*`` headers comes from a browser and is
  refused (botocore, the aws CLI and urllib never send them);
- the ``Host`` must name the loopback address and the sandbox's own port (DNS rebinding makes
  a page's requests carry the attacker's host name);
- our control routes (``/cloudkata/*`` but health, and moto's ``/moto-api/*``) also need the
  random token the sandbox wrote, mode 0600, beside its pid file, and a JSON body when they
  have one.

Each refusal is a 403 with one sentence; nothing is read or changed.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

TOKEN_HEADER = "X-Cloudkata-Token"
_TOKEN_ENVIRON = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
MAX_CONTROL_BODY = 96 * 1024 * 1024
"""An import carries a hand-in file (≤64 MiB) as base64 inside JSON."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _host_ok(host: str, port: int | None) -> bool:
    name, sep, given_port = host.rpartition(":")
    if not sep:
        return False
    name = name.lower()
    if name not in LOOPBACK_HOSTS and not name.endswith(".localhost"):
        return False
    return port is None or given_port == str(port)


def refusal(environ: dict[str, Any], *, port: int | None) -> str | None:
    """Why any request must be refused before it reaches moto or a control route, or None."""
    if environ.get("HTTP_ORIGIN") is not None or any(
            key.startswith("HTTP_SEC_FETCH_") for key in environ):
        return ("The sandbox does not answer web pages: requests from a browser (with an "
                "Origin header) are refused.")
    host = environ.get("HTTP_HOST", "")
    if not _host_ok(host, port):
        return (f"The sandbox only answers requests addressed to 127.0.0.1, localhost or [::1] "
                f"on its own port, not to {host or 'no host'!r}.")
    return None


def control_refusal(environ: dict[str, Any], token: str | None, body: bytes) -> str | None:
    """Why a control request must be refused (missing token, non-JSON body), or None."""
    given = environ.get(_TOKEN_ENVIRON, "")
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return ("The sandbox's control routes need its token (cloudkata sends it; it is in "
                "the sandbox's pid file, readable only by you).")
    if body or environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if body and content_type != "application/json":
            return (f"The sandbox's control routes take JSON (Content-Type: application/json), "
                    f"not {content_type or 'an untyped body'}.")
    return None
