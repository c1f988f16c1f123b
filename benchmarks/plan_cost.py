"""What an offline plan costs against its floor: `.venv/bin/python benchmarks/plan_cost.py [--quick] [--models N..]`.

Prints, each a median of `--repeat` runs in fresh processes (imports included, as `make plan` pays them):
- plan time vs the floor for 1, 200 and 500 models and the dev stack. The floor is a bare program registering the
  same resources (types, names, parents, providers, inputs, dependencies, as captured) with the SDK's generic
  resource classes, run by the plan's own runner (`capture.run_program`: the same `PlanMocks`, capture monitor,
  output settling and collector policy): what any program making these resources must pay. Goals: <= 1.3x at 200 models, < 2x for the dev stack.
- `plan --base HEAD` vs a plain plan of the dev stack (goal <= 1.3x; the base plan is cached by content);
- dependency edges: for one model Deployment (and how many are node-pool resources), totals at 200/500 models;
- chart rendering: a dev plan with charts from a warm cache, from a cold one, and without (`--charts none`);
  goal: warm <= 2x without.
Charts are rendered in the plan timings unless said otherwise (the floor registers the rendered objects too).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable

# A bare program: registers the captured resources one by one with the generic SDK resource classes. It is run by
# the plan's own runner (`serving.plan.compute.capture.run_program`: same thread, mocks, capture monitor, config,
# output settling and collector policy), so the floor differs from the plan only in the program.
# Input: a JSON file (path in $PLAN_COST_FLOOR) of states in tree order.
FLOOR_PROGRAM = r'''
import json, os
from pathlib import Path
import pulumi

doc = json.loads(Path(os.environ["PLAN_COST_FLOOR"]).read_text())


class Component(pulumi.ComponentResource):
    def __init__(self, t, name, opts):
        super().__init__(t, name, None, opts)


made = {}
for s in doc["states"]:
    parent = made.get(s["parent"])
    deps = [made[d] for d in s["dependencies"] if d in made]
    provider = made.get(s["provider"].rsplit("::", 1)[0]) if s["provider"] else None
    opts = pulumi.ResourceOptions(parent=parent, depends_on=deps or None, provider=provider)
    if s["type"].startswith("pulumi:providers:"):
        made[s["urn"]] = pulumi.ProviderResource(s["type"].split(":")[-1], s["name"], s["inputs"], opts)
    elif s["custom"]:
        made[s["urn"]] = pulumi.CustomResource(s["type"], s["name"], s["inputs"], opts)
    else:
        made[s["urn"]] = Component(s["type"], s["name"], opts)
'''

# Runs FLOOR_PROGRAM (argv: program file, project root, stack) as `python -m serving plan` runs a program (the
# collector left off in a process that exits when done), minus config validation, charts and printing.
FLOOR_RUNNER = r'''
import sys
from pathlib import Path
from serving.plan.compute.capture import collector_paused, run_program
from serving.stackfile import read_stack

program, root, stack = sys.argv[1:4]
with collector_paused(restore=False):
    plan = run_program(read_stack(stack, Path(root)), Path(root), Path(program))
print(len(plan.steps))
'''


def stack_with_models(n: int) -> dict[str, Any]:
    """The dev stack with `n` copies of its CPU model (teams' quotas raised to hold them)."""
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    platform = doc["config"]["serving:platform"]
    template = next(m for m in platform["models"] if not (m.get("resources") or {}).get("gpus"))
    models = []
    for i in range(n):
        m = copy.deepcopy(template)
        m["name"] = f"{template['name']}-{i}" if n > 1 else template["name"]
        models.append(m)
    platform["models"] = models
    for team in platform["teams"]:
        team["quota"] = {**team.get("quota", {}), "cpu": "100000", "memory": "100000Gi", "pods": 100000}
    system = platform.setdefault("nodePools", {}).setdefault("system", {})
    system["maxSize"] = max(int(system.get("maxSize", 1)), n // 2 + 10)  # room for the models at maxReplicas
    return doc


def project_root(tmp: Path, name: str, doc: dict[str, Any] | None) -> Path:
    """A project root: this checkout's program with the given stack file as Pulumi.bench.yaml (or dev as is)."""
    if doc is None:
        return ROOT
    root = tmp / name
    root.mkdir()
    for entry in ("Pulumi.yaml", "__main__.py", "serving"):
        (root / entry).symlink_to(ROOT / entry)
    (root / "Pulumi.bench.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def timed(cmd: list[str], repeat: int, env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return statistics.median(times)


def plan_cmd(root: Path, stack: str, *extra: str) -> list[str]:
    return [PYTHON, "-m", "serving", "plan", "--root", str(root), "--stack", stack, *extra]


def floor_cmd(tmp: Path, root: Path, stack: str) -> list[str]:
    program = tmp / "floor_program.py"
    program.write_text(FLOOR_PROGRAM)
    return [PYTHON, "-c", FLOOR_RUNNER, str(program), str(root), stack]


def floor_input(plan: Any, path: Path) -> Path:
    from serving.plan.values import to_plain

    states = [{
        "urn": s.urn, "type": s.type, "name": s.name, "custom": s.custom, "parent": s.parent,
        "provider": s.provider, "dependencies": list(s.dependencies), "inputs": to_plain(s.inputs),
    } for s in plan.resources if not s.is_stack]
    path.write_text(json.dumps({"project": plan.project, "stack": plan.stack, "states": states}))
    return path


def edges(plan: Any) -> tuple[int, int, int]:
    """(total dependency edges, deps of the first model Deployment, of which node-pool resources)."""
    total = sum(len(s.dependencies) for s in plan.resources)
    deployment = next(s for s in plan.resources if s.type == "kubernetes:apps/v1:Deployment" and "serving:model:" in s.urn)
    pools = [d for d in deployment.dependencies if "serving:nodepools:NodePools" in d]
    return total, len(deployment.dependencies), len(pools)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 model and the dev stack only, one run each")
    parser.add_argument("--models", type=int, nargs="+", metavar="N",
                        help="model counts to measure (default: 1 200 500; with --quick: 1)")
    parser.add_argument("--models-only", action="store_true",
                        help="only the model counts: no dev stack, --base or chart rendering figures")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    from serving.plan import capture_plan

    counts = args.models or ([1] if args.quick else [1, 200, 500])
    sizes: list[tuple[str, int | None]] = [(f"{n} model{'s' if n != 1 else ''}", n) for n in counts]
    if not args.models_only:
        sizes.append(("dev stack", None))
    with tempfile.TemporaryDirectory(prefix="plan-cost-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"{'':<12} {'resources':>9} {'plan':>8} {'floor':>8} {'ratio':>6}   dependency edges")
        for label, n in sizes:
            doc = stack_with_models(n) if n is not None else None
            root = project_root(tmp, label.replace(" ", "-"), doc)
            stack = "bench" if doc is not None else "dev"
            plan = capture_plan(stack, root)
            floor = timed(floor_cmd(tmp, root, stack), repeat,
                          env={"PLAN_COST_FLOOR": str(floor_input(plan, tmp / f"{stack}-{n}.json"))})
            project = timed(plan_cmd(root, stack), repeat)
            total, one, pools = edges(plan)
            print(f"{label:<12} {len(plan.steps):>9} {project:>7.2f}s {floor:>7.2f}s {project / floor:>5.2f}x   "
                  f"{total} in all; one Deployment: {one} ({pools} node-pool resources)")

        if args.models_only:
            return 0
        plain = timed(plan_cmd(ROOT, "dev"), repeat)
        timed(plan_cmd(ROOT, "dev", "--base", "HEAD"), 1)  # fills the base plan cache
        base = timed(plan_cmd(ROOT, "dev", "--base", "HEAD"), repeat)
        print(f"\nplan --base HEAD: {base:.2f}s vs plain plan {plain:.2f}s: {base / plain:.2f}x (goal <= 1.3x)")

        none = timed(plan_cmd(ROOT, "dev", "--charts", "none"), repeat)
        warm = timed(plan_cmd(ROOT, "dev"), repeat)
        cold = timed(plan_cmd(ROOT, "dev"), 1, env={"SERVING_CACHE_DIR": str(tmp / "cold-cache")})
        print(f"chart rendering (dev): without {none:.2f}s, warm cache {warm:.2f}s ({warm / none:.2f}x, goal <= 2x), "
              f"cold cache {cold:.2f}s ({cold / none:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
