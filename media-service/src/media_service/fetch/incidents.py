"""What went wrong inside callbacks during one fetch (yt-dlp's logger and progress hook, the connection
guard), which yt-dlp would otherwise swallow or reword: the first message of each kind is kept, for
the failure the fetch reports."""

TOO_LARGE = "too_large"  # the size limit was passed (yt-dlp's own skip over max_filesize is no error to it)
ERROR = "error"  # yt-dlp logged an error
REFUSED = "refused"  # the connection guard refused a destination


class Incidents:
    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def record(self, kind: str, message: str) -> None:
        self._first.setdefault(kind, message)

    def __contains__(self, kind: str) -> bool:
        return kind in self._first

    def get(self, kind: str) -> str | None:
        return self._first.get(kind)
