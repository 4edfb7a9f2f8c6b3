"""With API_KEYS on, the CLI sends VIDEO_ANALYSIS_API_KEY as a Bearer key, and a missing or wrong key is
reported in one line with its own exit code. Only the task service and the gateway run: the key is checked
before anything else is asked of the system."""

import uuid

import pytest

from tests.support.stack import running_stack
from tests.support.videos import make_video
from video_analysis_cli import errors

from .cli_runner import assert_clean_failure, run_test_script, video_analysis

KEY = "cli-test-key-0001-secret"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("cli-keys"), "orchestrator", "gateway",
                       extra_env={"API_KEYS": f"cli:{KEY}"}) as stack:
        yield stack.url("gateway")


def test_the_right_key_is_accepted(api):
    listed = video_analysis("list", url=api, key=KEY)
    assert listed.returncode == 0 and listed.stdout.startswith("0 tasks\n"), listed.stderr
    # Past the key check, an unknown task is a 404, not a refusal.
    missing = str(uuid.uuid4())
    assert_clean_failure(video_analysis("show", missing, url=api, key=KEY), errors.NOT_FOUND, missing)


def test_a_missing_key_says_which_setting_to_use(api):
    run = video_analysis("list", url=api)
    assert_clean_failure(run, errors.UNAUTHORIZED, "a valid API key is required",
                         "set VIDEO_ANALYSIS_API_KEY to your API key")


@pytest.mark.parametrize("command", [
    ["list"], ["show", str(uuid.uuid4())], ["delete", str(uuid.uuid4())],
    ["analyze", "https://example.com/talk.mp4", "--wait"],
], ids=["list", "show", "delete", "analyze"])
def test_a_wrong_key_is_refused_clearly(api, command):
    run = video_analysis(*command, url=api, key="not-the-key-at-all")
    assert_clean_failure(run, errors.UNAUTHORIZED, "the API key is not valid", "check VIDEO_ANALYSIS_API_KEY")


def test_an_upload_with_a_wrong_key_is_refused_clearly(api, tmp_path):
    video = make_video(tmp_path / "clip.mp4", seconds=1, size="160x90")
    run = video_analysis("analyze", str(video), url=api, key="not-the-key-at-all")
    assert_clean_failure(run, errors.UNAUTHORIZED, "the API key is not valid")


def test_the_guides_test_script_reports_a_wrong_key(api):
    run = run_test_script("https://example.com/talk.mp4", api_url=api, key="not-the-key-at-all")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "POST /analyze answered 401: the API key is not valid" in run.stderr
