"""`python -m serving promote`: model versions move from dev to prod, nothing else does, comments survive."""

from __future__ import annotations

import copy
import difflib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from serving import cli
from serving.promote import PromotionError, promote, version_fields
from tests.conftest import REPO, copy_program, platform_of, repo_stack

PROD_HEADER = "# Prod stack written by hand: this comment, the ones below and the key order must survive promotion.\n"


def _get(node: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return "<unset>"
        node = node[part]
    return node


def _without_version_fields(platform: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(platform)
    for model in out.get("models", []):
        for path in version_fields():
            *parents, leaf = path.split(".")
            node = model
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(leaf, None)
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """dev and prod stack files: prod is the repo's own text (comments, flow maps, quoting) plus a few comments."""
    root = tmp_path / "project"
    root.mkdir()
    copy_program(root)
    prod_text = (REPO / "Pulumi.prod.yaml").read_text()
    prod_text = PROD_HEADER + prod_text.replace("    models:\n", "    models:  # promoted from dev\n", 1)
    (root / "Pulumi.prod.yaml").write_text(prod_text)
    dev = repo_stack("dev")
    prod_models = {m["name"]: m for m in platform_of(yaml.safe_load(prod_text))["models"]}
    shared = [m for m in platform_of(dev)["models"] if m["name"] in prod_models]
    if not shared:
        pytest.skip("dev and prod share no model")
    model = shared[0]
    # dev runs what prod runs, except a new version and artifact: exactly two values to promote.
    for path in version_fields():
        value = _get(prod_models[model["name"]], path)
        *parents, leaf = path.split(".")
        node = model
        for part in parents:
            node = node.setdefault(part, {})
        if value == "<unset>":
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    for kind in ("canary", "shadow"):  # the loop above leaves empty candidate mappings where prod has none
        if kind not in prod_models[model["name"]]:
            model.pop(kind, None)
    model["version"] = "2099-01-01"
    model["artifact"]["uri"] = "s3://example-models-dev/promoted/2099-01-01"
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, sort_keys=False))
    return root


def _shared_model(root: Path) -> str:
    dev = {m["name"] for m in platform_of(yaml.safe_load((root / "Pulumi.dev.yaml").read_text()))["models"]}
    prod = [m["name"] for m in platform_of(yaml.safe_load((root / "Pulumi.prod.yaml").read_text()))["models"]]
    return next(name for name in prod if name in dev)


def test_promote_copies_only_version_fields_and_keeps_comments(project: Path, capsys) -> None:
    name = _shared_model(project)
    before_text = (project / "Pulumi.prod.yaml").read_text()
    before = platform_of(yaml.safe_load(before_text))

    assert cli.main(["promote", "--from", "dev", "--to", "prod", "--model", name, "--root", str(project)]) == 0
    out = capsys.readouterr().out

    after_text = (project / "Pulumi.prod.yaml").read_text()
    after = platform_of(yaml.safe_load(after_text))
    dev = platform_of(yaml.safe_load((project / "Pulumi.dev.yaml").read_text()))
    # Every comment line is still there, and the environment-specific settings are untouched.
    comments = [line.split("#", 1)[1] for line in before_text.splitlines() if "#" in line]
    assert comments and all(comment in after_text for comment in comments)
    assert after_text.startswith(PROD_HEADER)
    assert _without_version_fields(after) == _without_version_fields(before)
    # The version fields are dev's.
    dev_model = next(m for m in dev["models"] if m["name"] == name)
    prod_model = next(m for m in after["models"] if m["name"] == name)
    for path in version_fields():
        expected = _get(dev_model, path)
        if path.endswith("artifact.uri") and isinstance(expected, str):  # promotion.artifactRoots of prod
            expected = expected.replace("s3://example-models-dev/", "s3://example-models-prod/")
        assert _get(prod_model, path) == expected, path
    # Other models did not move.
    for model in after["models"]:
        if model["name"] != name:
            assert model == next(m for m in before["models"] if m["name"] == model["name"])
    # Exactly the two promoted values changed, in place: no other line was reformatted.
    assert len(before_text.splitlines()) == len(after_text.splitlines())
    changed = [(a, b) for a, b in zip(before_text.splitlines(), after_text.splitlines()) if a != b]
    assert len(changed) == 2 and all("2099-01-01" in b for _, b in changed), changed
    # The command prints what it changed and the resulting plan diff of prod.
    assert f"promoted {name} from dev to prod" in out
    assert f"{name}.version:" in out and '"2099-01-01"' in out
    assert "Previewing update (prod)" in out and "to update" in out


