"""Gateway settings, read from the environment (names are part of the operator contract)."""

from limits import parse
from pydantic import Field, field_validator

from service_common.settings import CsvList, ServiceSettings


class GatewaySettings(ServiceSettings):
    """`host` stays the base's 127.0.0.1 so a bare run never listens on every interface by surprise;
    containers set HOST=0.0.0.0 explicitly."""

    # PORT is the seed's own setting name.
    port: int = Field(default=8000, ge=1, le=65535)
    orchestrator_url: str = "http://127.0.0.1:8001"
    orchestrator_timeout_s: float = Field(default=10.0, gt=0)
    # Per-request proxies are an SSRF / interception channel, so none is honoured unless listed here.
    allowed_proxies: CsvList = Field(default_factory=list)
    # Each frame costs one vision-model call; the limit keeps one request from monopolising the GPU.
    max_frames_limit: int = Field(default=64, ge=1)
    # The seed's JavaScript example runs in browsers, so every origin is allowed unless narrowed.
    cors_allow_origins: CsvList = Field(default_factory=lambda: ["*"])
    # Uploads go straight to the media service, which keeps the files.
    media_service_url: str = "http://127.0.0.1:8002"
    max_upload_mb: int = Field(default=2048, ge=1)
    upload_timeout_s: float = Field(default=600.0, gt=0)
    # "name:key,name2:key2" (or API_KEYS_FILE, one name:key per line) turns authentication on.
    api_keys: str | None = None
    api_keys_file: str | None = None
    # Without keys the gateway refuses to listen beyond loopback unless this says it is meant to.
    allow_unauthenticated: bool = False
    # Requests per key (per client address without keys), in the `limits` notation; "0" turns it off.
    rate_limit: str = "300/minute"
    # JSON bodies are small; /v1/chat/completions may carry images, so it has its own, larger limit.
    max_request_body_kb: int = Field(default=64, ge=1)
    max_model_request_mb: int = Field(default=64, ge=1)
    # Direct OpenAI-compatible calls (/v1/chat/completions) wait this long for the model server.
    model_call_timeout_s: float = Field(default=300.0, gt=0)
    # Live progress streams (GET /tasks/{id}/events) send a comment after this many quiet seconds, so that
    # proxies and browsers keep them open.
    events_heartbeat_s: float = Field(default=15.0, gt=0, le=300)
    # GET /metrics (Prometheus) asks for this as `Authorization: Bearer`; unset, it is open without API keys
    # and off (404) with them.
    metrics_token: str | None = None

    @field_validator("metrics_token")
    @classmethod
    def _token_or_none(cls, value: str | None) -> str | None:
        # Read from a mounted Secret file it may end in a newline, or be the template's comments alone
        # (deploy/kubernetes/secrets): both mean the token, or none.
        token = "".join(line for line in (value or "").splitlines() if not line.lstrip().startswith("#")).strip()
        if any(c.isspace() for c in token):
            raise ValueError("METRICS_TOKEN must be one word (e.g. openssl rand -hex 32)")
        return token or None

    @field_validator("rate_limit")
    @classmethod
    def _readable_rate(cls, value: str) -> str:
        if value.strip() not in ("", "0"):
            parse(value)  # ValueError names what is wrong, e.g. "300/fortnight"
        return value
