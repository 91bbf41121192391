"""Hand-in files are data only: they round-trip a sandbox, replace everything, name no code.

Most tests run moto in this process (``mock_aws``) with a bare control plane: encoding and
decoding are pure logic over moto's objects. One test goes through the real HTTP sandbox.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pickle
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import msgpack
import pytest
from moto import mock_aws
from moto.backends import get_backend

from cloudkata.sandbox import handin, handin_allow, handin_classes, manager, persistence
from cloudkata.sandbox.control import ControlPlane
from cloudkata.targets import Target
from tests.conftest import TRUST_ECS_TASKS

REGION = "us-east-1"
ACCOUNT = "123456789012"
EC2_ROLE_POLICY = ("arn:aws:iam::aws:policy/service-role/"
                   "AmazonEC2ContainerServiceforEC2Role")


def client(service: str, endpoint: str | None = None) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="k", aws_secret_access_key="s")


@pytest.fixture
def moto_here() -> Iterator[ControlPlane]:
    """moto in this process and a bare control plane (no AWS managed policies: fast)."""
    with mock_aws():
        yield ControlPlane()
        wipe()  # else stopping the mock re-initialises every backend first (seconds)


@pytest.fixture
def moto_as_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    """The same with AWS managed policies loaded, as in the sandbox (1,500+ per partition)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        yield ControlPlane()
        wipe()


def wipe() -> None:
    """Forget every moto backend, as a sandbox reset does (the next request makes new ones)."""
    from moto.core.base_backend import BackendDict

    for backend_dict in BackendDict._instances:
        dict.clear(backend_dict)
    BackendDict._instances.clear()


def build(tag: str = "kept", aws_policy: bool = False) -> dict[str, Any]:
    """Resources across services, linked as a lab leaves them (ASG -> EC2, role -> policy)."""
    iam, ec2, asg = client("iam"), client("ec2"), client("autoscaling")
    role = iam.create_role(RoleName=tag, AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    if aws_policy:
        iam.attach_role_policy(RoleName=tag, PolicyArn=EC2_ROLE_POLICY)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=tag, Description="d", VpcId=vpc)["GroupId"]
    ec2.create_launch_template(LaunchTemplateName=tag, LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t2.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName=tag, MinSize=0, MaxSize=2,
                                  DesiredCapacity=1, VPCZoneIdentifier=subnet,
                                  LaunchTemplate={"LaunchTemplateName": tag})
    cluster = client("ecs").create_cluster(clusterName=tag)["cluster"]["clusterArn"]
    client("ssm").put_parameter(Name=f"/{tag}/p", Value="v", Type="String",
                                Tags=[{"Key": "team", "Value": "kata"}])
    client("logs").create_log_group(logGroupName=f"/{tag}/logs")
    return {"role": role["Arn"], "role_id": role["RoleId"], "vpc": vpc, "group": group,
            "cluster": cluster}


def read(tag: str = "kept", aws_policy: bool = False) -> dict[str, Any]:
    iam, ec2 = client("iam"), client("ec2")
    role = iam.get_role(RoleName=tag)["Role"]
    attached = iam.list_attached_role_policies(RoleName=tag)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ([EC2_ROLE_POLICY] if aws_policy else [])
    vpc = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16"]
    groups = ec2.describe_security_groups(Filters=[  # a filter is a bound method on the group
        {"Name": "vpc-id", "Values": vpc}, {"Name": "group-name", "Values": [tag]}])
    cluster = client("ecs").describe_clusters(clusters=[tag])["clusters"][0]["clusterArn"]
    tags = client("ssm").list_tags_for_resource(ResourceType="Parameter",
                                                ResourceId=f"/{tag}/p")["TagList"]
    assert tags == [{"Key": "team", "Value": "kata"}]
    return {"role": role["Arn"], "role_id": role["RoleId"], "vpc": vpc[0],
            "group": groups["SecurityGroups"][0]["GroupId"], "cluster": cluster}


def log_groups() -> list[str]:
    return [g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]]


# --- the codec on its own -------------------------------------------------------------------

