"""Orchestrator settings, read from the environment."""

from pydantic import BaseModel, Field

from service_common.contracts import QUANTIZATION_TIERS
from service_common.settings import ServiceSettings


class ModelEndpoint(BaseModel):
    """One deployed OpenAI-compatible model server (vLLM, the lite server, or any other)."""

    base_url: str  # ends in /v1
    model: str
    api_key: str | None = None
    # vLLM does not report its GPU over the OpenAI API; operators (or the launcher) may name it here.
    gpu_name: str | None = None


class OrchestratorSettings(ServiceSettings):
    database_url: str = "sqlite:///./var/orchestrator.db"
    media_service_url: str = "http://127.0.0.1:8002"
    lite_models_url: str = "http://127.0.0.1:8003/v1"
    # role -> tier -> endpoint, as JSON; unset means every tier of both roles is the lite server.
    model_endpoints: dict[str, dict[str, ModelEndpoint]] | None = None

    # An OpenAI-compatible /v1/audio/transcriptions server (e.g. vLLM serving Whisper), the transcript
    # chain's last resort; unset means videos without captions or subtitles get no transcript.
    speech_to_text: ModelEndpoint | None = None
    speech_chunk_s: float = Field(default=600.0, gt=0)
    progress_interval_s: float = Field(default=1.0, gt=0)

    run_workers: bool = True
    worker_concurrency: int = Field(default=2, ge=1)
    poll_interval_s: float = Field(default=0.5, gt=0)
    lease_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=5.0, ge=0)

    download_timeout_s: float = 900.0
    frames_timeout_s: float = 300.0
    transcript_timeout_s: float = 900.0  # captions, subtitles, then speech-to-text of the whole audio
    vision_timeout_s: float = 900.0
    text_timeout_s: float = 300.0

    model_call_timeout_s: float = 120.0
    model_concurrency: int = Field(default=4, ge=1)  # in-flight calls per model endpoint, per worker process
    max_transcript_chars: int = 24000

    def deployments(self) -> dict[str, dict[str, ModelEndpoint]]:
        if self.model_endpoints is not None:
            return self.model_endpoints
        lite = {role: ModelEndpoint(base_url=self.lite_models_url, model=f"lite-{role}") for role in ("vision", "text")}
        return {role: dict.fromkeys(QUANTIZATION_TIERS, endpoint) for role, endpoint in lite.items()}

    def stage_timeouts(self) -> dict[str, float]:
        return {
            "downloading": self.download_timeout_s,
            "extracting_frames": self.frames_timeout_s,
            "extracting_transcript": self.transcript_timeout_s,
            "analyzing_vision": self.vision_timeout_s,
            "analyzing_text": self.text_timeout_s,
        }
