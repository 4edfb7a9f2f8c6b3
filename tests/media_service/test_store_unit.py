"""Store layout rules and the subtitle list, without a server."""

from media_service.fetch.video_download import subtitle_tracks
from media_service.store.media_store import MediaStore, media_id_for


def test_media_id_is_stable_and_safe():
    assert media_id_for("http://a/b.mp4") == media_id_for(" http://a/b.mp4 ")
    assert media_id_for("http://a/b.mp4") != media_id_for("http://a/c.mp4")
    assert len(media_id_for("x")) == 32


def test_only_committed_directories_count(tmp_path):
    store = MediaStore(tmp_path)
    media_id = media_id_for("http://a/b.mp4")
    (tmp_path / media_id).mkdir()  # what a killed process could leave without the rename step
    assert store.load_record(media_id) is None

    work = store.new_work_dir()
    (work / "video.mp4").write_bytes(b"data")
    store.commit(media_id, work, {"result": {}, "video_file": "video.mp4"})
    assert store.video_path(media_id) == tmp_path / media_id / "video.mp4"
    assert store.media_dir("../" + media_id) is None


def test_leftover_work_is_cleared_at_start(tmp_path):
    leftover = MediaStore(tmp_path).new_work_dir()
    (leftover / "video.mp4.part").write_bytes(b"half")
    MediaStore(tmp_path)
    assert not leftover.exists()


def test_subtitle_list_keeps_readable_formats_and_drops_live_chat():
    info = {
        "subtitles": {
            "en": [{"ext": "json3", "url": "u1"}, {"ext": "vtt", "url": "u2"}],
            "live_chat": [{"ext": "json", "url": "u3"}],
            "fr": [{"ext": "ttml", "url": "u4"}],
        },
        "automatic_captions": {"en": [{"ext": "srv3", "url": "u5"}, {"ext": "srt", "url": "u6"}]},
    }
    assert subtitle_tracks(info) == [
        {"language": "en", "ext": "vtt", "url": "u2", "automatic": False},
        {"language": "fr", "ext": "ttml", "url": "u4", "automatic": False},
        {"language": "en", "ext": "srt", "url": "u6", "automatic": True},
    ]
