"""No command prints a secret or a `secure:` ciphertext: plan (tree, JSON, manifests), promote, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from serving import cli
from tests.conftest import REPO, copy_program, platform_of, repo_stack

CIPHER = "v1:CIPHERTEXT-MARKER-7f3a"
PLAIN = "PLAINTEXT-MARKER-9b2c"


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    copy_program(root)
    dev = repo_stack("dev")
    p = platform_of(dev)
    p["monitoring"].setdefault("grafana", {})["adminPassword"] = {"secure": CIPHER}
    p["monitoring"].setdefault("alerting", {})["receivers"] = [
        {"name": "oncall", "type": "pagerduty", "routingKey": PLAIN, "severities": ["critical"]}]  # dev: a warning
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, sort_keys=False))
    (root / "Pulumi.prod.yaml").write_text((REPO / "Pulumi.prod.yaml").read_text())
    return root


def test_plan_tree_json_and_manifests_print_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _root(tmp_path)
    out_dir = tmp_path / "manifests"
    assert cli.main(["plan", "--stack", "dev", "--root", str(root), "--manifests", str(out_dir)]) == 0
    assert cli.main(["plan", "--stack", "dev", "--root", str(root), "--json"]) == 0
    printed = capsys.readouterr()
    text = printed.out + printed.err
    written = "".join(f.read_text() for f in out_dir.rglob("*") if f.is_file())
    for marker in (CIPHER, PLAIN):
        assert marker not in text and marker not in written
    assert "warning: a secret in plain text" in printed.err


def test_promote_and_errors_print_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _root(tmp_path)
    dev = yaml.safe_load((root / "Pulumi.dev.yaml").read_text())
    platform_of(dev)["models"][0]["version"] = {"secure": CIPHER}  # a secure value where no secret belongs
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, sort_keys=False))
    assert cli.main(["plan", "--stack", "dev", "--root", str(root)]) == 2
    assert cli.main(["promote", "--root", str(root), "--dry-run"]) == 2
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "where the schema expects no secret" in text
    assert CIPHER not in text and PLAIN not in text
