"""The sandbox answers the learner's programs, never a web page, and never hangs on a request.

Each test here is a finding from trying the sandbox as an attacker would: a page in the
learner's browser sending "simple" cross-origin requests to 127.0.0.1, a DNS-rebinding page,
a caller without the token, and control requests with numbers that used to hang the sandbox.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from pathlib import Path

import boto3
import pytest

from cloudkata.sandbox import manager
from cloudkata.sandbox.control import Clock, ControlPlane, api, guard, wsgi
from cloudkata.targets import Target
from tests.conftest import TRUST_ECS_TASKS


def _send(endpoint: str, method: str, path: str, body: bytes = b"",
          headers: dict[str, str] | None = None) -> tuple[int, dict]:
    parts = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(payload or b"{}")
    except ValueError:
        return response.status, {"raw": payload.decode(errors="replace")}


def _token(endpoint: str) -> dict[str, str]:
    headers = manager.control_headers(endpoint)
    assert headers, "the test's sandbox wrote no token"
    return headers


def _iam(endpoint: str):  # noqa: ANN202 - a boto3 client
    return boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def test_a_cross_origin_simple_post_to_a_control_route_is_refused_and_writes_nothing(
        sandbox: Target, tmp_path: Path) -> None:
    victim = tmp_path / "written-by-a-web-page"
    body = json.dumps({"path": str(victim)}).encode()
    status, answer = _send(sandbox.endpoint_url, "POST", "/cloudkata/export", body,
                           {"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert status == 403 and "browser" in answer["message"]
    assert not victim.exists()


def test_a_browser_request_without_origin_is_refused_too(sandbox: Target) -> None:
    """A no-cors GET carries no Origin, but every current browser sends Sec-Fetch-*."""
    status, _ = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock",
                      headers={"Sec-Fetch-Mode": "no-cors", **_token(sandbox.endpoint_url)})
    assert status == 403


def test_a_web_page_cannot_call_the_aws_api_either(sandbox: Target) -> None:
    form = ("Action=CreateRole&Version=2010-05-08&RoleName=from-a-page"
            "&AssumeRolePolicyDocument=" + urllib.parse.quote(TRUST_ECS_TASKS)).encode()
    status, _ = _send(sandbox.endpoint_url, "POST", "/", form,
                      {"Content-Type": "application/x-www-form-urlencoded",
                       "Origin": "http://evil.example"})
    assert status == 403
    assert _iam(sandbox.endpoint_url).list_roles()["Roles"] == []


def test_dns_rebinding_host_is_refused(sandbox: Target) -> None:
    port = urllib.parse.urlsplit(sandbox.endpoint_url).port
    status, answer = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock",
                           headers={"Host": f"rebind.evil.example:{port}",
                                    **_token(sandbox.endpoint_url)})
    assert status == 403 and "127.0.0.1" in answer["message"]
    status, _ = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock",
                      headers={"Host": f"localhost:{port + 1}", **_token(sandbox.endpoint_url)})
    assert status == 403
    status, _ = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock",
                      headers={"Host": f"localhost:{port}", **_token(sandbox.endpoint_url)})
    assert status == 200


def test_control_routes_need_the_token(sandbox: Target) -> None:
    status, answer = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock")
    assert status == 403 and "token" in answer["message"]
    status, _ = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock",
                      headers={guard.TOKEN_HEADER: "guessed"})
    assert status == 403
    status, _ = _send(sandbox.endpoint_url, "GET", "/cloudkata/clock",
                      headers=_token(sandbox.endpoint_url))
    assert status == 200


def test_moto_reset_needs_the_token(sandbox: Target) -> None:
    iam = _iam(sandbox.endpoint_url)
    iam.create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    status, _ = _send(sandbox.endpoint_url, "POST", "/moto-api/reset")
    assert status == 403
    assert [role["RoleName"] for role in iam.list_roles()["Roles"]] == ["kept"]


def test_the_health_route_stays_open_for_status(sandbox: Target) -> None:
    status, answer = _send(sandbox.endpoint_url, "GET", "/cloudkata/health")
    assert status == 200 and answer["name"] == "cloudkata-sandbox"


def test_a_control_body_must_be_json(sandbox: Target) -> None:
    status, answer = _send(sandbox.endpoint_url, "POST", "/cloudkata/clock",
                           json.dumps({"advance": 1}).encode(),
                           {"Content-Type": "text/plain", **_token(sandbox.endpoint_url)})
    assert status == 403 and "JSON" in answer["message"]


def test_the_token_file_is_private(sandbox_info: manager.SandboxInfo) -> None:
    from cloudkata import locations

    mode = locations.sandbox_state_file().stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)


@pytest.mark.parametrize("arguments", [
    {"advance": 10, "step": 0},
    {"advance": 10, "step": -1},
    {"advance": -5},
    {"advance": "ten"},
    {"advance": True},
    {"advance": 1e300},
    {"advance": 86400, "step": 0.001},
    {"speed": -1},
    {"speed": 1e9},
])
def test_bad_clock_numbers_answer_at_once(sandbox: Target, arguments: dict) -> None:
    started = time.monotonic()
    status, answer = _send(sandbox.endpoint_url, "POST", "/cloudkata/clock",
                           json.dumps(arguments).encode(),
                           {"Content-Type": "application/json", **_token(sandbox.endpoint_url)})
    assert status == 400, answer
    assert answer["message"].endswith(".") and "\n" not in answer["message"]
    assert time.monotonic() - started < 5


def test_nan_and_infinity_are_refused(sandbox: Target) -> None:
    """Python's json reads NaN and Infinity; they must not reach the clock."""
    for literal in (b'{"advance": NaN}', b'{"advance": Infinity}', b'{"speed": NaN}'):
        status, _ = _send(sandbox.endpoint_url, "POST", "/cloudkata/clock", literal,
                          {"Content-Type": "application/json",
                           **_token(sandbox.endpoint_url)})
        assert status == 400


