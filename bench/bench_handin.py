"""What the data-only hand-in format costs next to the pickle it replaced.

Solves eks-storage (with its prerequisites) on a private sandbox in a temporary
CLOUDKATA_HOME, stops it, loads the saved state into this process, then times, as the
sandbox would run them:
- export: the hand-in file (:func:`persistence.export_bytes`) vs. the pickle crash snapshot;
- import: :func:`persistence.import_bytes` (decode, check, replace everything) vs. restoring
  the pickle snapshot;
and compares file sizes. Budgets: export and import <= 1 s each, file <= 5 MB.
Run: ``python bench/bench_handin.py [-n 7] [--state FILE] [--lab eks-storage]``
(``--state``: a sandbox state file saved earlier, to skip the minutes of solving).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BUDGET_SECONDS = 1.0
BUDGET_BYTES = 5_000_000


def _median(function: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="runs per measurement (median)")
    parser.add_argument("--state", type=Path, help="a saved sandbox state file to load")
    parser.add_argument("--lab", default="eks-storage", help="lab to solve (default %(default)s)")
    args = parser.parse_args()
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    from cloudkata.sandbox import handin_allow, persistence

    state = args.state
    if state is None:
        home = Path(tempfile.mkdtemp(prefix="cloudkata-bench-handin-"))
        began = time.perf_counter()
        state = handin_allow.solve_labs(home, (args.lab,))
        print(f"solved {args.lab} (with prerequisites) in {time.perf_counter() - began:.0f} s")
    plane = handin_allow.load_in_process(state)

    def snapshot() -> bytes:
        with plane.lock:
            return persistence.snapshot(plane)

    handin_file, pickle_file = persistence.export_bytes(plane), snapshot()
    header, _ = persistence.read_header(handin_file)
    export = _median(lambda: persistence.export_bytes(plane), args.n)
    export_old = _median(snapshot, args.n)
    imported = _median(lambda: persistence.import_bytes(plane, handin_file), args.n)
    imported_old = _median(lambda: persistence.restore_snapshot(plane, pickle_file), args.n)

    print(f"state: {', '.join(header['services'])}; median of {args.n} runs")
    print(f"{'':8}{'hand-in':>12}{'pickle':>12}{'ratio':>8}   budget")
    rows = [("export", export, export_old, BUDGET_SECONDS),
            ("import", imported, imported_old, BUDGET_SECONDS)]
    for name, new, old, budget in rows:
        verdict = "ok" if new <= budget else "OVER"
        print(f"{name:8}{new * 1000:>10.0f}ms{old * 1000:>10.0f}ms{new / old:>7.2f}x"
              f"   <= {budget:.0f} s: {verdict}")
    size, size_old = len(handin_file), len(pickle_file)
    verdict = "ok" if size <= BUDGET_BYTES else "OVER"
    print(f"{'size':8}{size / 1e6:>10.2f}MB{size_old / 1e6:>10.2f}MB{size / size_old:>7.2f}x"
          f"   <= {BUDGET_BYTES / 1e6:.0f} MB: {verdict}")


if __name__ == "__main__":
    main()
