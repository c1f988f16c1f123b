"""`plan --base` in a pull request: one broken stack file does not hide the others, stack names are escaped in the
comment, a hanging base revision is stopped after a time limit, SIGTERM cleans up like Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from serving.plan.diff_cli import _failure_markdown
from tests.test_diff import _git, git_project  # noqa: F401 - the fixture

HANG = "import time\ntime.sleep(600)\n"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TMPDIR"] = str(tmp)
    env.update(extra)
    return env


def _hanging_base(repo: Path) -> None:
    """A base commit whose program never finishes; the working tree has the real one back."""
    main = repo / "serving" / "__main__.py"
    real = main.read_text()
    main.write_text(HANG)
    _git(repo, "commit", "--quiet", "-am", "a base that hangs")
    main.write_text(real)


def test_one_broken_stack_file_does_not_break_all_stacks(git_project: Path) -> None:  # noqa: F811
    (git_project / "Pulumi.broken.yaml").write_text("config:\n  serving:platform: {}\n  serving:platform: {}\n")
    tmp = git_project.parent / "tmp1"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-m", "serving", "plan", "--all-stacks", "--base", "HEAD", "--markdown"],
                          cwd=git_project, env=_env(tmp), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "| <code>dev</code> |" in proc.stdout, "the good stack is still diffed"
    assert "### <code>broken</code>" in proc.stdout
    assert "Pulumi.broken.yaml:3:3: the key &#x27;serving:platform&#x27; is given twice" in proc.stdout
    assert not list(tmp.glob("serving-plan-base-*"))


def test_stack_names_and_errors_are_escaped_in_the_comment() -> None:
    text = _failure_markdown("x`|<img src=x onerror=alert(1)>", ["Pulumi.x.yaml: unknown key '</pre><script>'"])
    assert "<img" not in text and "<script>" not in text and "</pre><" not in text
    assert "<code>x`|&lt;img src=x onerror=alert(1)&gt;</code>" in text


def test_a_hanging_base_revision_is_stopped_with_a_clear_message(git_project: Path) -> None:  # noqa: F811
    _hanging_base(git_project)
    tmp = git_project.parent / "tmp2"
    tmp.mkdir()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "serving", "plan", "--stack", "dev", "--base", "HEAD"],
                          cwd=git_project, env=_env(tmp, SERVING_PLAN_BASE_TIMEOUT="3"), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1
    assert "did not finish within 3 s and was stopped" in proc.stderr and "SERVING_PLAN_BASE_TIMEOUT" in proc.stderr
    assert time.monotonic() - started < 120
    assert not list(tmp.glob("serving-plan-base-*"))
    assert _git(git_project, "worktree", "list").count("\n") == 1


def test_sigterm_removes_the_base_worktree_like_ctrl_c(git_project: Path) -> None:  # noqa: F811
    _hanging_base(git_project)
    tmp = git_project.parent / "tmp3"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "serving", "plan", "--stack", "dev", "--base", "HEAD"],
                            cwd=git_project, env=_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp.glob("serving-plan-base-*/tree/serving")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(tmp.glob("serving-plan-base-*")), "the base worktree was never made"
        time.sleep(1.0)  # the base plan's process is running (and hangs)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(tmp.glob("serving-plan-base-*"))
    assert _git(git_project, "worktree", "list").count("\n") == 1
