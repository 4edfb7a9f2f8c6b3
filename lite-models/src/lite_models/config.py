"""Settings of the lite model server (environment variables, case-insensitive)."""

from service_common.settings import ServiceSettings


class LiteSettings(ServiceSettings):
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
