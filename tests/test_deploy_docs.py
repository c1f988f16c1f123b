"""The README tells someone deploying for real what they need; `make plan` says it is installing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
REAL = README.split("## Running it for real", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("needle", [
    "pulumi stack output kubeconfigCommand",           # kubeconfig after `pulumi up`
    "Permissions of the deploying identity", "iam:PassRole",
    "--secrets-provider", "awskms://",                 # secrets provider
    "publicAccessCidrs", "self-hosted runner",          # CI reaching a private / CIDR-limited endpoint
    "pulumi stack output gatewayAddress", "alias record",  # DNS for the gateway host
    "pulumi state unprotect",                           # tearing down protected resources
    'x-api-key: $KEY', "Authorization: Bearer $TOKEN", "/models/llama-chat/v1/chat/completions",
    "Where CPU models run",
])
def test_running_it_for_real_covers(needle: str) -> None:
    assert needle in REAL


def test_make_plan_says_it_is_installing_on_first_run(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make")
    out = subprocess.run(["make", "-n", "plan", f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True,
                         text=True, timeout=60).stdout
    assert "installing the pinned dependencies" in out
    assert out.index("installing") < out.index("pip install")
