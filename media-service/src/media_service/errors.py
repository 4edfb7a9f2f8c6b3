"""The media service's error answers: each says which HTTP status it is answered with."""

from service_common.errors import ServiceError


class MediaError(ServiceError):
    """A one-line failure answered with `http_status`; `retryable` says whether asking again may help.
    (`status`, inherited, is the status of an answer received from elsewhere; this service has none.)"""

    def __init__(self, detail: str, http_status: int = 422, retryable: bool = False):
        super().__init__(detail)
        self.http_status = http_status
        self.retryable = retryable


def answer_status(error: ServiceError) -> int:
    """The status a ServiceError is answered with; one raised elsewhere says only whether it may pass."""
    if isinstance(error, MediaError):
        return error.http_status
    return 502 if error.retryable else 422


def media_not_found(media_id: str) -> MediaError:
    return MediaError(f"media {media_id} not found", 404)