def test_plain_values_and_shared_objects_survive() -> None:
    from moto.iam.models import Role

    role = object.__new__(Role)
    role.__dict__.update(name="r", tags={"k": "v"})
    shared: list[Any] = [1, role]
    shared.append(shared)  # a cycle
    everything = {
        "shared": shared, "again": shared, "role": role, "tuple": (1, (2, "x"), role),
        "frozen": frozenset({1, "a", (2, 3)}), "set": {1, 2, "x"},
        "ordered": OrderedDict([("b", 1), ("a", 2)]), "by_list": defaultdict(list, {"x": [1]}),
        "when": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        "naive": dt.datetime(2026, 1, 2), "day": dt.date(2026, 1, 2), "at": dt.time(3, 4),
        "delta": dt.timedelta(days=2, seconds=3, microseconds=4), "money": Decimal("1.10"),
        "id": uuid.UUID(int=7), "big": 1 << 70, "negative": -(1 << 70), "bytes": b"\x00\xff",
        "ip": ipaddress.ip_address("10.0.0.1"), "ip6": ipaddress.ip_address("::1"),
        "net": ipaddress.ip_network("10.0.0.0/16"), "iface": ipaddress.ip_interface("10.0.0.1/24"),
        (1, "tuple key"): "ok", 5: "int key", None: "none key",
    }
    data = handin.dumps({"moto": "m", "saved": 1.0, "services": []}, everything)
    header, back = handin.loads(data, "m")
    assert header == {"format": handin.FORMAT, "moto": "m", "saved": 1.0, "services": []}
    assert back["shared"] is back["again"] and back["shared"][2] is back["shared"]
    assert back["role"] is back["shared"][1] is back["tuple"][2]
    assert type(back["role"]) is Role and back["role"].tags == {"k": "v"}
    assert type(back["ordered"]) is OrderedDict and list(back["ordered"]) == ["b", "a"]
    assert back["by_list"].default_factory is list
    for key, value in everything.items():
        if key not in ("shared", "again", "role", "tuple"):
            assert back[key] == value and type(back[key]) is type(value), key


def test_an_object_outside_the_allow_list_cannot_be_written() -> None:
    class Stranger:
        pass

    with pytest.raises(handin.UnencodableError, match="allow-list"):
        handin.dumps({"moto": "m", "saved": 1.0, "services": []}, {"x": Stranger()})
    with pytest.raises(handin.UnencodableError, match="default factory"):
        handin.dumps({"moto": "m", "saved": 1.0, "services": []}, defaultdict(lambda: 1))


# --- the allow-list -----------------------------------------------------------------------------

def test_every_allowed_name_resolves_to_what_it_says() -> None:
    assert list(handin_classes.CLASSES) == sorted(set(handin_classes.CLASSES))
    for name in handin_classes.CLASSES:
        found = handin.resolve(name)
        assert isinstance(found, type) and handin.class_name(found) == name
    for name in handin_classes.METHODS:
        owner, function = handin._method(name)
        assert handin.class_name(owner) + "." + function.__name__ == name
    for source, flags in handin_classes.PATTERNS:
        assert handin._pattern(source, flags).pattern == source


def test_the_allow_list_is_what_the_generator_makes(moto_here: ControlPlane) -> None:
    """Classes and methods come from moto's models; regexes from a state using every service
    (the checked-in file adds what a sandbox with every lab solved holds: nothing more)."""
    classes, methods, _ = handin_allow.static_names()
    assert set(handin_classes.CLASSES) == classes
    assert set(handin_classes.METHODS) == methods
    for service in persistence.SERVICES:
        get_backend(service)[ACCOUNT][REGION if service not in ("iam", "sts") else "aws"]
    build()
    with persistence.state_graph(moto_here) as root:
        _, _, patterns = handin_allow.observed_names(root)
    assert set(handin_classes.PATTERNS) == patterns


# --- export and import, in process --------------------------------------------------------------

def test_a_sandbox_round_trips_with_its_links(moto_as_sandbox: ControlPlane) -> None:
    moto_here = moto_as_sandbox
    made = build(aws_policy=True)
    moto_here.state["load"] = {"svc": {"cpu": 40.0}}
    data = persistence.export_bytes(moto_here)
    header, _ = persistence.read_header(data)
    assert {"iam", "ec2", "autoscaling", "ecs", "ssm", "logs"} <= set(header["services"])
    wipe()
    moto_here.state.clear()
    assert persistence.import_bytes(moto_here, data)["services"] == header["services"]
    assert read(aws_policy=True) == made
    assert moto_here.state == {"load": {"svc": {"cpu": 40.0}}}
    ec2 = get_backend("ec2")[ACCOUNT][REGION]
    assert get_backend("autoscaling")[ACCOUNT][REGION].ec2_backend is ec2  # one graph
    iam = get_backend("iam")[ACCOUNT]["aws"]
    policy = iam.managed_policies[EC2_ROLE_POLICY]
    assert iam.roles[made["role_id"]].managed_policies[EC2_ROLE_POLICY] is policy
    assert policy.attachment_count == 1
    assert len(iam.aws_managed_policies) > 1000  # re-joined, not carried in the file
    assert type(get_backend("ssm")[ACCOUNT][REGION]._resource_tags) is defaultdict
    owned = client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"][0]
    client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="kept",
                                                    DesiredCapacity=0)
    state = client("ec2").describe_instances(InstanceIds=[owned["Instances"][0]["InstanceId"]])
    assert state["Reservations"][0]["Instances"][0]["State"]["Name"] in (
        "shutting-down", "terminated")


