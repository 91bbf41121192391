"""The control plane core: a clock tests can advance, hooks around moto, no idle work."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest

from cloudkata.sandbox import manager
from cloudkata.sandbox.control import Clock
from cloudkata.sandbox.control.wsgi import parse_request
from cloudkata.targets import Target


def _get(endpoint: str, path: str) -> dict:
    request = urllib.request.Request(endpoint + path, headers=manager.control_headers(endpoint))
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_frozen_clock_moves_only_when_advanced(sandbox: Target) -> None:
    before = _get(sandbox.endpoint_url, "/cloudkata/clock")
    assert before["speed"] == 0
    after = manager.advance(sandbox.endpoint_url, 90)
    assert after - before["now"] == 90


def test_clock_speed_compresses_time() -> None:
    clock = Clock(speed=0, start=1000.0)
    assert clock.now() == 1000.0
    clock.advance(30)
    assert clock.now() == 1030.0
    clock.set_speed(10)
    assert clock.now() >= 1030.0


def test_requests_still_reach_moto_through_the_control_plane(sandbox: Target) -> None:
    ecs = boto3.client("ecs", endpoint_url=sandbox.endpoint_url, region_name="eu-west-1",
                       aws_access_key_id="k", aws_secret_access_key="s")
    ecs.create_cluster(clusterName="through")
    assert ecs.describe_clusters(clusters=["through"])["clusters"][0]["status"] == "ACTIVE"


def test_unknown_control_route_is_a_clean_404(sandbox: Target) -> None:
    request = urllib.request.Request(sandbox.endpoint_url + "/cloudkata/nope", method="POST",
                                     data=b"{}", headers={"Content-Type": "application/json",
                                                          **manager.control_headers(
                                                              sandbox.endpoint_url)})
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    else:
        raise AssertionError("expected 404")


def test_parse_request_reads_service_region_and_action() -> None:
    auth = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/ecs/aws4_request, "
            "SignedHeaders=host, Signature=x")
    target = "AmazonEC2ContainerServiceV20141113.CreateService"
    request = parse_request({"HTTP_AUTHORIZATION": auth, "REQUEST_METHOD": "POST",
                             "HTTP_X_AMZ_TARGET": target}, b'{"serviceName": "web"}')
    assert (request.service, request.region, request.action) == ("ecs", "eu-west-1",
                                                                  "CreateService")
    assert request.params == {"serviceName": "web"} and request.mutating
    query = parse_request({"HTTP_AUTHORIZATION": auth.replace("/ecs/", "/iam/"),
                           "REQUEST_METHOD": "POST"}, b"Action=ListRoles&Version=2010-05-08")
    assert query.action == "ListRoles" and not query.mutating


def test_a_checkpoint_takes_back_every_change_and_can_be_used_again(sandbox: Target) -> None:
    """dev check applies each mistake to a step's solved state and rolls back from memory."""
    ecs = boto3.client("ecs", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="k", aws_secret_access_key="s")
    ecs.create_cluster(clusterName="kept")
    manager.checkpoint(sandbox.endpoint_url, "solved")
    for attempt in range(2):
        ecs.delete_cluster(cluster="kept")
        ecs.create_cluster(clusterName=f"mistake-{attempt}")
        manager.rollback(sandbox.endpoint_url, "solved")
        names = sorted(c["clusterName"] for c in ecs.describe_clusters(
            clusters=["kept", f"mistake-{attempt}"])["clusters"] if c["status"] == "ACTIVE")
        assert names == ["kept"]


def test_rolling_back_to_an_unknown_checkpoint_is_one_sentence(sandbox: Target) -> None:
    with pytest.raises(manager.SandboxError, match="no checkpoint named 'nothing'"):
        manager.rollback(sandbox.endpoint_url, "nothing")


def test_advance_goes_on_after_the_sandbox_stopped_at_its_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A busy machine may fit only part of a long settle in one request; the rest follows."""
    now = {"now": 1000.0}
    asked: list[float] = []

    def post(endpoint: str, path: str, payload: dict) -> dict:
        asked.append(payload["advance"])
        if len(asked) == 1:
            now["now"] += 700
            raise manager.SandboxRequestError(
                "The sandbox advanced its clock 700 of 1800 s before the 5 s limit; "
                "advance again for the rest.")
        now["now"] += payload["advance"]
        return dict(now)

    monkeypatch.setattr(manager, "_post", post)
    monkeypatch.setattr(manager, "clock", lambda endpoint: dict(now))
    assert manager.advance("http://127.0.0.1:1", 1800) == 2800.0
    assert asked == [1800, 1100]
