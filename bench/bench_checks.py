"""How fast is feedback? Our checks vs. the same API calls made the verify-script way.

Measured in one run, on one sandbox:
- sandbox cold start (process spawn to first healthy answer);
- a full ``check ecs-iam-roles`` in-process (fresh cache each time: every call really sent);
- the baseline: the very same API calls our checks made, each as an ``aws`` CLI subprocess,
  which is what shell verify scripts on other lab platforms do.
Prints medians and the ratio. Run: ``make bench`` (or ``python bench/bench_checks.py -n 20``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def _cli_words(operation: str, kwargs: dict) -> list[str]:
    words = [re.sub(r"(?<!^)(?=[A-Z])", "-", operation.replace("_", "-")).lower()]
    for key, value in kwargs.items():
        flag = "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()
        words += [flag, value if isinstance(value, str) else json.dumps(value)]
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="repetitions (default 15)")
    args = parser.parse_args()
    os.environ["CLOUDKATA_HOME"] = tempfile.mkdtemp(prefix="cloudkata-bench-")

    from cloudkata.engine import LabSession
    from cloudkata.labs import Catalogue
    from cloudkata.sandbox import manager
    from cloudkata.targets import Target

    starts = []
    for _ in range(5):
        began = time.perf_counter()
        info = manager.start(port=0)
        starts.append(time.perf_counter() - began)
        manager.stop()
    info = manager.start(port=0)
    try:
        target = Target("sandbox", "us-east-1", info.endpoint)
        catalogue = Catalogue.default()
        session = LabSession(catalogue.load("ecs-iam-roles"), target, catalogue)
        for step in session.lab.steps:
            assert all(r.ok for r in session.solve(step)), "solution failed"

        ours = []
        for _ in range(args.n):
            began = time.perf_counter()
            reports = [session.check(step) for step in session.lab.steps]
            ours.append(time.perf_counter() - began)
        assert all(r.passed for r in reports)
        calls = []
        for step in session.lab.steps:  # the exact calls each step's checks make
            session.check(step)
            calls += [(svc, op, json.loads(kw)) for (svc, op, kw) in session.aws._cache]

        env = target.env()
        commands = []
        for service, op, kwargs in calls:
            if op.startswith("paginate:"):
                _, op, _ = op.split(":")
            commands.append(["aws", service, *_cli_words(op, kwargs)])
        theirs = []
        for _ in range(max(3, args.n // 5)):
            began = time.perf_counter()
            for command in commands:
                subprocess.run(command, env=env, capture_output=True, check=True)
            theirs.append(time.perf_counter() - began)
    finally:
        manager.stop()

    cold = statistics.median(starts)
    p50_ours, p50_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"sandbox cold start          median {cold * 1000:7.1f} ms  (n=5)")
    print(f"check ecs-iam-roles (ours)  median {p50_ours * 1000:7.1f} ms  (n={len(ours)}, "
          f"{len(calls)} API calls, 4 steps, 11 checks)")
    print(f"same calls as `aws` CLI     median {p50_theirs * 1000:7.1f} ms  (n={len(theirs)}, "
          f"{len(commands)} subprocesses)")
    print(f"ratio                       {p50_theirs / p50_ours:7.1f}x faster in-process")


if __name__ == "__main__":
    sys.exit(main())