def test_an_import_replaces_everything(moto_here: ControlPlane) -> None:
    client("iam").create_role(RoleName="before", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    data = persistence.export_bytes(moto_here)
    assert "logs" not in persistence.read_header(data)[0]["services"]
    client("logs").create_log_group(logGroupName="/made/after/export")
    client("iam").create_role(RoleName="after", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    moto_here.state["later"] = {"x": 1}
    persistence.import_bytes(moto_here, data)
    assert log_groups() == []  # a service absent from the file is emptied too
    roles = [r["RoleName"] for r in client("iam").list_roles()["Roles"]]
    assert "before" in roles and "after" not in roles
    assert "later" not in moto_here.state


def test_a_refused_import_changes_nothing(moto_here: ControlPlane) -> None:
    build()
    data = persistence.export_bytes(moto_here)
    live = {s: [b for *_, b in persistence.loaded(s)] for s in persistence.SERVICES}
    moto_here.state["mine"] = {"x": 1}
    damaged = data[:-50] + b"\xc1" * 50  # 0xc1: a byte msgpack never uses
    for bad in (damaged, data[:len(data) // 2], data.replace(b"moto.iam.models:Role",
                                                             b"moto.iam.models:Rule")):
        with pytest.raises(persistence.StateFileError):
            persistence.import_bytes(moto_here, bad)
    assert {s: [b for *_, b in persistence.loaded(s)] for s in persistence.SERVICES} == live
    assert moto_here.state == {"mine": {"x": 1}}
    read()


def test_header_fields_are_checked() -> None:
    def file(header: dict[str, Any]) -> bytes:
        head = msgpack.packb(header)
        return handin.MAGIC + len(head).to_bytes(4, "big") + head + msgpack.packb([])

    good = {"format": handin.FORMAT, "moto": persistence.moto_version(), "saved": 1.0,
            "services": ["iam"]}
    for broken, why in [({"services": None}, "services"), ({"saved": "x"}, "saved"),
                        ({"moto": "4.0.0\x1b[2J"}, r"saved with moto 4\.0\.0\?\?2J,"),
                        ({"format": 2}, "has format 2"), ({"services": [1]}, "services")]:
        with pytest.raises(persistence.StateFileError, match=why):
            persistence.read_header(file({**good, **broken}))
    without = dict(good)
    del without["services"]
    with pytest.raises(persistence.StateFileError, match="header is damaged"):
        persistence.read_header(file(without))
    old = persistence.MAGIC + b'{"format": 2, "moto": "5.2.5"}\n' + pickle.dumps({})
    with pytest.raises(persistence.StateFileError, match="old cloudkata state file"):
        persistence.import_bytes(ControlPlane(), old)


# --- the crash snapshot: pickle, but only the user's own file ---------------------------------

def test_the_crash_snapshot_is_private_and_only_read_if_ours(moto_here: ControlPlane,
                                                             tmp_path: Path) -> None:
    client("iam").create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    path = tmp_path / "state.bin"
    persistence.save(moto_here, path)
    assert path.stat().st_mode & 0o777 == 0o600
    wipe()
    assert persistence.load_file(moto_here, path) is None
    assert client("iam").get_role(RoleName="kept")["Role"]["Arn"].endswith("/kept")

    path.chmod(0o666)
    warning = persistence.load_file(moto_here, path)
    assert warning and "others may write it" in warning and not path.exists()

    persistence.save(moto_here, path)
    link = tmp_path / "link.bin"
    link.symlink_to(path)
    assert "could not be restored" in (persistence.load_file(moto_here, link) or "")
    if os.getuid() == 0:  # only root can give a file away
        os.chown(path, 4321, 4321)
        assert "does not belong to you" in (persistence.load_file(moto_here, path) or "")


# --- through the real sandbox -----------------------------------------------------------------

def test_export_import_through_the_sandbox(sandbox: Target, tmp_path: Path) -> None:
    iam, logs = client("iam", sandbox.endpoint_url), client("logs", sandbox.endpoint_url)
    role = iam.create_role(RoleName="handed-in", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    logs.create_log_group(logGroupName="/kept")
    path = tmp_path / "handin.bin"
    exported = manager.export_state(sandbox.endpoint_url, path)
    assert {"iam", "logs"} <= set(exported["services"])
    data = path.read_bytes()
    assert data.startswith(handin.MAGIC)
    header, root = handin.loads(data, persistence.moto_version())  # data only, even here
    assert sorted(root["backends"]) == header["services"]

    logs.create_log_group(logGroupName="/made/after/export")
    iam.delete_role(RoleName="handed-in")
    manager.import_state(sandbox.endpoint_url, path)
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/kept"]
    assert iam.get_role(RoleName="handed-in")["Role"]["RoleId"] == role["Role"]["RoleId"]
