"""Whatever bytes an import is given, it decodes them or raises StateFileError; no code runs.

Byte flips mostly hit msgpack's framing, so the payload is also mutated as a structure and
re-framed behind a valid header, which is what reaches the decoder's own checks. Tripwires on
os.system, os.popen, the exec family and subprocess prove nothing runs, and a refused import
must leave the running sandbox exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import subprocess
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from cloudkata.sandbox import handin, persistence
from cloudkata.sandbox.control import ControlPlane
from tests.conftest import TRUST_ECS_TASKS
from tests.sandbox.test_handin import client, wipe

MOTO = persistence.moto_version()
HEADER = {"moto": MOTO, "saved": 1.0, "services": []}
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Per test, so no global profile changes under other tests; derandomized, so CI repeats
itself. For a long random search: edit max_examples locally (the decoder takes ~1 ms)."""
SENTINEL = Path(f"/tmp/cloudkata-handin-fuzz-{os.getpid()}")


def frame(payload: bytes, header: dict[str, Any] | None = None) -> bytes:
    head = msgpack.packb({"format": handin.FORMAT, **(header or HEADER)})
    return handin.MAGIC + len(head).to_bytes(4, "big") + head + payload


def sample_graph() -> Any:
    """A small graph using every kind of row and value the format has."""
    import datetime as dt
    import ipaddress
    import uuid
    from collections import OrderedDict, defaultdict
    from decimal import Decimal

    from moto.core.types import Base64EncodedString
    from moto.ec2.models.security_groups import SecurityGroup
    from moto.ecr.models import RepoTagMutability
    from moto.iam.models import Role
    from moto.ssm.models import ParameterDict

    role = object.__new__(Role)
    role.__dict__.update(name="r", arn="arn:aws:iam::123456789012:role/r", tags={})
    group = object.__new__(SecurityGroup)
    group.__dict__.update(id="sg-1", filters={"vpc-id": None})
    group.filters["vpc-id"] = types.MethodType(SecurityGroup.filter_vpc_id, group)
    parameters = defaultdict.__new__(ParameterDict)
    parameters.default_factory = list
    parameters.__dict__.update(account_id="123456789012", region_name="us-east-1")
    parameters["/p"] = [role]
    encoded = object.__new__(Base64EncodedString)
    encoded.__dict__["_encoded_string"] = "eA=="
    shared = [role, group]
    return {"roles": {"r": role}, "shared": shared, "again": shared, "params": parameters,
            "b64": encoded, "mutability": RepoTagMutability.MUTABLE,
            "regex": re.compile(
                r"^arn:(aws|aws-cn|aws-eusc|aws-iso|aws-iso-b|aws-us-gov):iam::(aws|[0-9]*)"
                r":policy/.*$", re.UNICODE),
            "tuple": (1, ("x", 2.5), frozenset({"a"})), "set": {1, "b"},
            "ordered": OrderedDict(z=1), "when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "day": dt.date(2026, 1, 1), "at": dt.time(1, 2), "delta": dt.timedelta(3),
            "money": Decimal("1.5"), "id": uuid.UUID(int=1), "big": 1 << 80,
            "ip": ipaddress.ip_address("10.0.0.1"), "net": ipaddress.ip_network("10.0.0.0/8"),
            "iface": ipaddress.ip_interface("10.0.0.1/8"), "bytes": b"\x00"}


VALID = handin.dumps(HEADER, sample_graph())
PAYLOAD = VALID[len(frame(b"")):]
assert frame(PAYLOAD) == VALID


def load(data: bytes) -> None:
    with contextlib.suppress(handin.StateFileError):
        handin.loads(data, MOTO)


