"""The download child process, driven step by step: it extracts and names the video (its media
key), then downloads only when told to, reporting progress as JSON lines on its stdout."""

import asyncio
import json
import logging
import os
import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .worker_client import _kill_group, checked_result, failure, start_worker

log = logging.getLogger(__name__)
MAX_EVENT_LINE = 2**16

OnEvent = Callable[[dict], None]


class DownloadChild:
    """Use as `async with DownloadChild(job, work_dir, timeout_s) as child:`; leaving the block
    kills the child if it still runs (a skipped download, a cancelled request, an error)."""

    def __init__(self, job: dict, work_dir: Path, timeout_s: float):
        fd, result_path = tempfile.mkstemp(prefix="result-", suffix=".json", dir=work_dir)
        os.close(fd)
        os.unlink(result_path)
        self.result_path = Path(result_path)
        self.job = {**job, "action": "download", "result_path": result_path}
        self.work_dir = work_dir
        self.timeout_s = timeout_s
        self.process: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=5)
        self._stderr_task: asyncio.Task | None = None

    async def __aenter__(self) -> "DownloadChild":
        self.process = await start_worker(self.work_dir, stdout=asyncio.subprocess.PIPE, limit=MAX_EVENT_LINE)
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        try:
            self.process.stdin.write(json.dumps(self.job).encode() + b"\n")
            await self.process.stdin.drain()
        except BaseException:
            # Cancelled before the block began: __aexit__ will not run, so the child is stopped here.
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self.process is not None and self.process.returncode is None:
            _kill_group(self.process)
            await self.process.wait()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
        self.result_path.unlink(missing_ok=True)

    async def _drain_stderr(self) -> None:
        # Read it all, or a chatty child would block on a full pipe.
        async for line in self.process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    async def _next_event(self) -> dict | None:
        while line := await self.process.stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                return event
        return None

    async def _timed(self, work):
        try:
            async with asyncio.timeout(self.timeout_s):
                return await work
        except TimeoutError:
            raise failure(f"download timed out after {self.timeout_s:g} s", 504, True) from None

    async def extract(self, on_event: OnEvent) -> str:
        """The media key of the video at the URL; raises the child's failure if it stopped first."""

        async def until_extracted() -> str | None:
            while (event := await self._next_event()) is not None:
                if event.get("event") == "extracted":
                    return str(event["media_key"])
                on_event(event)
            return None

        key = await self._timed(until_extracted())
        if key is None:
            await self._timed(self.process.wait())
            self.result()  # raises: a child that did not extract has failed
            raise failure("download failed: the fetch process stopped before naming the video", 502, True)
        return key

    async def download(self, on_event: OnEvent) -> dict:
        """Tell the child to go on, follow its progress, and return its result's `info`."""
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

        async def until_done() -> None:
            while (event := await self._next_event()) is not None:
                on_event(event)
            await self.process.wait()

        await self._timed(until_done())
        return self.result()["info"]

    def result(self) -> dict:
        try:
            result = json.loads(self.result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            code = self.process.returncode if self.process else None
            log.error("download worker exited with %s without a result: %s", code, list(self._stderr)[-1:])
            raise failure(f"download failed: the fetch process exited with code {code}", 502, True) from None
        return checked_result(result, "download")
