"""The media service's upload API, seen from the gateway: a caller's video file, streamed through.

The media service being down, or failing, is `TransientError` (503: try later); a file it refuses on
purpose (too large, not a video) is `UploadRefused`, answered with the same status.
"""

from collections.abc import AsyncIterator

import httpx

from service_common.errors import TransientError
from service_common.http import error_from_exception, error_from_response

from ..schemas import UploadResponse

WHAT = "the media service"


class UploadRefused(Exception):
    """The media service declined the file for a reason the caller can fix (413: too large, 422: not a video)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class MediaClient:
    """Uploads on behalf of one caller: `owner` (the API key's name, "" without keys) owns what it sends."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, owner: str = ""):
        self._http = http
        self._uploads_url = base_url.rstrip("/") + "/uploads"
        self._owner = owner

    async def upload(self, body: AsyncIterator[bytes], content_type: str, timeout_s: float) -> UploadResponse:
        """Send a multipart body as it comes; what `body` raises while it is read goes on to the caller."""
        try:
            response = await self._http.post(
                self._uploads_url, content=body, timeout=timeout_s,
                # The upload is the caller's: only the same key can analyse it (the media service trusts this).
                headers={"content-type": content_type, "x-upload-owner": self._owner})
        except httpx.HTTPError as exc:
            raise error_from_exception(exc, WHAT) from exc
        if response.status_code in (413, 422):
            raise UploadRefused(response.status_code, error_from_response(response, "upload refused").message)
        if response.is_error:
            raise TransientError(error_from_response(response, "upload failed").message)
        return UploadResponse.model_validate(response.json())
