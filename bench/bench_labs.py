"""Full-lab check time, per lab, at its end state: how long `cloudkata check LAB` takes.

Solves every lab in prerequisite order on one fresh sandbox (frozen clock, fast-forwarded by
each step's settle time), then times all of that lab's checks in one run, as `cloudkata check
LAB` makes it (fresh cache each run, checks concurrent, each read made once). Prints
p50/min/max per lab and the API calls one full check makes.
Run: ``python bench/bench_labs.py [-n 9]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=9, help="timed runs per lab")
    args = parser.parse_args()
    os.environ["CLOUDKATA_HOME"] = tempfile.mkdtemp(prefix="cloudkata-bench-")

    from cloudkata.engine import LabSession
    from cloudkata.labs import Catalogue
    from cloudkata.sandbox import manager
    from cloudkata.targets import Target

    info = manager.start(port=0, pace="frozen")
    rows = []
    try:
        target = Target("sandbox", "us-east-1", info.endpoint)
        catalogue = Catalogue.default()
        for lab in catalogue.load_all():
            session = LabSession(lab, target, catalogue, in_process_aws=True)
            began = time.perf_counter()
            for step in session.lab.steps:
                failed = [r for r in session.solve(step) if not r.ok]
                assert not failed, f"{lab.id}/{step.id}: {failed[0].output[-300:]}"
            solved = time.perf_counter() - began
            samples, calls = [], 0
            for _ in range(args.n):
                began = time.perf_counter()
                session.check_all()  # as `cloudkata check LAB` does: one run
                calls += len(session.aws._cache)
                samples.append(time.perf_counter() - began)
            rows.append((lab.id, statistics.median(samples), min(samples), max(samples),
                         calls // args.n, solved))
    finally:
        manager.stop()
    print(f"{'lab':<22}{'p50 ms':>9}{'min':>8}{'max':>8}{'API calls':>11}{'solve s':>9}")
    for lab_id, p50, low, high, calls, solved in rows:
        print(f"{lab_id:<22}{p50 * 1000:>9.0f}{low * 1000:>8.0f}{high * 1000:>8.0f}"
              f"{calls:>11}{solved:>9.1f}")


if __name__ == "__main__":
    main()
