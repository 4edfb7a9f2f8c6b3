"""Errors that cross service boundaries, split by whether trying again can help."""


class ServiceError(Exception):
    """A failure with a one-line, human-readable message."""

    retryable = False
    # HTTP status of the answer this error came from; None when no answer came (refused, timed out).
    status: int | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PermanentError(ServiceError):
    """Trying again gives the same answer (bad URL, 404 video, unsupported media)."""


class TransientError(ServiceError):
    """Trying again may succeed (connection reset, 429, 503, timeout)."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
