"""YouTube's own captions through youtube-transcript-api, every failure turned into a one-line note.

`fetch_youtube_captions` takes the `requests.Session` to use, so that it can be given one whose
transport serves recorded responses; the fetch process calls it with a real session, inside the
process whose connections are checked.
"""

import re
from collections.abc import Iterable

import requests
from requests.adapters import HTTPAdapter

from .languages import language_rank, normalize_language
from .subtitle_formats import clean_caption_text

MAX_REASON = 200


class TimeoutHTTPAdapter(HTTPAdapter):
    """youtube-transcript-api sets no timeout on its requests; a silent server must not hang it."""

    def __init__(self, timeout: float, **kwargs):
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def new_session(timeout: float) -> requests.Session:
    session = requests.Session()
    adapter = TimeoutHTTPAdapter(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def snippets_to_segments(snippets: Iterable) -> list[dict]:
    """youtube-transcript-api snippets (text, start, duration) as segment dicts, empty ones dropped."""
    segments = []
    for snippet in snippets:
        text = clean_caption_text(getattr(snippet, "text", ""))
        if text:
            start = float(snippet.start)
            segments.append({"start": round(start, 3), "end": round(start + float(snippet.duration), 3), "text": text})
    return segments


def choose_youtube_transcript(transcripts: Iterable, wanted: list[str], video_language: str | None = None):
    """The transcript to fetch, or None when the video lists none.

    Wanted languages in order (an exact code before the same base language: "en" takes "en-GB"),
    and within one language manual captions before generated ones. When no wanted language is
    there, the video's own language: the request's, else the language of YouTube's speech
    recognition track, which is the spoken one. Failing that, the first manual track, else the
    first generated one, as they are (no machine translation: the text models read any language,
    and translated tracks are the requests YouTube throttles first).
    """
    transcripts = list(transcripts)
    if not transcripts:
        return None
    own = normalize_language(video_language)
    if own is None:
        own = next((t.language_code for t in transcripts if t.is_generated), None)
    order = [*wanted, own] if own else list(wanted)

    def key(transcript) -> tuple:
        rank, inexact = language_rank(transcript.language_code, order)
        return rank, transcript.is_generated, inexact

    return min(transcripts, key=key)  # min keeps the first of equals: YouTube's own order


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text[: MAX_REASON - 1] + "…" if len(text) > MAX_REASON else text


def note_for(exc: BaseException, proxy: str | None) -> tuple[str, bool]:
    """(the note that says why YouTube gave no captions, whether asking again later may help)."""
    from youtube_transcript_api import (
        AgeRestricted,
        FailedToCreateConsentCookie,
        InvalidVideoId,
        NoTranscriptFound,
        PoTokenRequired,
        RequestBlocked,
        TranscriptsDisabled,
        VideoUnavailable,
        VideoUnplayable,
        YouTubeDataUnparsable,
        YouTubeRequestFailed,
    )

    if isinstance(exc, TranscriptsDisabled):
        return "YouTube captions are disabled for this video", False
    if isinstance(exc, NoTranscriptFound):
        return "YouTube has no captions for this video", False
    if isinstance(exc, RequestBlocked):  # IpBlocked too
        if proxy:
            return "YouTube blocked the request made through the proxy; try another proxy", True
        return "YouTube blocked the request from this server's IP; set a proxy", True
    if isinstance(exc, AgeRestricted):
        return "the video is age-restricted; YouTube gives its captions only to signed-in users", False
    if isinstance(exc, (VideoUnavailable, InvalidVideoId)):
        return "YouTube says the video is unavailable", False
    if isinstance(exc, VideoUnplayable):
        return _one_line(f"YouTube says the video cannot be played: {exc.reason or 'no reason given'}"), False
    if isinstance(exc, PoTokenRequired):
        return "YouTube asks for a proof-of-origin token for these captions", True
    if isinstance(exc, FailedToCreateConsentCookie):
        return "YouTube's cookie consent page could not be passed", True
    if isinstance(exc, YouTubeRequestFailed):
        return _one_line(f"the request to YouTube failed: {exc.reason}"), True
    if isinstance(exc, YouTubeDataUnparsable):
        return "YouTube's answer could not be read (its format may have changed)", True
    if isinstance(exc, requests.Timeout):
        return "YouTube did not answer in time", True
    if isinstance(exc, (requests.RequestException, OSError)):
        where = "through the proxy" if proxy else "from this server"
        reason = _root_reason(exc)
        return _one_line(f"YouTube could not be reached {where}" + (f": {reason}" if reason else "")), True
    return _one_line(f"YouTube captions could not be read: {type(exc).__name__}"), True


def _root_reason(exc: BaseException) -> str:
    """The innermost cause's message: requests nests urllib3 errors several levels deep."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or exc.__context__
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if inner is None:
            break
        exc = inner
    reason = getattr(exc, "reason", None)
    text = str(reason if isinstance(reason, (str, BaseException)) else exc)
    # urllib3 prefixes messages with the object they concern: "<urllib3.connection...>: Failed ..."
    return re.sub(r"^<[^>]*>:\s*", "", text).strip()


def fetch_youtube_captions(
    video_id: str,
    languages: list[str],
    video_language: str | None = None,
    proxy: str | None = None,
    http_client: requests.Session | None = None,
    timeout: float = 30.0,
) -> dict:
    """{"segments", "language", "source", "note", "final"}: segments and a source when captions were
    found; otherwise no segments and a note, and `final` False when a later attempt may do better."""
    from youtube_transcript_api import NoTranscriptFound, YouTubeTranscriptApi
    from youtube_transcript_api.proxies import GenericProxyConfig

    config = GenericProxyConfig(http_url=proxy, https_url=proxy) if proxy else None
    api = YouTubeTranscriptApi(proxy_config=config, http_client=http_client or new_session(timeout))
    empty = {"segments": [], "language": None, "source": None}
    try:
        listed = api.list(video_id)
        transcript = choose_youtube_transcript(listed, languages, video_language)
        if transcript is None:
            raise NoTranscriptFound(video_id, languages, listed)
        fetched = transcript.fetch()
    except Exception as exc:  # noqa: BLE001 - every failure is a note; the chain goes on
        note, retry = note_for(exc, proxy)
        return {**empty, "note": note, "final": not retry}
    segments = snippets_to_segments(fetched.snippets)
    if not segments:
        return {**empty, "note": f"YouTube's {fetched.language_code} captions are empty", "final": True}
    source = "youtube_auto_captions" if fetched.is_generated else "youtube_captions"
    return {"segments": segments, "language": fetched.language_code, "source": source, "note": None, "final": True}
