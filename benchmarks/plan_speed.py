"""Wall time and peak memory of an offline plan: `.venv/bin/python benchmarks/plan_speed.py [--stack dev]`.

The first (cold) plan includes importing the Pulumi SDK and providers and the program's first run; warm plans
show what each further plan costs in the same process (e.g. in the test suite). Peak memory is the process's
maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mib() -> float:
    # Linux reports kilobytes, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--repeat", type=int, default=3, help="warm plans to time after the cold one (default 3)")
    args = parser.parse_args()

    start = time.perf_counter()
    from serving.plan import capture_plan, render_json, render_tree

    def one_plan() -> int:
        plan = capture_plan(args.stack)
        render_tree(plan)
        render_json(plan)
        return len(plan.steps)

    steps = one_plan()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        one_plan()
        warm.append(time.perf_counter() - t)

    print(f"stack {args.stack}: {steps} resources")
    print(f"cold plan (imports + program + tree + JSON): {cold:.2f} s")
    if warm:
        print(f"warm plan, median of {len(warm)}: {statistics.median(warm):.2f} s (min {min(warm):.2f} s)")
    print(f"peak memory (max RSS): {peak_rss_mib():.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
