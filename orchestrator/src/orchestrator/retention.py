"""Keeping the media store bounded: retention, a disk budget, and the media of deleted tasks.

The orchestrator decides because only its database knows which tasks still need which media; the media
service has the last word on each deletion, refusing one that is busy or was used after we looked, so a
task that picks up a cached video while we sweep keeps it.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from service_common.errors import ServiceError

from . import media_usage
from .clients.media import MediaClient
from .clock import utcnow
from .config import OrchestratorSettings

log = logging.getLogger(__name__)

RELEASE_WAIT_S = 15.0  # how long a deleted task's media may stay busy while its worker stops


@dataclass(frozen=True)
class StoredMedia:
    media_id: str
    size: int
    last_used_at: datetime  # naive UTC, like every timestamp here
    busy: bool


def parse_listing(listing: dict) -> list[StoredMedia]:
    found = []
    for entry in listing.get("media", []):
        last_used = datetime.fromisoformat(entry["last_used_at"])
        if last_used.tzinfo is not None:
            last_used = last_used.astimezone(UTC).replace(tzinfo=None)
        found.append(StoredMedia(entry["media_id"], int(entry["bytes"]), last_used, bool(entry.get("busy"))))
    return found


def choose_media_to_delete(stored: list[StoredMedia], in_use: set[str], now: datetime, retention_s: float,
                           budget_bytes: int, recent_s: float = 0.0) -> list[StoredMedia]:
    """Expired media first, then the least recently used until the store fits its budget; never media
    that a queued or running task needs, that the media service is working on, or that was used in the
    last `recent_s` (0 turns a rule off)."""
    free = sorted((m for m in stored if not m.busy and m.media_id not in in_use
                   and m.last_used_at < now - timedelta(seconds=recent_s)), key=lambda m: m.last_used_at)
    chosen = [m for m in free if retention_s and m.last_used_at < now - timedelta(seconds=retention_s)]
    remaining = sum(m.size for m in stored) - sum(m.size for m in chosen)
    if budget_bytes:
        for media in free:
            if remaining <= budget_bytes:
                break
            if media not in chosen:
                chosen.append(media)
                remaining -= media.size
    return chosen


class MediaJanitor:
    def __init__(self, settings: OrchestratorSettings, sessions: sessionmaker[Session], media: MediaClient):
        self.settings = settings
        self.sessions = sessions
        self.media = media
        self._releases: set[asyncio.Task] = set()

    async def sweep(self) -> list[str]:
        """One pass; returns the media ids deleted."""
        stored = parse_listing(await self.media.stored_media())
        in_use = await asyncio.to_thread(media_usage.media_in_use, self.sessions)
        # A download that has just finished is in no task's row until its worker records it, which it
        # does well within its lease: media used within the last lease counts as in use.
        chosen = choose_media_to_delete(stored, in_use, utcnow(), self.settings.media_retention_s,
                                        int(self.settings.media_disk_budget_mb * 1024 * 1024),
                                        recent_s=self.settings.lease_s)
        deleted = []
        for media in chosen:
            # The media service refuses if the media was used after our listing said it was last used.
            if await self.media.delete_media(media.media_id, media.last_used_at) == "deleted":
                deleted.append(media.media_id)
        if deleted:
            log.info("removed %d stored media (%d MB)", len(deleted),
                     sum(m.size for m in chosen if m.media_id in deleted) // (1024 * 1024))
        return deleted

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except (ServiceError, httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                log.warning("media clean-up skipped: %s", exc)
            except Exception:  # the database may be down; the next pass tries again
                log.exception("media clean-up failed")
            await asyncio.sleep(self.settings.media_janitor_interval_s)

    def release_deleted_task(self, task_id: str, media_id: str | None) -> None:
        """In the background: stop the task's download, and remove its media once its worker let go,
        unless another task has taken up that video meanwhile."""
        job = asyncio.create_task(self._release(task_id, media_id))
        self._releases.add(job)
        job.add_done_callback(self._releases.discard)

    async def _release(self, task_id: str, media_id: str | None) -> None:
        try:
            await self.media.cancel_download(task_id)
            if media_id is None:
                return
            deadline = asyncio.get_running_loop().time() + RELEASE_WAIT_S
            # Not `unused_since`: the deleted task's own worker may touch the media while it stops.
            while not await asyncio.to_thread(media_usage.media_shared, self.sessions, media_id):
                if await self.media.delete_media(media_id) == "deleted":
                    return
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("media %s of deleted task %s is still busy; retention will remove it",
                                media_id, task_id)
                    return
                await asyncio.sleep(0.5)
        except Exception as exc:  # the media service or the database may be away: retention will catch up
            log.warning("could not remove the media of deleted task %s (retention will): %s", task_id, exc)

    async def close(self) -> None:
        for job in list(self._releases):
            job.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._releases, return_exceptions=True)
