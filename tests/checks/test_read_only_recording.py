"""Every registered check, run with a lab's real params, sends only reads a grader may send.

The checks talk to the sandbox through a recording HTTP proxy, so what is recorded is what
reached the wire, whatever botocore did on the way: the proxy names each request's operation
from the bytes alone (X-Amz-Target, Action=, the REST path) using botocore's service models.
Every recorded operation must be in :data:`EXPECTED` (a new operation is a decision to
review, not an accident), every one a read verb, none in the refused list.

Two depths: every check once on an empty sandbox (the failing paths, seconds), and each lab's
``dev check`` -- checks before each step's solution and after it, on each mistake and on the
finished lab -- with its checks reading through the proxy, so every check also walks its
passing path (one test per lab, spread over the xdist workers; this is also the suite's dev
check of every lab).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel
from pydantic import ValidationError

from cloudkata import devcheck
from cloudkata.checks import Params, all_checks
from cloudkata.checks.result import Result, Status
from cloudkata.checks.session import NEVER, READ_VERBS, SECRET_NAME, ReadOnlyAws, refusal
from cloudkata.engine import builtin_variables, check_step, run_check
from cloudkata.labs import Catalogue, Lab, resolve
from cloudkata.targets import Target

CHECKS_DIR = Path(__file__).resolve().parents[2] / "checks"

# Every operation the checks send, by lab family (labs linked by `requires`). Each is a read a
# grader needs; a check that needs a new one must add it here, where a reviewer sees it.
_ECS_FAMILY = "+".join(["alb-service", "blue-green", "ecs-cluster", "ecs-iam-roles",
                        "service-autoscaling", "task-definitions"])
_EKS_FAMILY = "eks-cluster+eks-storage"
EXPECTED: dict[str, frozenset[str]] = {
    _ECS_FAMILY: frozenset({
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingActivities",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScheduledActions",
        "autoscaling:DescribeAutoScalingGroups", "cloudwatch:DescribeAlarms",
        "ec2:DescribeImages", "ec2:DescribeInstanceAttribute", "ec2:DescribeInstances",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
        "ecs:DescribeCapacityProviders", "ecs:DescribeClusters", "ecs:DescribeContainerInstances",
        "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:DescribeTasks",
        "ecs:ListClusters", "ecs:ListContainerInstances", "ecs:ListServices",
        "ecs:ListTaskDefinitionFamilies", "ecs:ListTaskDefinitions", "ecs:ListTasks",
        "elbv2:DescribeListeners", "elbv2:DescribeLoadBalancers", "elbv2:DescribeRules",
        "elbv2:DescribeTargetGroups", "elbv2:DescribeTargetHealth", "iam:GetInstanceProfile",
        "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies", "iam:ListEntitiesForPolicy", "iam:ListRolePolicies",
        "iam:ListRoles", "logs:DescribeLogGroups",
    }),
    _EKS_FAMILY: frozenset({
        "autoscaling:DescribeAutoScalingGroups", "ec2:DescribeImages", "ec2:DescribeInstances",
        "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcs", "efs:DescribeAccessPoints", "efs:DescribeFileSystems",
        "efs:DescribeMountTargetSecurityGroups", "efs:DescribeMountTargets",
        "eks:DescribeAccessEntry", "eks:DescribeAddon", "eks:DescribeCluster",
        "eks:DescribeFargateProfile", "eks:DescribeNodegroup",
        "eks:DescribePodIdentityAssociation", "eks:ListAddons", "eks:ListClusters",
        "eks:ListFargateProfiles", "eks:ListNodegroups", "eks:ListPodIdentityAssociations",
        "iam:GetInstanceProfile", "iam:GetOpenIDConnectProvider", "iam:GetRole",
        "iam:ListAttachedRolePolicies", "iam:ListEntitiesForPolicy",
        "iam:ListOpenIDConnectProviders", "iam:ListRoles",
        "ssm:GetParameters",
    }),
}
INVENTORY = frozenset().union(*EXPECTED.values())

SERVICES = ("application-autoscaling", "autoscaling", "cloudformation", "cloudwatch", "ec2",
            "ecr", "ecs", "efs", "eks", "elb", "elbv2", "fsx", "iam", "kms", "logs", "s3",
            "secretsmanager", "ssm", "sts")
"""Services the proxy can name operations of; a request to any other is recorded as unknown
(and fails the test), so a check using a new service cannot go unexamined."""


# --- naming a request from its bytes ---------------------------------------------------------


@cache
def _models() -> dict[str, list[ServiceModel]]:
    """Service models by signing name (what a request's Authorization header says)."""
    session = botocore.session.get_session()
    by_signing: dict[str, list[ServiceModel]] = {}
    for name in SERVICES:
        model = session.get_service_model(name)
        by_signing.setdefault(model.signing_name, []).append(model)
    return by_signing


_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_URI_FIELD = re.compile(r"\{([^}]+)\}")


def _uri_pattern(template: str) -> tuple[re.Pattern[str], int]:
    """A REST requestUri template as a regex, with its count of literal characters."""
    path = template.split("?", 1)[0]
    literal = len(_URI_FIELD.sub("", path))
    parts, last = [], 0
    for match in _URI_FIELD.finditer(path):
        parts.append(re.escape(path[last:match.start()]))
        parts.append(".+" if match.group(1).endswith("+") else "[^/]+")
        last = match.end()
    parts.append(re.escape(path[last:]))
    return re.compile("".join(parts) + "/?"), literal


@dataclass(frozen=True)
class Sent:
    service: str
    operation: str
    params: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


def name_request(method: str, target: str, headers: dict[str, str], body: bytes) -> Sent:
    """Which operation of which service an HTTP request is, from the request alone."""
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    signing = match.group(1) if match else "?"
    models = _models().get(signing, [])
    if not models:
        return Sent(f"unknown-service({signing})", f"{method} {target}")
    path, query = urlsplit(target).path, urlsplit(target).query
    if "x-amz-target" in headers:  # JSON protocols: Prefix.Operation
        prefix, _, operation = headers["x-amz-target"].rpartition(".")
        model = next((m for m in models if m.metadata.get("targetPrefix") == prefix), models[0])
        return Sent(model.service_name, operation, _json(body))
    if "/operation/" in path:  # Smithy RPC v2 CBOR: /service/<Service>/operation/<Operation>
        return Sent(models[0].service_name, path.rsplit("/", 1)[1])
    form = parse_qs(body.decode("utf-8", "replace")) if body else parse_qs(query)
    if "Action" in form:  # query and EC2 protocols; the version tells elb from elbv2
        version = form.get("Version", [""])[0]
        model = next((m for m in models if m.api_version == version), models[0])
        return Sent(model.service_name, form["Action"][0])
    best: tuple[int, str, str] | None = None
    for model in models:  # REST protocols: the most specific URI template that fits
        for operation in model.operation_names:
            http = model.operation_model(operation).http
            if http.get("method") != method:
                continue
            pattern, literal = _uri_pattern(http.get("requestUri", "/"))
            if pattern.fullmatch(path) and (best is None or literal > best[0]):
                best = (literal, model.service_name, operation)
    if best is None:
        return Sent(f"unknown-operation({signing})", f"{method} {path}")
    return Sent(best[1], best[2], _json(body))


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- the recording proxy ---------------------------------------------------------------------

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
               "upgrade", "content-length"}


