"""Type checking is part of the suite: mypy (mypy.ini, pinned in requirements-dev.txt) over `serving` and
`__main__.py` must report no error, and the configuration must stay as strict as it is."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys

from tests.conftest import REPO


def test_mypy_reports_no_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "serving", "__main__.py"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout


def test_the_mypy_config_is_not_weakened() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "mypy.ini")
    main = cfg["mypy"]
    for flag in ("check_untyped_defs", "warn_unused_ignores", "warn_redundant_casts"):
        assert main.getboolean(flag), f"mypy.ini: {flag} must stay on"
    assert main.get("plugins") == "pydantic.mypy"
    for package in ("serving.config.*", "serving.plan.*"):
        assert cfg[f"mypy-{package}"].getboolean("disallow_untyped_defs"), package
    for section in cfg.sections():
        assert not cfg[section].getboolean("ignore_errors", fallback=False), f"mypy.ini [{section}] ignores errors"
    assert "ignore_missing_imports" not in main, "ignore_missing_imports only per module that ships no types"
    untyped = [s for s in cfg.sections() if cfg[s].getboolean("ignore_missing_imports", fallback=False)]
    assert untyped == ["mypy-google.protobuf.*"]


def test_every_type_ignore_names_its_error_code() -> None:
    bare = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted([*(REPO / "serving").rglob("*.py"), REPO / "__main__.py"])
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"#\s*type:\s*ignore(?!\[)", line)
    ]
    assert not bare, f"bare `# type: ignore` (name the error code and say why): {bare}"