def test_round_trip_of_an_unchanged_file_is_byte_identical(project: Path) -> None:
    from serving.promote import dump_round_trip, load_round_trip

    text = (project / "Pulumi.prod.yaml").read_text()
    assert dump_round_trip(load_round_trip(project / "Pulumi.prod.yaml")) == text


def test_unknown_model_is_refused_with_exit_2(project: Path, capsys) -> None:
    before = (project / "Pulumi.prod.yaml").read_text()
    assert cli.main(["promote", "--from", "dev", "--to", "prod", "--model", "no-such-model", "--root", str(project)]) == 2
    err = capsys.readouterr().err
    assert "model 'no-such-model' is not in stack dev nor prod" in err and "Traceback" not in err
    assert (project / "Pulumi.prod.yaml").read_text() == before


def test_model_only_in_dev_is_refused(project: Path) -> None:
    dev = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    extra = copy.deepcopy(platform_of(dev)["models"][0])
    extra["name"] = "only-in-dev"
    platform_of(dev)["models"].append(extra)
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, sort_keys=False))
    with pytest.raises(PromotionError, match="'only-in-dev' is not in stack prod"):
        promote("dev", "prod", ["only-in-dev"], project, plan=False)


def test_invalid_result_is_not_written(project: Path) -> None:
    name = _shared_model(project)
    dev = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    next(m for m in platform_of(dev)["models"] if m["name"] == name)["version"] = "not a valid version!"
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, sort_keys=False))
    before = (project / "Pulumi.prod.yaml").read_text()
    with pytest.raises(PromotionError, match=r"would be invalid:\nPulumi.prod.yaml:\d+:\d+: serving:platform.models\[\d+\].version"):
        promote("dev", "prod", [name], project, plan=False)
    assert (project / "Pulumi.prod.yaml").read_text() == before


def test_dry_run_writes_nothing(project: Path, capsys) -> None:
    before = (project / "Pulumi.prod.yaml").read_text()
    assert cli.main(["promote", "--dry-run", "--root", str(project)]) == 0
    assert "would promote" in capsys.readouterr().out
    assert (project / "Pulumi.prod.yaml").read_text() == before


def test_promoting_again_changes_nothing(project: Path) -> None:
    name = _shared_model(project)
    assert promote("dev", "prod", [name], project, plan=False).changed
    text = (project / "Pulumi.prod.yaml").read_text()
    assert not promote("dev", "prod", [name], project, plan=False).changed
    assert (project / "Pulumi.prod.yaml").read_text() == text


def test_model_only_in_the_target_gets_the_retire_hint(project: Path) -> None:
    prod = yaml.safe_load((project / "Pulumi.prod.yaml").read_text())
    extra = copy.deepcopy(platform_of(prod)["models"][0])
    extra["name"] = "only-in-prod"
    platform_of(prod)["models"].append(extra)
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(prod, sort_keys=False))
    with pytest.raises(PromotionError, match="'only-in-prod' is only in prod, not in dev: there is no dev version to "
                                             "promote; to retire it, remove it from Pulumi.prod.yaml"):
        promote("dev", "prod", ["only-in-prod"], project, plan=False)


def _repo_project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    copy_program(root)
    for stack in ("dev", "prod"):
        (root / f"Pulumi.{stack}.yaml").write_text((REPO / f"Pulumi.{stack}.yaml").read_text())
    return root


def test_candidate_keeps_the_targets_weight_and_replicas_and_maps_the_bucket(tmp_path: Path) -> None:
    root = _repo_project(tmp_path)
    promote("dev", "prod", ["churn"], root, plan=False)
    churn = next(m for m in platform_of(yaml.safe_load((root / "Pulumi.prod.yaml").read_text()))["models"]
                 if m["name"] == "churn")
    dev_churn = next(m for m in platform_of(repo_stack("dev"))["models"] if m["name"] == "churn")
    assert churn["canary"]["version"] == dev_churn["canary"]["version"]
    assert churn["canary"]["artifact"]["uri"] == dev_churn["canary"]["artifact"]["uri"].replace("-dev/", "-prod/")
    prod_churn = next(m for m in platform_of(repo_stack("prod"))["models"] if m["name"] == "churn")
    assert (churn["canary"]["weight"], churn["canary"]["replicas"]) == (prod_churn["canary"]["weight"],
                                                                         prod_churn["canary"]["replicas"])


def test_unmapped_bucket_is_refused_with_the_reason(tmp_path: Path) -> None:
    root = _repo_project(tmp_path)
    text = (root / "Pulumi.prod.yaml").read_text()
    start = text.index("    promotion:")
    end = text.index("    teams:")
    (root / "Pulumi.prod.yaml").write_text(text[:start] + text[end:])
    with pytest.raises(PromotionError, match=r"churn.version|churn.artifact.uri: dev serves it from "
                                             r"s3://example-models-dev/, prod from s3://example-models-prod/"):
        promote("dev", "prod", ["churn"], root, plan=False)
    assert (root / "Pulumi.prod.yaml").read_text() == text[:start] + text[end:]