@pytest.fixture(scope="module", autouse=True)
def tripwires() -> Iterator[list[str]]:
    """Anything that would start a process or run a shell command is recorded and refused."""
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def tripped(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called while reading a hand-in file")
        return tripped

    with pytest.MonkeyPatch.context() as patch:
        for name in ("system", "popen", "execv", "execve", "execvp", "spawnv", "posix_spawn",
                     "fork"):
            if hasattr(os, name):
                patch.setattr(os, name, refuse(f"os.{name}"))
        patch.setattr(subprocess.Popen, "__init__", refuse("subprocess.Popen"))
        yield calls
    assert calls == []
    assert not SENTINEL.exists()


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[tuple[ControlPlane, bytes]]:
    """moto in this process with a few resources, and its export."""
    with mock_aws():
        plane = ControlPlane()
        client("iam").create_role(RoleName="fuzz", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
        client("logs").create_log_group(logGroupName="/fuzz")
        client("ssm").put_parameter(Name="/fuzz", Value="v", Type="String",
                                    Tags=[{"Key": "k", "Value": "v"}])
        plane.state["load"] = {"svc": 1.0}
        yield plane, persistence.export_bytes(plane)
        wipe()


def live_state(plane: ControlPlane) -> Any:
    return ({s: [b for *_, b in persistence.loaded(s)] for s in persistence.SERVICES},
            dict(plane.state))


# --- bytes -------------------------------------------------------------------------------------

def test_the_sample_decodes_whole() -> None:
    _, back = handin.loads(VALID, MOTO)
    assert back["shared"] is back["again"]
    assert dict.__getitem__(back["params"], "/p")[0] is back["roles"]["r"]
    method = back["shared"][1].filters["vpc-id"]
    assert method.__self__ is back["shared"][1]


@FUZZ
@given(st.binary(max_size=2048))
@example(b"")
@example(handin.MAGIC)
@example(handin.MAGIC + b"\xff\xff\xff\xff")
def test_random_bytes(data: bytes) -> None:
    load(data)
    load(handin.MAGIC + data)
    load(frame(data))


@FUZZ
@given(st.integers(0, len(VALID) - 1))
def test_every_truncation_is_refused(length: int) -> None:
    with pytest.raises(handin.StateFileError):
        handin.loads(VALID[:length], MOTO)


@FUZZ
@given(st.data())
def test_mutated_payload_behind_a_valid_header(data: st.DataObject) -> None:
    buffer = bytearray(PAYLOAD)
    for _ in range(data.draw(st.integers(1, 8))):
        buffer[data.draw(st.integers(0, len(buffer) - 1))] = data.draw(st.integers(0, 255))
    load(frame(bytes(buffer)))


MSGPACK_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-(1 << 63), (1 << 64) - 1), st.floats(),
    st.text(max_size=20), st.binary(max_size=20),
    st.sampled_from(["moto.iam.models:Role", "posix:system", "builtins:getattr", "x"]))
TAGGED = st.builds(lambda tag, rest: [tag, *rest], st.integers(-2, 30),
                   st.lists(MSGPACK_LEAVES | st.integers(-2, 60), max_size=5))
NODES = st.recursive(MSGPACK_LEAVES | TAGGED, lambda inner: st.lists(inner, max_size=4),
                     max_leaves=12)


def _replace(tree: Any, path: list[int], new: Any) -> Any:
    if not path or type(tree) is not list or not tree:
        return new
    index = path[0] % len(tree)
    return [*tree[:index], _replace(tree[index], path[1:], new), *tree[index + 1:]]


@settings(FUZZ, max_examples=100)
@given(st.lists(st.tuples(st.lists(st.integers(0, 1000), max_size=8), NODES), min_size=1,
                max_size=4))
def test_structurally_mutated_payload(changes: list[tuple[list[int], Any]]) -> None:
    tree = msgpack.unpackb(PAYLOAD, raw=False, max_map_len=0)
    for path, new in changes:
        tree = _replace(tree, path, new)
    load(frame(msgpack.packb(tree, use_bin_type=True)))


@FUZZ
@given(st.sampled_from(sorted(handin.HEADER_TYPES) + ["extra"]), MSGPACK_LEAVES | NODES)
def test_mutated_header(key: str, value: Any) -> None:
    header = {"format": handin.FORMAT, **HEADER, key: value}
    head = msgpack.packb(header)
    load(handin.MAGIC + len(head).to_bytes(4, "big") + head + PAYLOAD)


# --- hand-made attacks -------------------------------------------------------------------------

class _Touch:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {SENTINEL}",))


def _payload(classes: list[Any], rows: list[Any], top: Any = None, methods: Any = (),
             patterns: Any = (), layouts: Any = ((),)) -> bytes:
    return frame(msgpack.packb([list(classes), list(methods), list(patterns),
                                [list(x) for x in layouts],
                                [handin.REF, 0] if top is None else top, rows]))