class RecordingProxy:
    """An HTTP proxy in front of the sandbox that names and records every request it relays."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy._lock:
                    proxy.sent.append(name_request(self.command, self.path, headers, body))
                connection = HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    relayed = {k: v for k, v in self.headers.items()
                               if k.lower() not in _HOP_BY_HOP | {"host"}}
                    relayed["Host"] = "{}:{}".format(*proxy.upstream)  # the sandbox checks Host
                    connection.request(self.command, self.path, body=body, headers=relayed)
                    answer = connection.getresponse()
                    data = answer.read()
                    self.send_response(answer.status, answer.reason)
                    for key, value in answer.getheaders():
                        if key.lower() not in _HOP_BY_HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def operations(self) -> set[str]:
        with self._lock:
            return {str(sent) for sent in self.sent}


@pytest.fixture
def proxy(sandbox: Target) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(sandbox.endpoint_url or "")
    yield recording
    recording.close()


def recording_aws(sandbox: Target, proxy: RecordingProxy) -> ReadOnlyAws:
    return Target("sandbox", sandbox.region, proxy.endpoint).read_only()


# --- what every run must show ----------------------------------------------------------------


def assert_only_allowed_reads(proxy: RecordingProxy, results: list[Result]) -> None:
    refused = [r.message for r in results if "Refused" in r.message]
    assert refused == [], "a check called an operation the grader refuses"
    for sent in proxy.sent:
        assert not sent.service.startswith("unknown"), f"cannot name request {sent.operation}"
        assert sent.operation.startswith(READ_VERBS), f"{sent} is not a read"
        assert refusal(sent.service, sent.operation, sent.params) is None, str(sent)


def lab_params() -> dict[str, tuple[Lab, dict[str, Any]]]:
    """One real use of every registered check: (the lab, its resolved ``with``).

    A check no lab uses (``iam.role_exists``) borrows the fields it takes from the first lab
    check whose params have them all, e.g. ``role`` from ``iam.role_trusts_service``.
    """
    catalogue = Catalogue.default()
    uses: dict[str, tuple[Lab, dict[str, Any]]] = {}
    for lab in catalogue.load_all():
        resolved = resolve(lab, {**builtin_variables(lab.id), **lab.variables})
        for step in resolved.steps:
            for ref in step.checks:
                uses.setdefault(ref.use, (resolved, ref.with_))
    for check_id, spec in all_checks().items():
        if check_id not in uses:
            uses[check_id] = next(
                (lab, borrowed) for lab, params in list(uses.values())
                if _validates(spec.params, borrowed := {
                    name: params[name] for name in spec.params.model_fields if name in params}))
    return uses


def _validates(model: type[Params], params: dict[str, Any]) -> bool:
    try:
        model.model_validate(params)
    except ValidationError:
        return False
    return True


# --- the tests -------------------------------------------------------------------------------


def test_the_inventory_is_reads_only_and_none_is_refused() -> None:
    """Independent of any run: every operation we allow ourselves is a plain read."""
    for entry in INVENTORY:
        service, operation = entry.split(":")
        assert operation.startswith(READ_VERBS), entry
        assert (service, operation) not in NEVER, entry
        assert not SECRET_NAME.search(operation), entry
        assert refusal(service, operation, {}) is None, entry


def test_the_proxy_names_what_it_relays_and_the_assertion_bites(
    sandbox: Target, proxy: RecordingProxy
) -> None:
    """The recorder itself, with an unguarded client: each protocol is named right, and a
    refused operation that reached the wire fails the assertion the real runs rely on."""
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x",
                            region_name=sandbox.region)

    def call(service: str, operation: str, **kwargs: Any) -> None:
        with contextlib.suppress(ClientError):  # a 4xx answer still went out: recorded
            getattr(session.client(service, endpoint_url=proxy.endpoint), operation)(**kwargs)

    call("iam", "list_roles")  # query protocol
    call("ecs", "list_clusters")  # JSON
    call("eks", "describe_cluster", name="kata")  # REST: /clusters/{name}
    call("eks", "list_clusters")  # REST: /clusters
    call("cloudwatch", "describe_alarms")  # Smithy RPC v2 CBOR
    call("elbv2", "describe_load_balancers")  # query; the version tells it from elb
    assert [str(sent) for sent in proxy.sent] == [
        "iam:ListRoles", "ecs:ListClusters", "eks:DescribeCluster", "eks:ListClusters",
        "cloudwatch:DescribeAlarms", "elbv2:DescribeLoadBalancers"]
    assert_only_allowed_reads(proxy, [])
    call("ssm", "get_parameter", Name="/db/password", WithDecryption=True)
    with pytest.raises(AssertionError, match="ssm:GetParameter"):
        assert_only_allowed_reads(proxy, [])
    proxy.sent.clear()
    call("secretsmanager", "get_secret_value", SecretId="db")
    with pytest.raises(AssertionError, match="secretsmanager:GetSecretValue"):
        assert_only_allowed_reads(proxy, [])


def test_every_check_on_an_empty_sandbox(sandbox: Target, proxy: RecordingProxy) -> None:
    """The failing paths: every check with a lab's params, nothing there yet."""
    aws = recording_aws(sandbox, proxy)
    results = [run_check(aws, check_id, params, 1) for check_id, (_, params)
               in sorted(lab_params().items())]
    assert_only_allowed_reads(proxy, results)
    errors = [f"{r.check_id}: {r.message}" for r in results if r.status is Status.ERROR]
    assert errors == []
    assert proxy.operations() <= INVENTORY, sorted(proxy.operations() - INVENTORY)


