"""Settings of the media service, read from the environment."""

from pathlib import Path

from pydantic import Field

from service_common.egress import EgressSettings
from service_common.settings import CsvList, listen_port


class MediaSettings(EgressSettings):
    port: int = listen_port("MEDIA_SERVICE_PORT", 8002)
    media_dir: Path = Path("./var/media")
    # Proxy URLs a request may name; any other requested proxy is refused.
    allowed_proxies: CsvList = Field(default_factory=list)
    download_timeout_s: float = 600.0
    subtitle_timeout_s: float = 60.0
    max_download_mb: int = 2048
    max_height: int = 720
    socket_timeout_s: float = 30.0
    # Longer videos are refused (before the download when the site says, else from the file): 4 h.
    max_duration_s: float = 14400.0
    max_upload_mb: int = 2048
    # Longest side of frame JPEGs: Llama 3.2 Vision tiles images at 560 px, so two tiles across.
    frame_max_side: int = Field(default=1120, ge=64)
    # Decoding (frames, audio windows, subtitle tracks, probes) runs in child processes, killed when
    # the request ends or this time passes: under the orchestrator's FRAMES_TIMEOUT_S (300 s), so that
    # the task's error names what happened. A 4-hour 1080p video's keyframes take about a minute.
    decode_timeout_s: float = Field(default=240.0, gt=0)
    # Per request: decoded frames, and megapixels decoded in all (4 h of 1080p keyframes every 2 s is
    # ~15,000; a 4096x4096 GIF canvas behind 6000 one-pixel frames is ~100,000).
    decode_max_frames: int = Field(default=100_000, ge=1)
    decode_max_megapixels: int = Field(default=20_000, ge=1)
    # Address space of one decode process (frame threads and an 8K frame fit in ~1 GB).
    decode_max_memory_mb: int = Field(default=4096, ge=256)
    # Decode processes at once; more requests wait for a free one.
    decode_concurrency: int = Field(default=2, ge=1)
    # A transcript keeps at most this many cues and characters (about twice what four hours of fast
    # speech needs); the rest is cut, with a note saying where.
    max_transcript_cues: int = Field(default=20_000, ge=1)
    max_transcript_text_chars: int = Field(default=500_000, ge=1)