OBJ = handin.OBJ
GADGETS = {
    "old pickle": persistence.MAGIC + b'{"format": 2, "moto": "' + MOTO.encode() + b'"}\n'
    + pickle.dumps({"backends": pickle.dumps(_Touch())}),
    "pickle as payload": frame(pickle.dumps(_Touch())),
    "pickle as a string": _payload([], [], top=pickle.dumps(_Touch())),
    "os.system": _payload(["posix:system"], [[OBJ, 0, 0, None]]),
    "module os": _payload(["os"], [[OBJ, 0, 0, None]]),
    "getattr": _payload(["builtins:getattr"], [[OBJ, 0, 0, None]]),
    "dotted uuid": _payload(["uuid:os.system"], [[OBJ, 0, 0, None]]),
    "dotted through an allowed module": _payload(["moto.iam.models:re.compile"],
                                                 [[OBJ, 0, 0, None]]),
    "our own function": _payload(["cloudkata.sandbox.handin:resolve"], [[OBJ, 0, 0, None]]),
    "a method as a class": _payload(["moto.iam.models:Role.__init__"], [[OBJ, 0, 0, None]]),
    "method os.system": _payload(["moto.iam.models:Role"], [[OBJ, 0, 0, None]],
                                 top=[handin.METHOD, [handin.REF, 0], 0],
                                 methods=["os:system"]),
    "method __init__": _payload(
        ["moto.ec2.models.security_groups:SecurityGroup"], [[OBJ, 0, 0, None]],
        top=[handin.METHOD, [handin.REF, 0], 0],
        methods=["moto.ec2.models.security_groups:SecurityGroup.__init__"]),
    "method on the wrong object": _payload(
        ["moto.iam.models:Role"], [[OBJ, 0, 0, None]], top=[handin.METHOD, [handin.REF, 0], 0],
        methods=["moto.ec2.models.security_groups:SecurityGroup.filter_vpc_id"]),
    "catastrophic regex": _payload([], [], top=[handin.PATTERN, 0], patterns=[["(a+)+$", 0]]),
    "enum that is not one": _payload(["moto.iam.models:Role"], [], top=[handin.ENUM, 0, "x"]),
    "enum built as an object": _payload(["moto.events.models:ReplayState"],
                                        [[OBJ, 0, 0, "RUNNING"]]),
    "key hashed by model code": _payload(
        ["moto.iam.models:ManagedPolicy"], [[OBJ, 0, 0, None], [handin.DICT, [handin.REF, 0], 1]],
        top=[handin.REF, 1]),
    "lambda factory": _payload([], [[handin.DDICT, 99]]),
    "dangling reference": _payload([], [[handin.LIST, [handin.REF, 5]]]),
    "unknown row": _payload([], [[77]]),
    "unknown value": _payload([], [[handin.LIST, [99, 1]]]),
    "wrong arity": _payload(["moto.iam.models:Role"], [[OBJ, 0, 0, None, "extra"]]),
    "attribute that is not a name": _payload(["moto.iam.models:Role"], [[OBJ, 0, 0, None, 1]],
                                             layouts=[[1]]),
    "array claiming 4G items": frame(b"\xdd\xff\xff\xff\xff"),
    "string claiming 4 GiB": frame(b"\xdb\xff\xff\xff\xff"),
    "header claiming 4 GiB": handin.MAGIC + b"\xff\xff\xff\xff" + b"\x80",
    "deep arrays": frame(b"\x91" * 5000 + b"\xc0"),
    "deep tuples": _payload([], [], top=__import__("functools").reduce(
        lambda inner, _: [handin.TUPLE, inner], range(200), 1)),
    "a map in the payload": frame(msgpack.packb({"a": 1})),
    "an ext": frame(msgpack.packb(msgpack.ExtType(1, b"x"))),
    "huge bigint": _payload([], [], top=[handin.BIGINT, "9" * 5000]),
}


@pytest.mark.parametrize("name", sorted(GADGETS))
def test_hand_made_attacks_are_refused_and_change_nothing(
        name: str, small_sandbox: tuple[ControlPlane, bytes]) -> None:
    plane, _ = small_sandbox
    before = live_state(plane)
    with pytest.raises(handin.StateFileError):
        persistence.import_bytes(plane, GADGETS[name])
    assert live_state(plane) == before
    assert not SENTINEL.exists()


def test_a_refused_file_runs_no_finalizer_on_its_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's EC2 Instance has a ``__del__`` that calls into its backend: a refused file's
    instances are emptied before they are dropped, so it finds nothing to call."""
    import gc

    from moto.ec2.models.instances import Instance

    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(Instance, "__del__", lambda self: seen.append(dict(vars(self))))
    gadget = _payload(
        ["moto.ec2.models.instances:Instance", "moto.ec2.models:EC2Backend"],
        [[OBJ, 0, 0, None, [handin.REF, 1], "subnet-1", [handin.REF, 2]],
         [OBJ, 1, 1, None], [handin.LIST, "10.0.0.1"]],
        layouts=[["ec2_backend", "subnet_id", "_private_ips"], []])
    with pytest.raises(handin.StateFileError, match="not a sandbox"):
        persistence.import_bytes(ControlPlane(), gadget)
    gc.collect()
    assert seen and all(state == {} for state in seen)


def test_a_file_over_the_size_cap_is_refused_unread() -> None:
    with pytest.raises(handin.StateFileError, match="larger than 64 MiB"):
        handin.loads(VALID + b"\x00" * handin.MAX_FILE, MOTO)


@FUZZ
@given(st.data())
def test_a_mutated_sandbox_file_is_imported_whole_or_not_at_all(
        small_sandbox: tuple[ControlPlane, bytes], data: st.DataObject) -> None:
    plane, exported = small_sandbox
    head, payload = split(exported)
    tree = msgpack.unpackb(payload, raw=False, max_map_len=0)
    for _ in range(data.draw(st.integers(1, 3))):
        tree = _replace(tree, data.draw(st.lists(st.integers(0, 10_000), max_size=6)),
                        data.draw(NODES))
    mutated = head + msgpack.packb(tree, use_bin_type=True)
    before = live_state(plane)
    try:
        persistence.import_bytes(plane, mutated)
    except handin.StateFileError:
        assert live_state(plane) == before
    else:
        persistence.import_bytes(plane, exported)  # back to the known state


def split(data: bytes) -> tuple[bytes, bytes]:
    """A file's magic and header, and its payload."""
    end = len(handin.MAGIC) + 4 + int.from_bytes(data[len(handin.MAGIC):][:4], "big")
    return data[:end], data[end:]
