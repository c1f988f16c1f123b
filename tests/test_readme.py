"""The README's promises: the Quick start is two commands, and the config it shows is valid config."""

from __future__ import annotations

import re

import yaml

from serving.config import parse_platform
from tests.conftest import REPO, platform_of, repo_stack

README = (REPO / "README.md").read_text()


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, re.S)


def test_quick_start_is_make_plan_and_make_test() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert block.split("\n")[:-1] == ["make plan", "make test"]


def test_the_commented_stack_example_is_valid_config() -> None:
    (example,) = [b for b in yaml_blocks() if "serving:platform:" in b]
    cfg = parse_platform(yaml.safe_load(example)["config"]["serving:platform"], "README.md")
    assert [m.name for m in cfg.models] == ["llama-chat"]


def test_the_model_example_is_valid_in_the_dev_stack() -> None:
    (example,) = [b for b in yaml_blocks() if b.lstrip().startswith("- name: churn")]
    model = yaml.safe_load(example)[0]
    doc = repo_stack("dev")
    platform = platform_of(doc)
    platform["models"] = [m for m in platform["models"] if m["name"] != model["name"]] + [model]
    if not any(t["name"] == model["team"] for t in platform["teams"]):
        platform["teams"].append({"name": model["team"]})
    cfg = parse_platform(platform, "README.md")
    assert cfg.model("churn").canary is not None