def test_the_sandbox_still_answers_after_bad_clock_requests(sandbox: Target) -> None:
    with pytest.raises(manager.SandboxRequestError, match="step"):
        manager._post(sandbox.endpoint_url, "/cloudkata/clock", {"advance": 10, "step": 0})
    before = manager.clock(sandbox.endpoint_url)
    assert before is not None
    assert manager.advance(sandbox.endpoint_url, 30) == pytest.approx(before["now"] + 30)


def _environ(path: str, token: str, port: int, method: str = "GET") -> dict:
    import io

    return {"PATH_INFO": path, "REQUEST_METHOD": method, "HTTP_HOST": f"127.0.0.1:{port}",
            "HTTP_X_CLOUDKATA_TOKEN": token, "wsgi.input": io.BytesIO(b""),
            "CONTENT_LENGTH": "0"}


def test_a_control_request_answers_busy_when_the_plane_is_held(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A request stuck holding the plane's lock cannot make control requests hang."""
    monkeypatch.setattr(wsgi, "CONTROL_TIMEOUT", 0.2)
    plane = ControlPlane(Clock(speed=0, start=1000.0))
    app = wsgi.ControlMiddleware(lambda environ, start: [b""], plane)
    app.port = 4599
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with plane.lock:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    statuses: list[str] = []
    try:
        started = time.monotonic()
        body = b"".join(app(_environ("/cloudkata/clock", app.token, 4599),
                            lambda status, headers: statuses.append(status)))
        assert time.monotonic() - started < 2
    finally:
        release.set()
        holder.join()
    assert statuses[0].startswith("503") and b"busy" in body


def test_a_failing_control_route_is_one_json_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(plane: ControlPlane, arguments: dict) -> api.Response:
        raise KeyError("oops")

    monkeypatch.setitem(api.CONTROL, ("GET", "/cloudkata/broken"), broken)
    app = wsgi.ControlMiddleware(lambda environ, start: [b""], ControlPlane(Clock(speed=0)))
    app.port = 4599
    statuses: list[str] = []
    body = b"".join(app(_environ("/cloudkata/broken", app.token, 4599),
                        lambda status, headers: statuses.append(status)))
    assert statuses[0].startswith("500")
    assert "KeyError" in json.loads(body)["message"]


def test_a_moto_crash_is_aws_shaped_never_html(sandbox: Target) -> None:
    """moto 5.2.5 has no ListServiceDeployments (NotImplementedError); whatever moto does,
    the aws CLI must get an answer it can parse."""
    from botocore.exceptions import ClientError

    ecs = boto3.client("ecs", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    try:
        ecs.list_service_deployments(service="web")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InternalFailure"
        assert "sandbox.log, ref" in exc.response["Error"]["Message"]


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_an_exception_or_html_page_from_moto_becomes_internal_failure(protocol: str) -> None:
    import io

    def crashing(environ: dict, start: object) -> list[bytes]:
        raise RuntimeError("moto bug")

    def html(environ: dict, start) -> list[bytes]:  # noqa: ANN001
        start("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html; charset=utf-8")])
        return [b"<!doctype html><title>500 Internal Server Error</title>"]

    for moto_app in (crashing, html):
        app = wsgi.ControlMiddleware(moto_app, ControlPlane(Clock(speed=0)))
        app.port = 4599
        service = "ecs" if protocol == "json" else "iam"
        environ = {"PATH_INFO": "/", "REQUEST_METHOD": "POST", "HTTP_HOST": "127.0.0.1:4599",
                   "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/"
                                         f"{service}/aws4_request, SignedHeaders=host",
                   "wsgi.input": io.BytesIO(b"{}" if protocol == "json" else b"Action=ListRoles"),
                   "CONTENT_LENGTH": "2" if protocol == "json" else "15"}
        if protocol == "json":
            environ["HTTP_X_AMZ_TARGET"] = "AmazonEC2ContainerServiceV20141113.ListClusters"
        statuses: list[str] = []
        body = b"".join(app(environ, lambda status, _, seen=statuses: seen.append(status)))
        assert statuses[0].startswith("500")
        assert b"InternalFailure" in body and b"html" not in body.lower()
