"""Downloads the media service refuses or that are cancelled are counted by outcome, once each (the ones that
fetch or find a video are counted in test_stack_observability, against a real site)."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from media_service.config import MediaSettings
from media_service.fetch.downloader import Downloader
from media_service.store.media_store import MediaStore
from service_common.contracts import DownloadRequest
from service_common.errors import ServiceError


def downloads(outcome: str) -> float:
    return REGISTRY.get_sample_value("media_downloads_total", {"outcome": outcome})


def test_refused_and_cancelled_downloads_are_counted(tmp_path):
    settings = MediaSettings(media_dir=tmp_path / "media")
    downloader = Downloader(settings, MediaStore(settings.media_dir))
    before = {outcome: downloads(outcome) for outcome in ("refused", "cancelled", "failed", "upload")}

    async def run() -> None:
        for url in ("ftp://example.com/a.mp4", "upload://0123456789abcdef0123456789abcdef"):
            with pytest.raises(ServiceError):
                await downloader.download(DownloadRequest(url=url, job_id="refused"))
        # A fetch held up on the URL's lock (as behind another request's download), then cancelled by job id.
        async with downloader._locks.hold("url:http://example.com/v"):
            waiting = asyncio.ensure_future(downloader.download(DownloadRequest(url="http://example.com/v",
                                                                                job_id="gone")))
            await asyncio.sleep(0.1)
            assert await downloader.cancel("gone")
            with pytest.raises(ServiceError, match="cancelled"):
                await waiting

    asyncio.run(run())
    after = {outcome: downloads(outcome) for outcome in before}
    assert {outcome: after[outcome] - before[outcome] for outcome in before} == {
        "refused": 2, "cancelled": 1, "failed": 0, "upload": 0}
