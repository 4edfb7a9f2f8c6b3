"""Speech-to-text over the OpenAI audio API (/v1/audio/transcriptions), one audio window at a time."""

import httpx

from service_common.contracts import TranscriptSegment
from service_common.errors import PermanentError
from service_common.http import request_json, with_retries

from ..config import ModelEndpoint


class SpeechClient:
    def __init__(self, client: httpx.AsyncClient, endpoint: ModelEndpoint, timeout_s: float):
        self._client = client
        self._endpoint = endpoint
        self._timeout = timeout_s

    async def transcribe(self, wav: bytes, offset_s: float, window_s: float,
                         language: str | None) -> tuple[list[TranscriptSegment], str | None]:
        """Segments of one window, with times shifted by `offset_s` to the video's clock."""
        try:
            body = await self._post(wav, "verbose_json", language)
        except PermanentError:
            # Older servers (vLLM before verbose_json) answer 400: take the text without timings.
            body = await self._post(wav, "json", language)
        segments = []
        for raw in body.get("segments") or []:
            text = str(raw.get("text", "")).strip()
            if text:
                start = offset_s + float(raw.get("start", 0.0))
                segments.append(TranscriptSegment(start=start, end=offset_s + float(raw.get("end", 0.0)), text=text))
        if not segments and str(body.get("text", "")).strip():
            segments = [TranscriptSegment(start=offset_s, end=offset_s + window_s, text=body["text"].strip())]
        return segments, body.get("language")

    async def _post(self, wav: bytes, response_format: str, language: str | None) -> dict:
        endpoint = self._endpoint
        url = endpoint.base_url.rstrip("/") + "/audio/transcriptions"
        data = {"model": endpoint.model, "response_format": response_format, "temperature": "0"}
        if language:
            data["language"] = language
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        response = await with_retries(lambda: request_json(
            self._client, "POST", url, "speech-to-text failed", data=data, headers=headers,
            files={"file": ("audio.wav", wav, "audio/wav")}, timeout=self._timeout))
        try:
            body = response.json()
        except ValueError as exc:
            raise PermanentError("speech-to-text failed: the answer was not JSON") from exc
        if not isinstance(body, dict):
            raise PermanentError("speech-to-text failed: the answer was not a JSON object")
        return body
