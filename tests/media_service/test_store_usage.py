"""Last use, busy media and the listing, on the store itself (no server)."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from media_service.store.inventory import inventory
from media_service.store.media_store import LAST_USED, RECORD, Kept, MediaStore, epoch_us, iso_utc, media_id_for


def stored(store: MediaStore, name: str, size: int = 100) -> str:
    media_id = media_id_for(name)
    work = store.new_work_dir()
    (work / "video.mp4").write_bytes(b"v" * size)
    store.commit(media_id, work, {"result": {}, "video_file": "video.mp4"})
    return media_id


def test_a_new_media_was_just_used(tmp_path):
    store = MediaStore(tmp_path)
    before = time.time_ns() // 1000
    media_id = stored(store, "new")
    assert before <= store.last_used_us(media_id) <= time.time_ns() // 1000


def test_each_use_marks_its_start_and_end(tmp_path):
    store = MediaStore(tmp_path)
    media_id = stored(store, "used")
    created = store.last_used_us(media_id)
    time.sleep(0.002)
    with store.using(media_id):
        started = store.last_used_us(media_id)
        time.sleep(0.002)
    assert created < started < store.last_used_us(media_id)


def test_media_stored_without_a_mark_fall_back_to_the_record(tmp_path):
    store = MediaStore(tmp_path)
    media_id = stored(store, "older")
    (tmp_path / media_id / LAST_USED).unlink()
    assert store.last_used_us(media_id) == (tmp_path / media_id / RECORD).stat().st_mtime_ns // 1000
    with store.using(media_id):  # the first use adds the mark
        pass
    assert (tmp_path / media_id / LAST_USED).is_file()


def test_using_an_unknown_media_stores_nothing(tmp_path):
    store = MediaStore(tmp_path)
    with store.using("0" * 32), store.using("../etc"):
        assert store.busy("0" * 32)
    assert not store.busy("0" * 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".work"]


def test_busy_while_any_user_remains_and_never_deleted_then(tmp_path):
    store = MediaStore(tmp_path)
    media_id = stored(store, "busy")
    with store.using(media_id):
        with store.using(media_id):
            assert store.busy(media_id)
        assert store.busy(media_id)
        with pytest.raises(Kept) as kept:
            store.delete(media_id)
        assert kept.value.busy and "in use" in str(kept.value)
        assert store.media_dir(media_id) is not None
    assert not store.busy(media_id)
    assert store.delete(media_id)
    assert not store.delete(media_id)


def test_unused_since_compares_whole_microseconds(tmp_path):
    store = MediaStore(tmp_path)
    media_id = stored(store, "old")
    mark = tmp_path / media_id / LAST_USED
    os.utime(mark, ns=(1_700_000_000_123_456_789,) * 2)  # finer than a listing shows
    listed = datetime.fromisoformat(iso_utc(store.last_used_us(media_id)))
    assert listed == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    with pytest.raises(Kept) as kept:
        store.delete(media_id, epoch_us(listed - timedelta(microseconds=1)))
    assert not kept.value.busy
    assert store.delete(media_id, epoch_us(listed.replace(tzinfo=None)))  # no zone: UTC


def test_inventory_counts_every_file_of_complete_media(tmp_path):
    store = MediaStore(tmp_path)
    big, small = stored(store, "big", 5000), stored(store, "small", 10)
    frames = tmp_path / big / "frames-uniform-2-1120"
    frames.mkdir()
    (frames / "0.jpg").write_bytes(b"j" * 700)
    (tmp_path / media_id_for("incomplete")).mkdir()
    (store.new_work_dir() / "video.mp4.part").write_bytes(b"p" * 321)
    store.set_alias("http://a/b.mp4", small)
    os.utime(tmp_path / big / LAST_USED, ns=(10**18,) * 2)  # 2001: least recently used, listed first

    with store.using(small):
        found = inventory(store)
    assert [m.media_id for m in found.media] == [big, small]
    sizes = {m.media_id: sum(p.stat().st_size for p in (tmp_path / m.media_id).rglob("*") if p.is_file())
             for m in found.media}
    assert {m.media_id: m.bytes for m in found.media} == sizes
    assert sizes[big] > 5700
    assert found.total_bytes == sizes[big] + sizes[small]
    assert found.work_bytes == 321
    assert [m.busy for m in found.media] == [False, True]
    assert found.media[0].last_used_at == datetime.fromtimestamp(10**9, UTC)
