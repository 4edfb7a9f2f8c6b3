"""Runs the installed `video-analysis` console script and test_api.py as a user would: separate processes."""

import os
import subprocess
import sys

from tests.support.processes import REPO

CLI = REPO / ".venv" / "bin" / "video-analysis"
TEST_SCRIPT = REPO / "test_api.py"


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any of the clients' own settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIDEO_ANALYSIS_URL", "VIDEO_ANALYSIS_API_KEY", "API_URL", "API_KEY")}
    return {**env, **settings}


def video_analysis(*args: str, url: str, key: str | None = None, timeout: float = 120
                   ) -> subprocess.CompletedProcess:
    assert CLI.exists(), f"{CLI} is missing: `make setup` installs it"
    settings = {"VIDEO_ANALYSIS_URL": url, **({"VIDEO_ANALYSIS_API_KEY": key} if key else {})}
    return subprocess.run([str(CLI), *args], env=clean_environment(**settings), capture_output=True, text=True,
                          timeout=timeout)


def run_test_script(*args: str, api_url: str, key: str | None = None, timeout: float = 120
                    ) -> subprocess.CompletedProcess:
    settings = {"API_URL": api_url, **({"API_KEY": key} if key else {})}
    return subprocess.run([sys.executable, str(TEST_SCRIPT), *args], env=clean_environment(**settings),
                          capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(run: subprocess.CompletedProcess, exit_code: int, *phrases: str) -> None:
    """Exit code `exit_code`, no traceback, and stderr ending in one `error:` line that says each of `phrases`."""
    assert run.returncode == exit_code, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    last_line = run.stderr.splitlines()[-1] if run.stderr else ""
    assert last_line.startswith("error: ") and run.stderr.count("error: ") == 1, run.stderr
    for phrase in phrases:
        assert phrase in last_line, run.stderr
