"""Where media lives on disk. A directory only appears under its final name once it is complete.

MEDIA_DIR/<media_id>/record.json      the DownloadResult plus the video's file name
MEDIA_DIR/<media_id>/video            the video itself, under this name whatever it was called (older: video.<ext>)
MEDIA_DIR/<media_id>/frames.json      which frame set GET .../frames/{i}.jpg serves by default
MEDIA_DIR/<media_id>/frames-<strategy>-<max_frames>-<max_side>/   0.jpg, 1.jpg, ..., frames.json
MEDIA_DIR/<media_id>/transcript-<key>.json
MEDIA_DIR/<media_id>/.last_used      its mtime is when the media was last used (record.json's if absent)
MEDIA_DIR/.work/                       temp dirs, renamed into place when complete
MEDIA_DIR/.url-aliases/<sha of URL and proxy>   the media_id that URL gave through that proxy (or none),
                                        so asking again skips extraction
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..atomic_files import move_into_place, write_json_atomically, write_text_atomically

MEDIA_ID = re.compile(r"^[0-9a-f]{32}$")
RECORD = "record.json"
ALIASES = ".url-aliases"
# Aliases of an earlier store, made when a page's file name could stand for another site's video:
# they may point one site's URL at another's, so they are dropped.
LEGACY_ALIASES = ".aliases"
LAST_USED = ".last_used"
# No extension from the client or the origin: a name is a hint libav would listen to (see decode/containers.py).
STORED_VIDEO = "video"


class Kept(Exception):
    """A deletion refused because the media is in use (`busy`: asking later may succeed) or was used
    after the time given."""

    def __init__(self, detail: str, busy: bool):
        super().__init__(detail)
        self.busy = busy


def media_id_for(url: str) -> str:
    """A stable id for a text (media ids of downloads come from policy.media_key)."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:32]


def alias_name(url: str, proxy: str | None) -> str:
    """Names the alias file of a URL fetched through `proxy`: through another proxy, one host name may
    reach another machine, so the URL alone does not say which video it gave."""
    return hashlib.sha256(json.dumps([url.strip(), proxy or None]).encode("utf-8")).hexdigest()[:32]


class MediaStore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()  # the fetch process runs in another directory
        # Requests working on each media now. One lock covers these counts, the last-use marks and the
        # deletion's check-and-rename, so a use either starts before a deletion (which then refuses)
        # or finds the media gone.
        self._users: dict[str, int] = {}
        self._guard = threading.Lock()
        self.work = self.root / ".work"
        self.work.mkdir(parents=True, exist_ok=True)
        # Work dirs of a process that was killed are never renamed into place; clear them at start.
        for leftover in self.work.iterdir():
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(
                missing_ok=True
            )
        shutil.rmtree(self.root / LEGACY_ALIASES, ignore_errors=True)

    def media_dir(self, media_id: str) -> Path | None:
        """The directory of a completed download, or None (also for ids that are not ids)."""
        if not MEDIA_ID.match(media_id):
            return None
        path = self.root / media_id
        return path if (path / RECORD).is_file() else None

    def load_record(self, media_id: str) -> dict | None:
        path = self.media_dir(media_id)
        if path is None:
            return None
        try:
            return json.loads((path / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def video_path(self, media_id: str) -> Path | None:
        record = self.load_record(media_id)
        if record is None:
            return None
        path = self.root / media_id / record["video_file"]
        return path if path.is_file() else None

    def media_id_by_alias(self, url: str, proxy: str | None = None) -> str | None:
        """The media a URL gave before through the same proxy (or none), if it is still stored."""
        try:
            media_id = (self.root / ALIASES / alias_name(url, proxy)).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return media_id if self.media_dir(media_id) else None

    def set_alias(self, url: str, media_id: str, proxy: str | None = None) -> None:
        aliases = self.root / ALIASES
        aliases.mkdir(exist_ok=True)
        write_text_atomically(aliases / alias_name(url, proxy), media_id)

    def new_work_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.work))

    @contextlib.contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        """A new work dir, removed with whatever is left in it when the block ends."""
        work_dir = self.new_work_dir()
        try:
            yield work_dir
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def commit(self, media_id: str, work_dir: Path, record: dict) -> None:
        """Write the record last, then rename the whole directory into place in one step."""
        mark_now(work_dir / LAST_USED)
        write_json_atomically(work_dir / RECORD, record)
        # An incomplete leftover (no record) or a concurrent finisher: the record decides.
        move_into_place(work_dir, self.root / media_id, RECORD)

    @contextlib.contextmanager
    def using(self, media_id: str) -> Iterator[None]:
        """Count a request as working on `media_id` while the block runs (it is busy, so it is not
        deleted under it), and mark the media used when the block starts and ends."""
        if not MEDIA_ID.match(media_id):
            yield
            return
        with self._guard:
            self._users[media_id] = self._users.get(media_id, 0) + 1
            self._touch(media_id)
        try:
            yield
        finally:
            with self._guard:
                self._touch(media_id)
                users = self._users.pop(media_id) - 1
                if users:
                    self._users[media_id] = users

    def busy(self, media_id: str) -> bool:
        with self._guard:
            return media_id in self._users

    def _touch(self, media_id: str) -> None:
        marker = self.root / media_id / LAST_USED
        try:
            mark_now(marker, create=False)
        except FileNotFoundError:
            # Stored before last use was kept, or not (yet, or any longer) stored: only the former gets one.
            if (marker.parent / RECORD).is_file():
                with contextlib.suppress(OSError):
                    mark_now(marker)

    def last_used_us(self, media_id: str) -> int | None:
        """When the media was last used, in whole microseconds since the epoch (what listings show,
        so a time read from a listing compares equal to it); None when it is not stored."""
        for name in (LAST_USED, RECORD):
            try:
                return (self.root / media_id / name).stat().st_mtime_ns // 1000
            except OSError:
                continue
        return None

    def delete(self, media_id: str, unused_since_us: int | None = None) -> bool:
        """False when there is no such media. Raises Kept, deleting nothing, when a request is working
        on it or, given `unused_since_us`, when it was used after that time."""
        if not MEDIA_ID.match(media_id) or not (self.root / media_id).exists():
            return False
        # Rename first so that a half-deleted directory never looks like a complete download.
        holder = self.new_work_dir()
        try:
            with self._guard:
                if media_id in self._users:
                    raise Kept(f"media {media_id} is in use; not deleted", busy=True)
                last_used = self.last_used_us(media_id)
                if unused_since_us is not None and last_used is not None and last_used > unused_since_us:
                    raise Kept(
                        f"media {media_id} was used at {iso_utc(last_used)}, after unused_since "
                        f"{iso_utc(unused_since_us)}; not deleted",
                        busy=False,
                    )
                os.rename(self.root / media_id, holder / media_id)
        except FileNotFoundError:
            return False
        finally:
            shutil.rmtree(holder, ignore_errors=True)
        return True


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def mark_now(path: Path, create: bool = True) -> None:
    """Set the file's mtime to now. Given explicitly: the kernel's own "now" for file times is only
    as fine as its clock tick, so two uses a few milliseconds apart could read the same."""
    if create:
        path.touch()
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def from_epoch_us(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


def iso_utc(microseconds: int) -> str:
    return from_epoch_us(microseconds).isoformat().replace("+00:00", "Z")


def epoch_us(moment: datetime) -> int:
    """Whole microseconds since the epoch; a time without a zone is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)
