"""Download policy, media keys, progress bookkeeping and per-key locks, without a server."""

import asyncio

import pytest

from media_service.fetch.extractor_trust import trusted_id
from media_service.fetch.policy import (
    LIVE_REFUSAL,
    Limits,
    duration_refusal,
    format_selector,
    info_refusal,
    media_id_for_key,
    media_key,
)
from media_service.fetch.progress import ProgressBoard
from media_service.keyed_locks import KeyedLocks
from media_service.store.media_store import MediaStore

LIMITS = Limits(max_bytes=100 * 2**20, max_duration_s=4 * 3600)


def youtube_info(url: str) -> dict:
    """What yt-dlp's YouTube extractor reports for any spelling of the URL of video X."""
    return {"extractor": "youtube", "extractor_key": "Youtube", "id": "dQw4w9WgXcQ", "webpage_url": url}


def test_youtube_spellings_of_one_video_share_a_key():
    urls = [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10s",
    ]
    keys = {media_key(youtube_info(url), trusted_id(youtube_info(url), [url])) for url in urls}
    assert keys == {"extractor-id:youtube:dQw4w9WgXcQ"}
    other = media_key({**youtube_info(urls[0]), "id": "aaaaaaaaaaa"}, True)
    assert media_id_for_key(other) != media_id_for_key(keys.pop())


def test_generic_files_are_keyed_by_their_final_url_not_their_stem():
    a = {"extractor": "generic", "extractor_key": "Generic", "id": "clip", "webpage_url": "https://a.example/clip.mp4"}
    b = {**a, "webpage_url": "https://b.example/clip.mp4"}
    assert media_key(a, False) != media_key(b, False)
    assert media_key(a, False) == media_key(dict(a), False)
    html5 = {"extractor": "html5", "id": "page-1", "webpage_url": "https://a.example/page"}
    assert media_key(html5, False) != media_key({**html5, "id": "page-2"}, False)
    assert len(media_id_for_key(media_key(a, False))) == 32


LIVE_INFOS = [{"is_live": True}, *({"live_status": status} for status in ("is_live", "is_upcoming", "post_live"))]


@pytest.mark.parametrize("live", LIVE_INFOS)
def test_live_streams_are_refused(live):
    assert info_refusal({"id": "x", "duration": None, **live}, LIMITS) == LIVE_REFUSAL


def test_known_duration_over_the_limit_is_refused_before_download():
    assert info_refusal({"duration": 5 * 3600 + 12 * 60}, LIMITS) == (
        "the video is 5:12:00 long; the limit is 4:00:00 (MAX_DURATION_S)"
    )
    assert info_refusal({"duration": 3600, "live_status": "was_live"}, LIMITS) is None
    # Unknown duration is left to the file's own (checked after the download).
    assert info_refusal({"duration": None}, LIMITS) is None
    assert duration_refusal(6.2, Limits(1, 4)) == "the video is 0:00:06 long; the limit is 0:00:04 (MAX_DURATION_S)"


def test_announced_size_and_audio_only_are_refused():
    assert "MAX_DOWNLOAD_MB (100 MB)" in info_refusal({"filesize": 200 * 2**20}, LIMITS)
    assert "MAX_DOWNLOAD_MB" in info_refusal({"filesize_approx": 101 * 2**20}, LIMITS)
    assert "no video stream" in info_refusal({"vcodec": "none", "acodec": "mp4a"}, LIMITS)
    assert info_refusal({"vcodec": None, "filesize": None}, LIMITS) is None


def test_format_selector_caps_height_and_never_merges():
    selector = format_selector(720)
    assert "+" not in selector
    for alternative in selector.split("/"):
        assert "[height<=?720]" in alternative


def test_progress_board_reports_fraction_and_forgets_finished_jobs():
    board = ProgressBoard(keep_s=60)
    assert board.get("nope").state == "unknown"
    board.update("job", "downloading", 250, 1000)
    assert board.get("job").fraction == 0.25
    board.update("job", "downloading", 10, None)
    assert board.get("job").fraction is None  # no total (no Content-Length): no fraction
    board.update("job", "done")
    done = board.get("job")
    assert (done.state, done.fraction, done.downloaded_bytes) == ("done", 1.0, 10)
    board.keep_s = 0
    assert board.get("job").state == "unknown"
    board.update(None, "downloading", 1, 2)  # a request without job_id is not tracked


def test_progress_board_is_bounded():
    board = ProgressBoard(max_jobs=3)
    for i in range(5):
        board.update(f"job-{i}", "extracting")
    assert [board.get(f"job-{i}").state for i in range(5)] == ["unknown"] * 2 + ["extracting"] * 3


def test_keyed_locks_serialise_one_key_and_clean_up():
    locks = KeyedLocks()
    inside: list[str] = []
    overlap = []

    async def work(key: str) -> None:
        async with locks.hold(key):
            overlap.append(key in inside)
            inside.append(key)
            await asyncio.sleep(0.01)
            inside.remove(key)

    async def main() -> None:
        await asyncio.gather(*(work("a") for _ in range(5)), work("b"))

    asyncio.run(main())
    assert overlap == [False] * 6
    assert locks._locks == {}


def test_url_aliases_point_at_stored_media_only(tmp_path):
    store = MediaStore(tmp_path)
    media_id = media_id_for_key("youtube:dQw4w9WgXcQ")
    store.set_alias("https://youtu.be/dQw4w9WgXcQ", media_id)
    assert store.media_id_by_alias("https://youtu.be/dQw4w9WgXcQ") is None  # nothing stored yet
    work = store.new_work_dir()
    (work / "video.mp4").write_bytes(b"data")
    store.commit(media_id, work, {"result": {}, "video_file": "video.mp4"})
    assert store.media_id_by_alias("https://youtu.be/dQw4w9WgXcQ") == media_id
    assert store.media_id_by_alias("https://youtu.be/other") is None
    store.delete(media_id)
    assert store.media_id_by_alias("https://youtu.be/dQw4w9WgXcQ") is None
