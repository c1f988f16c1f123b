"""`history`: what each model served over time, from the stack file's git history."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml

from serving.cli import main
from serving.lifecycle.history import changes, commits, models_of

from .conftest import REPO, platform_of, repo_stack


def _commit(root: Path, doc: dict, message: str, author: str) -> None:
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    subprocess.run(["git", "-C", str(root), "add", "Pulumi.dev.yaml"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", f"user.name={author}", "-c", f"user.email={author}@example.com",
                    "commit", "-q", "-m", message], check=True)


def test_history_lists_every_serving_change_with_commit_author_and_from_to(tmp_path: Path, capsys) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    doc = repo_stack("dev")
    _commit(tmp_path, doc, "add models", "alice")
    churn = next(m for m in platform_of(doc)["models"] if m["name"] == "churn")
    base_version = churn["version"]
    churn.pop("canary", None)
    churn["version"] = "v20"
    churn["artifact"] = {"uri": "s3://example-models-dev/churn/v20"}
    _commit(tmp_path, doc, "churn v20", "bob")
    platform_of(doc)["gateway"]["replicas"] = 3  # not a serving change of any model
    _commit(tmp_path, doc, "gateway replicas", "carol")
    churn["canary"] = {"version": "v21", "weight": 5}
    churn["stopped"] = True
    _commit(tmp_path, doc, "churn canary, stopped", "dave")

    found = list(changes(tmp_path, "dev", "churn"))
    rows = [(c.author.split(" ")[0], c.field, c.old, c.new) for c in found]
    assert rows[0][:2] == ("alice", "model") and rows[0][2] is None
    assert ("bob", "version", base_version, "v20") in rows
    assert ("bob", "artifact", "s3://example-models-dev/churn/v13".replace("v13", base_version), "s3://example-models-dev/churn/v20") in rows
    assert any(r[0] == "bob" and r[1] == "canary" and r[3] is None for r in rows)
    assert ("dave", "canary", None, "v21 5%") in rows and ("dave", "stopped", None, "true") in rows
    assert not any(r[0] == "carol" for r in rows), "a change that serves nothing new is not listed"
    assert all(len(c.commit) == 12 and c.when[:4].isdigit() for c in found)

    assert main(["history", "--stack", "dev", "--model", "churn", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"version: {base_version} -> v20" in out and "bob <bob@example.com>" in out
    assert main(["history", "--stack", "dev", "--model", "nope", "--root", str(tmp_path)]) == 2
    assert "never appears" in capsys.readouterr().err


def test_history_of_the_repository_itself_matches_its_stack_files() -> None:
    for stack in ("dev", "prod"):
        if len(commits(REPO, f"Pulumi.{stack}.yaml")) < 2:
            pytest.skip("shallow checkout: no stack-file history")
        found = list(changes(REPO, stack))
        present: dict[str, bool] = {}
        for c in found:
            if c.field == "model":
                present[c.model] = c.new is not None
        committed = subprocess.run(["git", "-C", str(REPO), "show", f"HEAD:Pulumi.{stack}.yaml"],
                                   capture_output=True, text=True, check=True).stdout
        assert {m for m, p in present.items() if p} == set(models_of(committed))
        # Every listed change really differs.
        assert all(c.old != c.new for c in found)
