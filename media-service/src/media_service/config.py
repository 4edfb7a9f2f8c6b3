"""Settings of the media service, read from the environment."""

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator

from service_common.settings import CsvList, ServiceSettings

from .egress import parse_endpoint


class MediaSettings(ServiceSettings):
    media_dir: Path = Path("./var/media")
    # Private ranges that downloads may reach anyway (tests allow 127.0.0.1/32 this way).
    egress_allow_cidrs: CsvList = Field(default_factory=list)
    # The service's own listeners, which no fetch may reach whatever EGRESS_ALLOW_CIDRS opens: those of
    # `make run` on 127.0.0.1 (its port variables, so a changed port stays covered), plus INTERNAL_ENDPOINTS.
    gateway_port: int = 8000
    orchestrator_port: int = 8001
    media_service_port: int = 8002
    lite_models_port: int = 8003
    internal_endpoints: CsvList = Field(default_factory=list)
    # host:port pairs an operator opens on purpose although they are internal or private.
    egress_allow_endpoints: CsvList = Field(default_factory=list)
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

    @field_validator("egress_allow_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: list[str]) -> list[str]:
        # A typo here would otherwise surface only as refused downloads.
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @field_validator("internal_endpoints", "egress_allow_endpoints")
    @classmethod
    def _endpoints_parse(cls, value: list[str]) -> list[str]:
        for endpoint in value:
            parse_endpoint(endpoint)
        return value

    @property
    def refused_endpoints(self) -> list[str]:
        ports = (self.gateway_port, self.orchestrator_port, self.media_service_port, self.lite_models_port)
        return [f"127.0.0.1:{port}" for port in ports] + self.internal_endpoints

    def egress_policy(self) -> dict:
        """What a fetch job carries for the connection guard of its process."""
        return {
            "allow_cidrs": self.egress_allow_cidrs,
            "internal_endpoints": self.refused_endpoints,
            "allow_endpoints": self.egress_allow_endpoints,
        }
