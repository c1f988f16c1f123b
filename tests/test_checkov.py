"""checkov's image-digest check on a model's objects, written with the plan's manifests API (`python -m serving plan
--manifests DIR`). checkov on every object of the shipped stacks runs in `serving check` (tests/test_check.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from serving.check.checkov import run_checkov as checkov_reports
from serving.plan import capture_plan, write_manifests

from .conftest import REPO, platform_of, repo_stack, require_tool
from .test_model import model_entry

CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"

@pytest.fixture(scope="module")
def checkov() -> Path:
    return require_tool(CHECKOV, "tools")


def run_checkov(checkov: Path, directory: Path, *extra: str) -> dict[str, Any]:
    """checkov's Kubernetes report for `directory`, as `serving check` runs it (`serving.check.checkov`). Not
    --quiet: its JSON would omit passed checks, which show that each model's objects were checked at all."""
    (report,) = checkov_reports(directory, "--framework", "kubernetes", *extra, binary=checkov)
    report["results"].setdefault("passed_checks", [])
    report["results"].setdefault("failed_checks", [])
    return report


def digest_verdicts(checkov: Path, stack_root: Callable[..., Path], tmp_path: Path, doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(PASSED|FAILED, manifest file) of checkov's image-digest check on the tabular team's objects of `doc`."""
    plan = capture_plan("dev", root=stack_root(dev=doc))
    write_manifests(plan, tmp_path / "manifests")
    report = run_checkov(checkov, tmp_path / "manifests", "--check", "CKV_K8S_43")
    return {
        (c["check_result"]["result"], Path(c["file_path"]).name)
        for key in ("passed_checks", "failed_checks")
        for c in report["results"][key]
        if "team-tabular" in c["file_path"]
    }


def test_a_digest_pinned_image_passes_the_digest_check(checkov: Path, stack_root: Callable[..., Path], tmp_path: Path) -> None:
    doc = repo_stack("dev")
    churn = model_entry(doc, "churn")
    # The model baked into a digest-pinned image: no storage-initializer at all.
    churn.update(image="ghcr.io/example/churn-mlserver@sha256:" + "0" * 64, artifact={"uri": "image://"})
    del churn["canary"]
    verdicts = digest_verdicts(checkov, stack_root, tmp_path, doc)
    assert ("FAILED", "deployment.team-tabular.churn.yaml") not in verdicts
    assert ("PASSED", "deployment.team-tabular.churn.yaml") in verdicts


def test_a_downloaded_model_passes_the_digest_check_with_a_pinned_initializer(
    checkov: Path, stack_root: Callable[..., Path], tmp_path: Path
) -> None:
    """The server image and the platform's storage-initializer image, both by digest: the init container counts too."""
    doc = repo_stack("dev")
    churn = model_entry(doc, "churn")
    churn["image"] = "seldonio/mlserver@sha256:" + "0" * 64
    del churn["canary"]
    verdicts = digest_verdicts(checkov, stack_root, tmp_path / "tagged", doc)
    assert ("FAILED", "deployment.team-tabular.churn.yaml") in verdicts, "the tag-pinned initializer fails the check"
    platform_of(doc)["storageInitializerImage"] = "kserve/storage-initializer@sha256:" + "1" * 64
    verdicts = digest_verdicts(checkov, stack_root, tmp_path / "pinned", doc)
    assert ("FAILED", "deployment.team-tabular.churn.yaml") not in verdicts
    assert ("PASSED", "deployment.team-tabular.churn.yaml") in verdicts
