"""Reading stack files as the Pulumi CLI does (gopkg.in/yaml.v2, YAML 1.1): hostile files get exact messages, every
problem is reported at once in words, secrets stay secret; a hypothesis fuzz over the shipped stacks never ends in a
traceback or a hang."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving import cli
from serving.config import ConfigError, parse_platform, validate_stack_file
from serving.stackfile import parse_stack_text, read_stack
from serving.stackyaml import StackFileError, go_scalar, parse
from tests.conftest import REPO, copy_program, platform_of, repo_stack

F = "Pulumi.x.yaml"


def error_of(text: str) -> str:
    with pytest.raises(StackFileError) as exc:
        parse_stack_text(text, "x", F)
    (err,) = exc.value.errors
    return err


HOSTILE = {
    "syntax": ("config:\n  a: [1, 2\n", "Pulumi.x.yaml:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>': "
               "fix the YAML syntax (indentation with spaces, matching quotes and brackets, `key: value`)"),
    "tab": ("config:\n\tserving:platform: {}\n",
            "Pulumi.x.yaml:2:1: a tab character: YAML indents with spaces only; replace the tab by spaces"),
    "duplicate": ("config:\n  serving:platform:\n    environment: dev\n    environment: prod\n",
                  "Pulumi.x.yaml:4:5: the key 'environment' is given twice (first at line 3); the Pulumi CLI would "
                  "silently keep only the last one: merge the two into one"),
    "second models": ("config:\n  serving:platform:\n    models: []\n    teams: []\n    models: []\n",
                      "Pulumi.x.yaml:5:5: the key 'models' is given twice (first at line 3); the Pulumi CLI would "
                      "silently keep only the last one: merge the two into one"),
    "on key": ("config:\n  serving:platform:\n    on: 1\n",
               "Pulumi.x.yaml:3:5: this key is read as a boolean by the Pulumi CLI (YAML 1.1: unquoted "
               "on/off/yes/no/y/n/true/false/null), so the program would see the key 'true': quote it, e.g. \"on\":"),
    "root list": ("- config\n", "Pulumi.x.yaml:1:1: the file must be a mapping with a `config:` key, not a list: start "
                  "it with `config:` and indent the settings under it"),
    "config text": ("config: hello\n", "Pulumi.x.yaml:1:1: `config:` must be a mapping of `<project>:<key>: value`, "
                    "not a text value: indent the settings under it"),
    "too large": ("config:\n  a: 99999999999999999999\n", "Pulumi.x.yaml:2:6: number too large: the Pulumi CLI reads "
                  "numbers as 64-bit integers or floats; use a smaller number, or quote it if it is text"),
    "infinite": ("config:\n  a: .inf\n", "Pulumi.x.yaml:2:6: infinity and NaN cannot be passed to the program (the "
                 "Pulumi CLI passes config as JSON, which has neither): use a finite number"),
    "nesting": ("config:\n  a: " + "[" * 100 + "]" * 100 + "\n", "Pulumi.x.yaml:2:68: nested more than 64 levels "
                "deep: a stack file is never that deep; check the indentation and brackets"),
    "two documents": ("config: {}\n---\nconfig: {}\n", "Pulumi.x.yaml:2:1: a second YAML document (---): the Pulumi "
                      "CLI reads only the first one and ignores the rest; keep one document per stack file"),
    "tag": ("config:\n  a: !!python/object:os.system x\n", "Pulumi.x.yaml:2:6: the tag "
            "tag:yaml.org,2002:python/object:os.system is not supported in a stack file: remove it (plain values, "
            "quoted text, lists and mappings only)"),
    "typo top": ("confg:\n  a: 1\n", "Pulumi.x.yaml:1:1: unknown top-level key 'confg' (a stack file has: config, "
                 "secretsprovider, encryptedkey, encryptionsalt, environment): settings go under `config:`"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_get_one_exact_error(name: str) -> None:
    text, message = HOSTILE[name]
    assert error_of(text) == message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    text = "config:\n  serving:platform:\n" + "".join(f"    {line}\n" for line in lines)
    started = time.monotonic()
    err = error_of(text)
    assert time.monotonic() - started < 5
    assert "expands to more than 50,000 values (aliases expanding into aliases?)" in err


def test_scalars_are_read_as_gopkg_yaml_v2_reads_them() -> None:
    assert [go_scalar(s) for s in ("on", "Off", "y", "N", "yes", "oN", "010", "0x1F", "1_000", "1.10", "08")] == [
        True, False, True, False, True, "oN", 8, 31, 1000, 1.1, 8.0]
    assert go_scalar("2026-11-01") == "2026-11-01", "yaml.v2 keeps a timestamp decoded into interface{} as text"
    doc = parse("a: &x {b: 1, c: 2}\nd:\n  <<: *x\n  c: 3\n", F).value
    assert doc["d"] == {"b": 1, "c": 3}, "merge keys work; explicit keys win"


def test_program_sees_what_the_cli_passes() -> None:
    sf = parse_stack_text("config:\n  serving:x: {a: 3.0, b: 1.10, c: on, d: 2026-11-01}\n", "x", F)
    # Go's encoding/json writes 3.0 as 3: the program receives an int.
    assert json.loads(sf.runtime_config()["serving:x"]) == {"a": 3, "b": 1.1, "c": True, "d": "2026-11-01"}


def test_shipped_stacks_read_the_same_as_before() -> None:
    for stack in ("dev", "prod", "local"):
        assert read_stack(stack).config["serving:platform"] == json.loads(
            json.dumps(repo_stack(stack)["config"]["serving:platform"], default=str))


# -- every problem at once, in words ----------------------------------------------------------------------------


def _stack_errors(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    text = yaml.safe_dump(doc, sort_keys=False)
    sf = parse_stack_text(text, "dev", "Pulumi.dev.yaml")
    with pytest.raises(ConfigError) as exc:
        validate_stack_file(sf)
    return exc.value.errors


def test_a_typo_does_not_hide_a_dangling_team(tmp_path: Path) -> None:
    doc = repo_stack("dev")
    models = platform_of(doc)["models"]
    models[0]["scalling"] = {}
    models[-1]["team"] = "nobody"
    errs = _stack_errors(tmp_path, doc)
    assert any("models[0].scalling: unknown key 'scalling'; did you mean 'scaling'?" in e for e in errs), errs
    assert any(f"models[{len(models) - 1}].team: unknown team" in e for e in errs), errs


def test_errors_are_in_words_name_the_item_and_never_echo_the_value(tmp_path: Path) -> None:
    doc = repo_stack("dev")
    m = platform_of(doc)["models"][1]
    m["version"] = 1.10
    m["resources"]["memory"] = "lots-of-memory-hunter2"
    errs = _stack_errors(tmp_path, doc)
    text = "\n".join(errs)
    assert "hunter2" not in text and "[A-Za" not in text and "^" not in text
    line = next(e for e in errs if ".version:" in e)
    assert line.startswith("Pulumi.dev.yaml:") and f"(models[1] is {m['name']})" in line
    assert "must be text, got a number; an unquoted number such as 1.10 is read as the number 1.1: quote it" in line
    assert any("resources.memory: must be a Kubernetes quantity such as 24Gi" in e for e in errs)


# -- secrets ---------------------------------------------------------------------------------------------------


def test_secure_where_no_secret_is_expected_is_an_error_naming_the_field(tmp_path: Path) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["models"][0]["version"] = {"secure": "v1:AAAAciphertextAAAA"}
    errs = _stack_errors(tmp_path, doc)
    assert any("models[0].version: a `secure:` (encrypted) value where the schema expects no secret" in e for e in errs)
    assert "AAAAciphertext" not in "\n".join(errs)


def test_plain_text_secret_warns_in_dev_and_fails_in_prod(capsys: pytest.CaptureFixture[str]) -> None:
    doc = repo_stack("dev")
    platform_of(doc)["monitoring"].setdefault("grafana", {})["adminPassword"] = "plain-hunter2"
    sf = parse_stack_text(yaml.safe_dump(doc), "dev", "Pulumi.dev.yaml")
    validate_stack_file(sf)
    err = capsys.readouterr().err
    assert "monitoring.grafana.adminPassword: warning: a secret in plain text" in err and "hunter2" not in err
    platform_of(doc)["environment"] = "prod"
    sf = parse_stack_text(yaml.safe_dump(doc), "dev", "Pulumi.dev.yaml")
    with pytest.raises(ConfigError) as exc:
        validate_stack_file(sf)
    assert any("(plain-text secrets are refused in prod)" in e for e in exc.value.errors)


def test_cli_exits_2_without_traceback_on_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_program(tmp_path)
    (tmp_path / "Pulumi.dev.yaml").write_text((REPO / "Pulumi.dev.yaml").read_text() + "config: {}\n")
    assert cli.main(["plan", "--stack", "dev", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "the key 'config' is given twice" in err


# -- fuzzing ---------------------------------------------------------------------------------------------------

_SHIPPED = {s: (REPO / f"Pulumi.{s}.yaml").read_text() for s in ("dev", "prod", "local")}
_JUNK = st.sampled_from(["", "\t", ":", "- ", "&a ", "*a", "<<: ", "on", "1.10", "{", "]", "'", "\"", "#", "!!str ",
                         "---\n", "99999999999999999999999", ".nan", "\n  ", "secure: x", "~", "\u00e9", "\x00"])


@settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(stack=st.sampled_from(sorted(_SHIPPED)), cuts=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), _JUNK),
                                                                min_size=1, max_size=3))
def test_fuzzed_stack_files_end_in_a_config_or_a_clear_error(stack: str, cuts: list[tuple[float, int, str]]) -> None:
    text = _SHIPPED[stack]
    for where, drop, junk in cuts:
        at = int(where * len(text))
        text = text[:at] + junk + text[at + drop:]
    try:
        sf = parse_stack_text(text, stack, f"Pulumi.{stack}.yaml")
        validate_stack_file(sf)
    except StackFileError as exc:
        assert exc.errors and all(e.startswith(f"Pulumi.{stack}.yaml") for e in exc.errors)
    except ConfigError as exc:
        assert exc.errors and all(e.startswith(f"Pulumi.{stack}.yaml") for e in exc.errors)


@settings(max_examples=30, deadline=2000, derandomize=True)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12))
def test_fuzzed_platform_values_never_raise_anything_but_config_errors(value: Any) -> None:
    raw = copy.deepcopy(platform_of(repo_stack("dev")))
    raw["models"][0]["resources"] = value
    try:
        parse_platform(raw, "Pulumi.dev.yaml")
    except ConfigError as exc:
        assert all(e.startswith("Pulumi.dev.yaml: serving:platform.") for e in exc.errors)
