"""Sandbox state survives stop/start, a crash, and export/import, with identical ids."""

from __future__ import annotations

import os
import pickle
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from cloudkata.sandbox import manager, persistence
from tests.conftest import TRUST_ECS_TASKS


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[dict]:
    """A private sandbox with its own pid and snapshot files (the shared one is untouched)."""
    files = {"state_file": tmp_path / "run.json", "log_file": tmp_path / "log",
             "snapshot_file": tmp_path / "state.bin"}
    yield files
    manager.stop(files["state_file"])


def _clients(endpoint: str) -> tuple:
    kw = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "k",
          "aws_secret_access_key": "s"}
    return boto3.client("iam", **kw), boto3.client("ec2", **kw), boto3.client("ecs", **kw)


def _build(endpoint: str) -> dict:
    iam, ec2, ecs = _clients(endpoint)
    role = iam.create_role(RoleName="kept", AssumeRolePolicyDocument=TRUST_ECS_TASKS)["Role"]
    iam.attach_role_policy(
        RoleName="kept",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    cluster = ecs.create_cluster(clusterName="kept")["cluster"]["clusterArn"]
    return {"role": role["Arn"], "role_id": role["RoleId"], "vpc": vpc, "cluster": cluster}


def _read(endpoint: str) -> dict:
    iam, ec2, ecs = _clients(endpoint)
    role = iam.get_role(RoleName="kept")["Role"]
    attached = iam.list_attached_role_policies(RoleName="kept")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonEC2ContainerServiceforEC2Role"]
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16"]
    cluster = ecs.describe_clusters(clusters=["kept"])["clusters"][0]["clusterArn"]
    return {"role": role["Arn"], "role_id": role["RoleId"], "vpc": vpcs[0], "cluster": cluster}


def _wait_saved(path: Path, holding: bytes) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and holding in path.read_bytes():
            return
        time.sleep(0.05)  # waits for the sandbox's own saver thread, not for simulated time
    raise AssertionError("the sandbox never saved its state")


def test_state_survives_stop_and_start(own_sandbox: dict) -> None:
    info = manager.start(port=0, pace="frozen", **own_sandbox)
    made = _build(info.endpoint)
    manager.stop(own_sandbox["state_file"])
    again = manager.start(port=0, pace="frozen", **own_sandbox)
    assert again.pid != info.pid
    assert _read(again.endpoint) == made


def test_state_survives_a_crash(own_sandbox: dict) -> None:
    info = manager.start(port=0, pace="frozen", **own_sandbox)
    made = _build(info.endpoint)
    # the debounced saver (every 0.5 s of real time) must have saved the last write, the
    # cluster, before the crash: wait until the file holds it
    _wait_saved(own_sandbox["snapshot_file"], holding=b"cluster/kept")
    os.kill(info.pid, signal.SIGKILL)
    again = manager.start(port=0, pace="frozen", **own_sandbox)
    assert _read(again.endpoint) == made


def test_export_then_import_into_an_empty_sandbox(own_sandbox: dict, tmp_path: Path) -> None:
    info = manager.start(port=0, pace="frozen", **own_sandbox)
    made = _build(info.endpoint)
    exported = manager.export_state(info.endpoint, tmp_path / "handin.bin")
    assert {"iam", "ec2", "ecs"} <= set(exported["services"])
    manager.reset(info.endpoint)
    assert _clients(info.endpoint)[2].list_clusters()["clusterArns"] == []
    manager.import_state(info.endpoint, tmp_path / "handin.bin")
    assert _read(info.endpoint) == made


def test_a_corrupt_state_file_is_moved_aside_with_a_clear_message(own_sandbox: dict) -> None:
    own_sandbox["snapshot_file"].write_bytes(persistence.MAGIC + b"{not json\n...")
    info = manager.start(port=0, pace="frozen", **own_sandbox)
    assert info.warning and "could not be restored" in info.warning
    assert "header is damaged" in info.warning
    aside = list(own_sandbox["snapshot_file"].parent.glob("state.bin.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(persistence.MAGIC)


def test_a_state_file_from_another_moto_is_refused(own_sandbox: dict, tmp_path: Path) -> None:
    from cloudkata.sandbox import handin

    info = manager.start(port=0, pace="frozen", **own_sandbox)
    stale = tmp_path / "old.bin"
    stale.write_bytes(handin.dumps({"moto": "4.0.0", "saved": 0.0, "services": []}, {}))
    with pytest.raises(manager.SandboxRequestError, match="saved with moto 4.0.0"):
        manager.import_state(info.endpoint, stale)


class _Evil:
    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_a_crafted_pickle_hand_in_runs_nothing_and_changes_nothing(
        sandbox, tmp_path: Path) -> None:
    """The finding: a 100-byte `sandbox import` file ran `touch` on the importing machine."""
    sentinel = tmp_path / "pwned"
    iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    iam.create_role(RoleName="before", AssumeRolePolicyDocument=TRUST_ECS_TASKS)
    header = b'{"format": 2, "moto": "' + persistence.moto_version().encode() + b'"}\n'
    crafted = [
        persistence.MAGIC + header + pickle.dumps(_Evil(sentinel)),
        persistence.MAGIC + header + pickle.dumps(
            {"backends": pickle.dumps({"iam": _Evil(sentinel)})}),
    ]
    for number, data in enumerate(crafted):
        path = tmp_path / f"crafted-{number}.bin"
        path.write_bytes(data)
        with pytest.raises(manager.SandboxRequestError, match="cannot be imported"):
            manager.import_state(sandbox.endpoint_url, path)
        assert not sentinel.exists()
    assert [role["RoleName"] for role in iam.list_roles()["Roles"]] == ["before"]


def test_import_replaces_everything(sandbox, tmp_path: Path) -> None:
    """A service the file holds nothing of is emptied too, never left as it was."""
    logs = boto3.client("logs", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")
    logs.create_log_group(logGroupName="/in/the/export")
    manager.export_state(sandbox.endpoint_url, tmp_path / "handin.bin")
    logs.create_log_group(logGroupName="/made/after/the/export")
    manager.import_state(sandbox.endpoint_url, tmp_path / "handin.bin")
    names = [group["logGroupName"] for group in logs.describe_log_groups()["logGroups"]]
    assert names == ["/in/the/export"]


def test_links_between_services_survive_a_restore(sandbox, tmp_path: Path) -> None:
    """An ASG restored with its EC2 backend still terminates the instances it owns."""
    kw = {"endpoint_url": sandbox.endpoint_url, "region_name": "us-east-1",
          "aws_access_key_id": "k", "aws_secret_access_key": "s"}
    ec2, asg = boto3.client("ec2", **kw), boto3.client("autoscaling", **kw)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_launch_template(LaunchTemplateName="kept-lt", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t2.micro"})
    asg.create_auto_scaling_group(AutoScalingGroupName="g", MinSize=0, MaxSize=2,
                                  DesiredCapacity=1, VPCZoneIdentifier=subnet,
                                  LaunchTemplate={"LaunchTemplateName": "kept-lt"})
    manager.export_state(sandbox.endpoint_url, tmp_path / "s.bin")
    manager.reset(sandbox.endpoint_url)
    manager.import_state(sandbox.endpoint_url, tmp_path / "s.bin")
    owned = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"]
    assert len(owned) == 1
    asg.update_auto_scaling_group(AutoScalingGroupName="g", DesiredCapacity=0)
    state = ec2.describe_instances(InstanceIds=[owned[0]["InstanceId"]])[
        "Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("shutting-down", "terminated")
