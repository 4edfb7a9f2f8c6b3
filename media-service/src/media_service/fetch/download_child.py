"""The fetch process running a download, driven step by step: it extracts and names the video (its
media key), then downloads only when told to, reporting progress as JSON lines on its stdout."""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from ..child_process import FETCH, ChildProcess, checked_result
from ..errors import MediaError

MAX_EVENT_LINE = 2**16

OnEvent = Callable[[dict], None]


class DownloadChild(ChildProcess):
    """Use as `async with DownloadChild(job, work_dir, timeout_s) as child:`; leaving the block
    kills the child if it still runs (a skipped download, a cancelled request, an error)."""

    def __init__(self, job: dict, work_dir: Path, timeout_s: float):
        super().__init__(FETCH, {**job, "action": "download"}, work_dir, timeout_s, "download",
                         stdout=asyncio.subprocess.PIPE, keep_stdin_open=True, limit=MAX_EVENT_LINE)

    async def _next_event(self) -> dict | None:
        while line := await self.process.stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                return event
        return None

    async def extract(self, on_event: OnEvent) -> str:
        """The media key of the video at the URL; raises the child's failure if it stopped first."""

        async def until_extracted() -> str | None:
            while (event := await self._next_event()) is not None:
                if event.get("event") == "extracted":
                    return str(event["media_key"])
                on_event(event)
            return None

        key = await self.timed(until_extracted())
        if key is None:
            checked_result(await self.finished(), self.what)  # raises: a child that did not extract has failed
            raise MediaError("download failed: the fetch process stopped before naming the video", 502, True)
        return key

    async def download(self, on_event: OnEvent) -> dict:
        """Tell the child to go on, follow its progress, and return its result's `info`."""
        await self.send_line("go")

        async def until_done() -> None:
            while (event := await self._next_event()) is not None:
                on_event(event)
            await self.process.wait()

        await self.timed(until_done())
        return checked_result(self.result(), self.what)["info"]
