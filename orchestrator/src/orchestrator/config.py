"""Orchestrator settings, read from the environment."""

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from service_common.egress import EgressSettings
from service_common.settings import CsvList, listen_port

from .retry import RetryStrategy


class ModelEndpoint(BaseModel):
    """One deployed OpenAI-compatible model server (vLLM, the lite server, or any other)."""

    base_url: str  # ends in /v1
    model: str
    api_key: str | None = None
    # vLLM does not report its GPU over the OpenAI API; operators (or the launcher) may name it here.
    gpu_name: str | None = None

    @property
    def server_key(self) -> str:
        """One model on one server, however many tiers or roles name it: what shares a concurrency bound
        and a context size."""
        return f"{self.base_url}|{self.model}"


class OrchestratorSettings(EgressSettings):
    port: int = listen_port("ORCHESTRATOR_PORT", 8001)
    database_url: str = "sqlite:///./var/orchestrator.db"
    media_service_url: str = "http://127.0.0.1:8002"
    lite_models_url: str = "http://127.0.0.1:8003/v1"
    # role -> tier -> endpoint, as JSON; unset means every tier of both roles is the lite server.
    model_endpoints: dict[str, dict[str, ModelEndpoint]] | None = None
    # Without MODEL_ENDPOINTS: "lite" is the lite server for every tier; "vllm" reads the model registry
    # (vllm/registry.yaml, or MODEL_REGISTRY) for the deployed servers of MODEL_PROFILE.
    model_backend: Literal["lite", "vllm"] = "lite"
    model_registry: str | None = None  # path of the registry file
    model_profile: str | None = None  # default: the registry's default_profile
    # entries or role-tiers, e.g. "vision-int4,text-int8"; unset or empty: those the registry marks deployed
    model_deployed: CsvList | None = None
    # entry name or role-tier -> base URL, as JSON; unlisted servers are reached on http://MODEL_HOST:<entry port>/v1
    model_base_urls: dict[str, str] = {}
    model_host: str = "127.0.0.1"
    vllm_api_key: str | None = None  # the key the vLLM servers were started with
    model_gpu_name: str | None = None  # the GPU the vLLM servers run on, for /health

    # An OpenAI-compatible /v1/audio/transcriptions server (e.g. vLLM serving Whisper), the transcript
    # chain's last resort; unset: a deployed `speech` role, else the lite server under MODEL_BACKEND=lite.
    speech_to_text: ModelEndpoint | None = None
    speech_model_name: str = "lite-speech"  # the lite server's speech model
    speech_chunk_s: float = Field(default=600.0, gt=0)
    # Adjacent audio windows share this much sound (at most a quarter of a window), so words at a border
    # are heard whole by one of them.
    speech_overlap_s: float = Field(default=5.0, ge=0)
    progress_interval_s: float = Field(default=1.0, gt=0)
    # Memory for task answers kept between polls, each dropped when its task is written (answers.py); 0: none.
    answer_cache_mb: int = Field(default=32, ge=0)

    # Queued or running tasks one API key may have at once (0: no limit); more submits are answered 429.
    active_tasks_per_key: int = Field(default=100, ge=0)
    run_workers: bool = True
    worker_concurrency: int = Field(default=2, ge=1)
    # Extra slots, used only to take over tasks whose worker died, so a crash is repaired within a lease
    # even when every worker is busy.
    rescue_slots: int = Field(default=1, ge=0)
    poll_interval_s: float = Field(default=0.5, gt=0)
    lease_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=5.0, ge=0)
    # On SIGTERM a worker claims nothing more and gives its running tasks this long to finish; the rest
    # are handed back without counting the attempt.
    shutdown_grace_s: float = Field(default=20.0, ge=0)
    # How often a worker checks that each of its tasks still exists and is still its own: a deleted task
    # stops within about this long.
    cancel_check_s: float = Field(default=1.0, gt=0)
    # A worker's writes wait out a database outage this long (retrying) before giving the task up; the
    # work already done is kept in memory meanwhile, so a short outage costs nothing.
    database_outage_s: float = Field(default=300.0, ge=0)

    # Stored media (videos, frames, transcripts) is removed once no running task needs it and it has not
    # been used for MEDIA_RETENTION_S, and, oldest first, whenever the store exceeds MEDIA_DISK_BUDGET_MB.
    # A deleted task's media goes at once unless another task shares it. 0 turns either rule off.
    media_retention_s: float = Field(default=86400.0, ge=0)
    media_disk_budget_mb: float = Field(default=20000.0, ge=0)
    media_janitor_interval_s: float = Field(default=60.0, gt=0)

    download_timeout_s: float = 900.0
    frames_timeout_s: float = 300.0
    transcript_timeout_s: float = 900.0  # captions, subtitles, then speech-to-text of the whole audio
    vision_timeout_s: float = 900.0
    text_timeout_s: float = 300.0

    model_call_timeout_s: float = 120.0
    model_concurrency: int = Field(default=4, ge=1)  # in-flight calls per model endpoint, per worker process
    max_transcript_chars: int = 24000  # transcript characters in one text-model call
    # A task keeps at most this many transcript cues and characters, whatever the media service or
    # speech-to-text gave (the media service cuts with its own settings of the same names first).
    max_transcript_cues: int = Field(default=20_000, ge=1)
    max_transcript_text_chars: int = Field(default=500_000, ge=1)
    # Text-model calls on transcript parts per task; a longer transcript has evenly spaced parts of it
    # summarised, so the whole video is still covered, and a note says so.
    max_summary_parts: int = Field(default=32, ge=2)

    # Webhooks (webhook_url on a task): signed with this secret, in the Standard Webhooks form
    # whsec_<base64 of 24 to 64 random bytes>; without it, tasks with a webhook_url are refused.
    webhook_secret: str | None = None
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    # The n-th retry waits WEBHOOK_RETRY_BASE_S * 2**(n-1), at most WEBHOOK_RETRY_MAX_S, with jitter.
    webhook_retry_base_s: float = Field(default=5.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_form(cls, value: str | None) -> str | None:
        if not value:
            return None
        body = value.removeprefix("whsec_")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("WEBHOOK_SECRET must be whsec_ followed by base64 (e.g. whsec_$(openssl rand "
                             "-base64 32))") from None
        if len(raw) < 24:
            raise ValueError("WEBHOOK_SECRET must hold at least 24 random bytes (whsec_$(openssl rand -base64 32))")
        return value

    def task_retries(self) -> RetryStrategy:
        return RetryStrategy(self.max_attempts, self.retry_backoff_s)

    def webhook_retries(self) -> RetryStrategy:
        return RetryStrategy(self.webhook_max_attempts, self.webhook_retry_base_s, self.webhook_retry_max_s,
                             jitter=(0.5, 1.0))

    def stage_timeouts(self) -> dict[str, float]:
        return {
            "downloading": self.download_timeout_s,
            "extracting_frames": self.frames_timeout_s,
            "extracting_transcript": self.transcript_timeout_s,
            "analyzing_vision": self.vision_timeout_s,
            "analyzing_text": self.text_timeout_s,
        }

