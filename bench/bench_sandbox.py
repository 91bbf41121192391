"""What the control plane costs: sandbox vs. bare moto, idle CPU, save/restore time.

All in one run on this machine:
- p50 latency of read calls (iam get-role, ecs describe-clusters, ec2 describe-instances)
  through our sandbox vs. moto's own ThreadedMotoServer (goal: <= 1.5x);
- the sandbox process's CPU while idle for a few seconds (goal: < 2% of a core);
- time to export (save) and import (restore) a state holding a lab-sized set of resources.
Run: ``python bench/bench_sandbox.py [-n 200]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def _clients(endpoint: str) -> dict:
    import boto3

    kw = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "k",
          "aws_secret_access_key": "s"}
    return {name: boto3.client(name, **kw) for name in ("iam", "ecs", "ec2", "elbv2")}


def _populate(clients: dict) -> None:
    iam, ecs, ec2, elbv2 = (clients[k] for k in ("iam", "ecs", "ec2", "elbv2"))
    for index in range(10):
        iam.create_role(RoleName=f"role-{index}", AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
            '{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'))
    ecs.create_cluster(clusterName="bench")
    for index in range(5):
        ecs.register_task_definition(family=f"app-{index}", containerDefinitions=[
            {"name": "web", "image": "nginx", "memory": 256,
             "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=4, MaxCount=4, InstanceType="t2.micro")
    for index in range(3):
        elbv2.create_target_group(Name=f"tg-{index}", Protocol="HTTP", Port=80, VpcId=vpc)


def _latency(clients: dict, n: int) -> float:
    calls = [lambda: clients["iam"].get_role(RoleName="role-1"),
             lambda: clients["ecs"].describe_clusters(clusters=["bench"]),
             lambda: clients["ec2"].describe_instances()]
    for call in calls:
        call()
    samples = []
    for index in range(n):
        began = time.perf_counter()
        calls[index % len(calls)]()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=150, help="calls per latency sample")
    args = parser.parse_args()
    os.environ["CLOUDKATA_HOME"] = tempfile.mkdtemp(prefix="cloudkata-bench-")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from cloudkata.sandbox import manager

    bare = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    bare.start()
    host, port = bare.get_host_and_port()
    bare_clients = _clients(f"http://{host}:{port}")
    _populate(bare_clients)
    bare_p50 = _latency(bare_clients, args.n)
    bare.stop()

    info = manager.start(port=0, pace="real")
    try:
        ours = _clients(info.endpoint)
        _populate(ours)
        ours_p50 = _latency(ours, args.n)
        time.sleep(1.0)  # let the saver settle
        idle_for = 5.0
        before = _cpu_seconds(info.pid)
        time.sleep(idle_for)
        idle = (_cpu_seconds(info.pid) - before) / idle_for
        work = Path(tempfile.mkdtemp())
        saves, loads = [], []
        for index in range(5):
            began = time.perf_counter()
            manager.export_state(info.endpoint, work / f"s{index}.bin")
            saves.append(time.perf_counter() - began)
            began = time.perf_counter()
            manager.import_state(info.endpoint, work / f"s{index}.bin")
            loads.append(time.perf_counter() - began)
        size = (work / "s0.bin").stat().st_size
    finally:
        manager.stop()

    print(f"read call p50, bare moto     {bare_p50 * 1000:7.2f} ms  (n={args.n})")
    print(f"read call p50, our sandbox   {ours_p50 * 1000:7.2f} ms  "
          f"({ours_p50 / bare_p50:.2f}x bare moto; goal <= 1.5x)")
    print(f"idle CPU of the sandbox      {idle * 100:7.2f} % of a core over {idle_for:.0f} s "
          "(goal < 2%)")
    print(f"export (save) median         {statistics.median(saves) * 1000:7.1f} ms  "
          f"({size:,} bytes)")
    print(f"import (restore) median      {statistics.median(loads) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
