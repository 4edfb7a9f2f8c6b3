"""What the store holds, for whoever decides what to delete (the media service keeps no policy of its
own: only its callers know which media they still need)."""

import os
import stat
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from .media_store import MediaStore, from_epoch_us


class StoredMedia(BaseModel):
    media_id: str
    bytes: int  # the video, its frames, transcripts and record
    last_used_at: datetime  # UTC
    busy: bool  # a request is working on it now: a deletion would be refused


class MediaInventory(BaseModel):
    total_bytes: int  # the listed media together
    work_bytes: int  # partial downloads and other work in progress, not part of any media yet
    media: list[StoredMedia]  # least recently used first


def tree_bytes(root: Path) -> int:
    """Bytes of the regular files under `root`; files that vanish while counting are skipped."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def inventory(store: MediaStore) -> MediaInventory:
    """Every complete media with its size and last use. Walks the whole store: run it off the event loop."""
    media = []
    for entry in os.scandir(store.root):
        if store.media_dir(entry.name) is None:  # not a media id, or not complete
            continue
        last_used = store.last_used_us(entry.name)
        if last_used is None:  # deleted since the scan began
            continue
        size = tree_bytes(Path(entry.path))
        media.append((last_used, entry.name, size))
    media.sort()
    listed = [
        StoredMedia(media_id=media_id, bytes=size, last_used_at=from_epoch_us(last_used), busy=store.busy(media_id))
        for last_used, media_id, size in media
    ]
    return MediaInventory(
        total_bytes=sum(m.bytes for m in listed), work_bytes=tree_bytes(store.work), media=listed
    )
