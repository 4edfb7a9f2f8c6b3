"""Settings of the media service, read from the environment."""

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator

from service_common.settings import CsvList, ServiceSettings


class MediaSettings(ServiceSettings):
    media_dir: Path = Path("./var/media")
    # Private ranges that downloads may reach anyway (tests allow 127.0.0.1/32 this way).
    egress_allow_cidrs: CsvList = Field(default_factory=list)
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

    @field_validator("egress_allow_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: list[str]) -> list[str]:
        # A typo here would otherwise surface only as refused downloads.
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value
