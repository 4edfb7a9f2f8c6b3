"""Where media lives on disk. A directory only appears under its final name once it is complete.

MEDIA_DIR/<media_id>/record.json      the DownloadResult plus the video's file name
MEDIA_DIR/<media_id>/video.<ext>
MEDIA_DIR/<media_id>/frames.json      which frame set GET .../frames/{i}.jpg serves by default
MEDIA_DIR/<media_id>/frames-<strategy>-<max_frames>-<max_side>/   0.jpg, 1.jpg, ..., frames.json
MEDIA_DIR/<media_id>/transcript-<key>.json
MEDIA_DIR/.work/                       temp dirs, renamed into place when complete
MEDIA_DIR/.aliases/<sha of a URL>      the media_id that URL gave, so asking again skips extraction
"""

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

MEDIA_ID = re.compile(r"^[0-9a-f]{32}$")
RECORD = "record.json"
ALIASES = ".aliases"


def media_id_for(url: str) -> str:
    """A stable id for a URL's text (names alias files; media ids come from policy.media_key)."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:32]


def write_json_atomically(path: Path, value: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    tmp.replace(path)


class MediaStore:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()  # the download worker runs in another directory
        self.work = self.root / ".work"
        self.work.mkdir(parents=True, exist_ok=True)
        # Work dirs of a process that was killed are never renamed into place; clear them at start.
        for leftover in self.work.iterdir():
            shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(
                missing_ok=True
            )

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

    def media_id_by_alias(self, url: str) -> str | None:
        """The media a URL gave before, if it is still stored."""
        try:
            media_id = (self.root / ALIASES / media_id_for(url)).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return media_id if self.media_dir(media_id) else None

    def set_alias(self, url: str, media_id: str) -> None:
        aliases = self.root / ALIASES
        aliases.mkdir(exist_ok=True)
        tmp = aliases / f".{media_id_for(url)}.{os.getpid()}.tmp"
        tmp.write_text(media_id, encoding="utf-8")
        tmp.replace(aliases / media_id_for(url))

    def new_work_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.work))

    def commit(self, media_id: str, work_dir: Path, record: dict) -> None:
        """Write the record last, then rename the whole directory into place in one step."""
        write_json_atomically(work_dir / RECORD, record)
        target = self.root / media_id
        if target.exists():
            # An incomplete leftover (no record) or a concurrent finisher: the record decides.
            if (target / RECORD).is_file():
                shutil.rmtree(work_dir, ignore_errors=True)
                return
            shutil.rmtree(target, ignore_errors=True)
        os.rename(work_dir, target)

    def delete(self, media_id: str) -> bool:
        if not MEDIA_ID.match(media_id) or not (self.root / media_id).exists():
            return False
        # Rename first so that a half-deleted directory never looks like a complete download.
        holder = self.new_work_dir()
        try:
            os.rename(self.root / media_id, holder / media_id)
        except FileNotFoundError:
            return False
        finally:
            shutil.rmtree(holder, ignore_errors=True)
        return True