def test_crlf_line_endings_and_target_comments_survive_and_source_comments_stay_out(tmp_path: Path) -> None:
    root = _repo_project(tmp_path)
    dev = (root / "Pulumi.dev.yaml").read_text().replace(
        'version: "v13"', 'version: "v13"  # SOURCE-ONLY COMMENT')
    (root / "Pulumi.dev.yaml").write_text(dev)
    prod_text = (root / "Pulumi.prod.yaml").read_text()
    (root / "Pulumi.prod.yaml").write_bytes(prod_text.replace("\n", "\r\n").encode())
    promote("dev", "prod", ["churn"], root, plan=False)
    after = (root / "Pulumi.prod.yaml").read_bytes()
    assert after.count(b"\r\n") == after.count(b"\n"), "CRLF kept on every line"
    text = after.decode().replace("\r\n", "\n")
    assert "SOURCE-ONLY COMMENT" not in text
    assert all(line.split("#", 1)[1] in text for line in prod_text.splitlines() if "#" in line)


def test_a_second_promote_at_the_same_time_is_refused(tmp_path: Path) -> None:
    import fcntl
    import os

    root = _repo_project(tmp_path)
    fd = os.open(root / ".Pulumi.prod.yaml.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(PromotionError, match="another promote into Pulumi.prod.yaml is running"):
            promote("dev", "prod", ["churn"], root, plan=False)
    finally:
        os.close(fd)
    assert promote("dev", "prod", ["churn"], root, plan=False).changed


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    root = _repo_project(tmp_path)
    before = (root / "Pulumi.prod.yaml").read_text()

    def crash(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        promote("dev", "prod", ["churn"], root, plan=False)
    assert (root / "Pulumi.prod.yaml").read_text() == before
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == []


def _reindented(text: str, mapping: int, sequence: int, offset: int) -> str:
    """The same document written with another indentation (comments and quoting kept)."""
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes, y.width = True, 4096
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    out = io.StringIO()
    y.dump(y.load(text), out)
    return out.getvalue()


@pytest.mark.parametrize(("mapping", "sequence", "offset"), [(4, 2, 0), (4, 6, 4), (3, 3, 1), (2, 2, 0)])
def test_a_differently_indented_target_changes_only_the_lines_of_the_moved_values(
        tmp_path: Path, mapping: int, sequence: int, offset: int) -> None:
    """A prod file indented its own way (mapping 4 and sequences not indented, ...): promote rewrites only the lines
    carrying the moved values, each at the indentation its neighbours have."""
    root = _repo_project(tmp_path)
    before = _reindented((root / "Pulumi.prod.yaml").read_text(), mapping, sequence, offset)
    assert before != (REPO / "Pulumi.prod.yaml").read_text()
    (root / "Pulumi.prod.yaml").write_text(before)
    promotion = promote("dev", "prod", ["churn"], root, plan=False)
    after = (root / "Pulumi.prod.yaml").read_text()
    removed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")]
    added = [line[2:] for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("+ ")]
    assert len(promotion.changes) == len(added) == len(removed) > 0, added
    for change, line in zip(promotion.changes, added):
        assert str(change.new) in line and line.lstrip().startswith(change.path.split(".")[-1] + ":")
    for old, new in zip(removed, added):  # each in place of the line it replaces, at its indentation
        old = old[2:]
        assert old.split(":", 1)[0] == new.split(":", 1)[0]


def test_a_target_indented_unevenly_keeps_every_unchanged_line(tmp_path: Path) -> None:
    """One section indented 4, the rest 2 (no single indentation to detect): unchanged lines stay byte for byte."""
    root = _repo_project(tmp_path)
    text = (root / "Pulumi.prod.yaml").read_text()
    head, models = text.split("    models:\n", 1)
    models, tail = models.split("\n    promotion:", 1) if "\n    promotion:" in models else (models, "")
    uneven = head + "    models:\n" + "\n".join(("  " + line if line.strip() else line) for line in models.split("\n"))
    uneven += ("\n    promotion:" + tail) if tail else ""
    assert yaml.safe_load(uneven) == yaml.safe_load(text)
    (root / "Pulumi.prod.yaml").write_text(uneven)
    promotion = promote("dev", "prod", ["churn"], root, plan=False)
    after = (root / "Pulumi.prod.yaml").read_text()
    changed = [line for line in difflib.ndiff(uneven.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]
    assert len(changed) == 2 * len(promotion.changes) > 0, changed