def _families() -> list[list[str]]:
    """Labs linked by ``requires``, each in prerequisite order."""
    order = [lab.id for lab in Catalogue.default().load_all()]
    labs = {lab.id: lab for lab in Catalogue.default().load_all()}
    family_of = {lab_id: {lab_id} for lab_id in labs}
    for lab in labs.values():
        for required in lab.requires:
            merged = family_of[lab.id] | family_of[required]
            for member in merged:
                family_of[member] = merged
    families = {frozenset(family) for family in family_of.values()}
    return sorted(sorted(family, key=order.index) for family in families)


DRAFT_MISTAKES = {
    "k8s.ebs_storage_class": "in-tree provisioner",
    "k8s.efs_storage_class": "fs-0123456789abcdef0, which does not exist",
    "k8s.fargate_storage": "EBS-backed",
}
"""eks-storage's workspace drafts carry typical mistakes; its checks name them before the
steps that fix them."""


def _family_key(lab_id: str) -> str:
    return next("+".join(sorted(f)) for f in _families() if lab_id in f)


@pytest.mark.parametrize("lab_id", [lab.id for lab in Catalogue.default().load_all()])
def test_every_lab_is_sound_and_its_checks_only_read(
        lab_id: str, sandbox: Target, proxy: RecordingProxy, labs_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``dev check`` of one lab (its prerequisites fast-forwarded by their solutions; each
    step's checks fail before its solution and pass after it; every mistake caught by its
    check; the finished lab passes; the teardown leaves nothing), with every check reading
    through the recording proxy: one run proves the content and what the checks send on
    their passing paths. One test per lab, so the labs spread over the workers."""
    aws = recording_aws(sandbox, proxy)
    results: list[Result] = []

    def recorded_check_step(_session_aws: ReadOnlyAws, step: Any) -> Any:
        aws.clear_cache()  # as a fresh session would: each run reads the state as it is now
        report = check_step(aws, step)
        results.extend(report.results)
        return report

    borrowed = {check_id: params for check_id, (lab, params) in lab_params().items()
                if lab.id == lab_id and not any(ref.use == check_id for step in lab.steps
                                                for ref in step.checks)}
    finished_lab_problems = devcheck._finished_lab_problems

    def also_borrowed(session: Any) -> list[str]:
        """Checks no lab uses run on the finished lab (before the teardown empties it)."""
        results.extend(run_check(aws, check_id, params, 1)
                       for check_id, params in borrowed.items())
        return finished_lab_problems(session)

    monkeypatch.setattr(devcheck, "check_step", recorded_check_step)
    monkeypatch.setattr(devcheck, "_finished_lab_problems", also_borrowed)
    [verdict] = devcheck.dev_check(Catalogue.default(), [lab_id], sandbox)
    assert verdict.problems == []
    assert verdict.mistakes.total >= devcheck.MIN_MISTAKES * len(
        Catalogue.default().load(lab_id).steps)
    if lab_id == "eks-storage":
        for check_id, words in DRAFT_MISTAKES.items():
            said = [r.message for r in results if r.check_id == check_id and not r.passed]
            assert any(words in message for message in said), (check_id, words, said)
    passed = {r.check_id for r in results if r.status is Status.PASSED}
    assert_only_allowed_reads(proxy, results)
    lab_checks = {check_id for check_id, (lab, _) in lab_params().items() if lab.id == lab_id}
    assert lab_checks - passed == set(), "these checks never reached their passing path"
    key, sent = _family_key(lab_id), proxy.operations()
    expected = EXPECTED.get(key, frozenset())
    assert sent <= expected, f"EXPECTED[{key!r}] is out of date: new {sorted(sent - expected)}"


def test_no_check_module_makes_its_own_client() -> None:
    """The gates live on the session ReadOnlyAws makes; a client made elsewhere has none."""
    offenders = []
    for path in sorted(CHECKS_DIR.glob("*.py")):
        if path.name == "session.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"^\s*import boto3|boto3\.|botocore\.session|\bSession\(", text, re.M):
            offenders.append(path.name)
    assert offenders == []
