"""Pieces the service's domains share: error answers, directories moved into place whole, child
processes that wrote no result or ran out of time, and the checks downloads and uploads both apply."""

import asyncio

import pytest

from media_service.atomic_files import move_into_place, write_json_atomically
from media_service.child_process import ChildKind, ChildProcess, checked_result, run_child
from media_service.config import MediaSettings
from media_service.errors import MediaError, answer_status, media_not_found
from media_service.fetch.incidents import REFUSED, Incidents
from media_service.fetch.policy import Limits, stored_video_refusal
from service_common.errors import PermanentError, TransientError


def test_each_error_says_its_status():
    assert answer_status(MediaError("gone", 409)) == 409
    assert answer_status(media_not_found("m1")) == 404 and media_not_found("m1").message == "media m1 not found"
    assert answer_status(TransientError("reset")) == 502
    assert answer_status(PermanentError("bad")) == 422
    error = MediaError("busy", 409, True)
    assert error.retryable and error.status is None


def _finished(directory, marker: str, text: str) -> None:
    directory.mkdir()
    (directory / "data").write_text(text)
    write_json_atomically(directory / marker, {"done": True})


def test_a_finished_directory_moves_into_place_whole(tmp_path):
    work, target = tmp_path / "work", tmp_path / "target"
    _finished(work, "record.json", "mine")
    move_into_place(work, target, "record.json")
    assert not work.exists() and (target / "data").read_text() == "mine"


def test_a_complete_target_is_kept_and_a_leftover_replaced(tmp_path):
    target = tmp_path / "target"
    _finished(target, "record.json", "first")
    _finished(tmp_path / "second", "record.json", "second")
    move_into_place(tmp_path / "second", target, "record.json")
    assert (target / "data").read_text() == "first" and not (tmp_path / "second").exists()

    (target / "record.json").unlink()  # what an interrupted attempt leaves
    _finished(tmp_path / "third", "record.json", "third")
    move_into_place(tmp_path / "third", target, "record.json")
    assert (target / "data").read_text() == "third"


def test_incidents_keep_the_first_message_of_each_kind():
    incidents = Incidents()
    assert REFUSED not in incidents and incidents.get(REFUSED) is None
    incidents.record(REFUSED, "first")
    incidents.record(REFUSED, "second")
    assert REFUSED in incidents and incidents.get(REFUSED) == "first"


def test_limits_from_settings_travel_in_a_job():
    settings = MediaSettings(max_download_mb=3, max_duration_s=60, max_height=480)
    limits = Limits.from_settings(settings)
    assert limits == Limits(3 * 2**20, 60.0, 480) == Limits.from_job(limits.as_job())


def test_downloads_and_uploads_keep_only_videos_within_the_duration():
    limits = Limits(2**20, 60.0)
    assert stored_video_refusal(True, 30.0, limits, "clip.mp4") is None
    assert stored_video_refusal(True, None, limits, "clip.mp4") is None
    assert stored_video_refusal(False, 30.0, limits, "song.mp3") == "song.mp3 has no video stream (audio only)"
    assert "MAX_DURATION_S" in stored_video_refusal(True, 61.0, limits, "long.mp4")


def test_a_failure_the_child_reported_is_raised_with_its_status():
    with pytest.raises(MediaError) as raised:
        checked_result({"ok": False, "detail": "HTTP Error 503", "status": 502, "retryable": True}, "download")
    assert (raised.value.message, raised.value.http_status, raised.value.retryable) == (
        "download failed: HTTP Error 503", 502, True)
    assert checked_result({"ok": True, "value": 1}, "download") == {"ok": True, "value": 1}


def test_a_child_that_writes_no_result_is_a_failure(tmp_path):
    # json.tool reads the job and prints it: it never writes a result.
    kind = ChildKind("json.tool", "printing", retryable=False)
    with pytest.raises(MediaError) as raised:
        asyncio.run(run_child({"x": 1}, 30, "printing", tmp_path, kind))
    assert raised.value.message == "printing failed: the printing process exited with code 0"
    assert (raised.value.http_status, raised.value.retryable) == (422, False)
    assert list(tmp_path.iterdir()) == []  # no result file left behind


def test_a_child_that_runs_out_of_time_is_killed(tmp_path):
    # An interactive interpreter waits on stdin for ever while stdin stays open.
    kind = ChildKind("code", "waiting", limit_setting="SOME_TIMEOUT_S")

    async def run() -> int | None:
        async with ChildProcess(kind, {}, tmp_path, 0.5, "waiting", keep_stdin_open=True) as child:
            with pytest.raises(MediaError) as raised:
                await child.finished()
        assert raised.value.message == "waiting timed out after 0.5 s (SOME_TIMEOUT_S)"
        assert (raised.value.http_status, raised.value.retryable) == (504, True)
        return child.process.returncode

    assert asyncio.run(run()) is not None  # killed and reaped when the block was left


def test_urls_are_held_to_the_length_the_gateway_allows():
    from media_service.fetch.urls import checked_url
    from service_common.contracts import MAX_URL_LENGTH

    longest = "https://a.example/" + "x" * (MAX_URL_LENGTH - len("https://a.example/"))
    assert checked_url(longest, "download") == longest
    with pytest.raises(MediaError) as raised:
        checked_url(longest + "x", "download")
    assert raised.value.message == f"download failed: the URL is longer than {MAX_URL_LENGTH} characters"
    assert (raised.value.http_status, raised.value.retryable) == (422, False)


def test_an_upload_url_names_its_upload_wherever_it_is_read():
    from media_service.fetch.urls import checked_url
    from service_common.contracts import upload_id

    assert upload_id("upload://" + "a" * 32) == "a" * 32
    assert upload_id("upload://" + "a" * 32 + "/") == "a" * 32
    assert upload_id("https://example.com/upload://x") is None
    assert checked_url("upload://" + "a" * 32, "download") == "upload://" + "a" * 32
