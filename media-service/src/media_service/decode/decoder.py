"""Decoding for requests, each job in a decode process (process.py): killed when its
request is cancelled or DECODE_TIMEOUT_S passes, capped in memory and in what it may decode, and at
most DECODE_CONCURRENCY at once. So a hostile file costs one bounded process, never the service's
threads, and /health, uploads and other requests stay answered while it runs."""

import asyncio
import math
import os
from pathlib import Path

from service_common.contracts import FramesResult, FrameStrategy, TranscriptSegment

from ..child_process import ChildKind, checked_result, run_child
from ..config import MediaSettings
from ..errors import MediaError
from ..frames.decoding import UnreadableVideo
from ..transcripts.audio import NoAudio, StartPastEnd, WindowTooLong
from ..transcripts.embedded_subtitles import EmbeddedTranscript
from .probe import MediaFacts, UnreadableMedia

# Few malloc arenas: each thread's reserved arena counts against the address-space cap.
DECODE = ChildKind("media_service.decode.process", "decoding", retryable=False,
                    limit_setting="DECODE_TIMEOUT_S", env={"MALLOC_ARENA_MAX": "2"})
# The errors process.PASSED_ON names, raised again here as the callers expect them.
_PASSED_ON_BY_NAME = {
    kind.__name__: kind for kind in (UnreadableVideo, UnreadableMedia, NoAudio, StartPastEnd, WindowTooLong)
}


class Decoder:
    def __init__(self, settings: MediaSettings):
        self.settings = settings
        # Probes (short: headers and a first frame) have slots of their own, so that uploads are not
        # kept waiting behind long frame extractions.
        self._slots = asyncio.Semaphore(settings.decode_concurrency)
        self._probe_slots = asyncio.Semaphore(settings.decode_concurrency)

    def _limits(self) -> dict:
        settings = self.settings
        return {
            "max_frames": settings.decode_max_frames,
            "max_pixels": settings.decode_max_megapixels * 1_000_000,
            "memory_mb": settings.decode_max_memory_mb,
            # A backstop should the service stop watching: frame threads may keep every core busy
            # for the whole time limit, never longer.
            "cpu_s": math.ceil(settings.decode_timeout_s * (os.cpu_count() or 1)) + 1,
        }

    async def _run(self, action: str, what: str, work_dir: Path, **job) -> object:
        async with self._probe_slots if action == "probe" else self._slots:
            result = await run_child({"action": action, "limits": self._limits(), **job},
                                     self.settings.decode_timeout_s, what, work_dir, DECODE)
        if not result.get("ok") and result.get("raise") in _PASSED_ON_BY_NAME:
            raise _PASSED_ON_BY_NAME[result["raise"]](result.get("detail"))
        return checked_result(result, what)["value"]

    async def frames(self, path: Path, strategy: FrameStrategy, max_frames: int, max_side: int,
                     out_dir: Path) -> FramesResult:
        """extract_frames in a decode process: JPEGs into out_dir. Raises UnreadableVideo, or a MediaError
        "frame extraction failed: ..." when a limit is reached."""
        found = await self._run("frames", "frame extraction", out_dir, path=str(path), strategy=strategy,
                                max_frames=max_frames, max_side=max_side, out_dir=str(out_dir))
        return FramesResult.model_validate(found)

    async def wav(self, path: Path, out: Path, start: float, duration: float | None) -> float:
        """write_wav in a decode process; raises what it raises, or a MediaError "audio failed: ..."."""
        return float(await self._run("wav", "audio", out.parent, path=str(path), out=str(out), start=start,
                                     duration=duration))

    async def subtitles(self, path: Path, languages: list[str], work_dir: Path) -> EmbeddedTranscript:
        """read_embedded_subtitles in a decode process; a limit reached is a note, as an unreadable track is."""
        try:
            found = await self._run("subtitles", "reading the file's subtitles", work_dir, path=str(path),
                                    languages=languages)
        except MediaError as error:
            return EmbeddedTranscript(note=error.message)
        segments = [TranscriptSegment(**s) for s in found["segments"]]
        return EmbeddedTranscript(segments=segments, language=found["language"], note=found["note"])

    async def probe(self, path: Path, what: str) -> MediaFacts:
        """probe_media in a decode process; raises UnreadableMedia."""
        return MediaFacts(**await self._run("probe", what, path.parent, path=str(path)))
