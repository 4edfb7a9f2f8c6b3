"""YouTube captions through youtube-transcript-api, against recorded YouTube answers (YouTube itself
cannot be reached from here): the library's real code runs, only its transport is replaced."""

import json
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from media_service.transcripts.youtube_captions import choose_youtube_transcript, fetch_youtube_captions

VIDEO_ID = "dQw4w9WgXcQ"
API_KEY = "AIzaRecordedKey_0123456789"
WATCH_PAGE = f'<html><head><script>ytcfg.set({{"INNERTUBE_API_KEY":"{API_KEY}","HL":"en"}});</script></head></html>'
CONSENT_PAGE = '<form action="https://consent.youtube.com/s"><input name="v" value="cb.20210328-17-p0.en+FX"></form>'
RECAPTCHA_PAGE = '<html><body><div class="g-recaptcha" data-sitekey="x"></div></body></html>'
BOT_CHECK = "Sign in to confirm you\u2019re not a bot"


def timedtext_xml(lines: list[tuple[float, float, str]]) -> str:
    body = "".join(f'<text start="{s}" dur="{d}">{t}</text>' for s, d, t in lines)
    return f'<?xml version="1.0" encoding="utf-8" ?><transcript>{body}</transcript>'


CAPTIONS = {
    ("en", ""): timedtext_xml([(0.0, 1.5, "Hello &amp;amp; welcome"), (1.5, 2.0, "&lt;i&gt;to the&lt;/i&gt; demo")]),
    ("en", "asr"): timedtext_xml([(0.0, 1.0, "hello and welcome"), (1.0, 1.0, ""), (2.0, 1.0, "to the demo")]),
    ("en-GB", ""): timedtext_xml([(0.5, 1.0, "Hello, colour demo")]),
    ("de", ""): timedtext_xml([(0.0, 2.0, "Hallo und willkommen")]),
    ("de", "asr"): timedtext_xml([(0.0, 2.0, "hallo und willkommen")]),
    ("fr", ""): timedtext_xml([(0.0, 2.0, "Bonjour")]),
    ("es", ""): timedtext_xml([(0.0, 2.0, "Hola")]),
}


def caption_track(code: str, generated: bool = False, extra: str = "") -> dict:
    kind = "&kind=asr" if generated else ""
    track = {
        "baseUrl": f"https://www.youtube.com/api/timedtext?v={VIDEO_ID}&lang={code}{kind}{extra}&fmt=srv3",
        "name": {"runs": [{"text": code}]},
        "vssId": f"{'a' if generated else ''}.{code}",
        "languageCode": code,
        "isTranslatable": True,
    }
    if generated:
        track["kind"] = "asr"
    return track


def player(*tracks: dict, status: str = "OK", reason: str | None = None, captions: bool = True) -> dict:
    data: dict = {"playabilityStatus": {"status": status}, "videoDetails": {"videoId": VIDEO_ID}}
    if reason:
        data["playabilityStatus"]["reason"] = reason
    if captions:
        data["captions"] = {
            "playerCaptionsTracklistRenderer": {
                "captionTracks": list(tracks),
                "translationLanguages": [{"languageCode": "en", "languageName": {"runs": [{"text": "English"}]}}],
            }
        }
    return data


class RecordedYouTubeAdapter(BaseAdapter):
    """Answers the three requests youtube-transcript-api makes (the watch page, the innertube player
    API, the timedtext XML) from recordings, and never opens a socket. `faults` maps "watch",
    "player" or "timedtext" to an HTTP status to answer with or an exception to raise."""

    def __init__(self, player_data: dict, watch_pages=(WATCH_PAGE,), faults: dict | None = None):
        super().__init__()
        self.player_data = player_data
        self.watch_pages = list(watch_pages)
        self.faults = faults or {}
        self.seen: list[tuple[str, str, dict]] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.seen.append((request.method, request.url, dict(proxies or {})))
        parts = urlsplit(request.url)
        assert parts.hostname == "www.youtube.com", request.url
        kind = {"/watch": "watch", "/youtubei/v1/player": "player", "/api/timedtext": "timedtext"}[parts.path]
        fault = self.faults.get(kind)
        if isinstance(fault, BaseException):
            raise fault
        if isinstance(fault, int):
            return self._response(request, fault, "text/html", b"<html>error</html>")
        if kind == "watch":
            page = self.watch_pages.pop(0) if len(self.watch_pages) > 1 else self.watch_pages[0]
            return self._response(request, 200, "text/html", page.encode())
        if kind == "player":
            assert parse_qs(parts.query)["key"] == [API_KEY]
            assert json.loads(request.body)["videoId"] == VIDEO_ID
            return self._response(request, 200, "application/json", json.dumps(self.player_data).encode())
        query = parse_qs(parts.query)
        xml = CAPTIONS[(query["lang"][0], query.get("kind", [""])[0])]
        return self._response(request, 200, "text/xml", xml.encode())

    @staticmethod
    def _response(request, status: int, content_type: str, body: bytes) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = "OK" if status == 200 else "Error"
        response.headers["Content-Type"] = f"{content_type}; charset=utf-8"
        response._content = body
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    """Every answer comes from the recordings: any attempt to resolve or connect fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to use the network: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def recorded(player_data: dict, **kwargs) -> tuple[requests.Session, RecordedYouTubeAdapter]:
    adapter = RecordedYouTubeAdapter(player_data, **kwargs)
    session = requests.Session()
    session.trust_env = False  # proxies from the test machine's environment play no part
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


def fetch(player_data: dict, languages=("en",), video_language=None, proxy=None, **kwargs) -> dict:
    session, _ = recorded(player_data, **kwargs)
    return fetch_youtube_captions(VIDEO_ID, list(languages), video_language, proxy, http_client=session)


def test_manual_captions_come_before_generated_ones():
    found = fetch(player(caption_track("en", generated=True), caption_track("en")))
    assert found["source"] == "youtube_captions" and found["language"] == "en" and found["note"] is None
    assert found["segments"] == [
        {"start": 0.0, "end": 1.5, "text": "Hello & welcome"},
        {"start": 1.5, "end": 3.5, "text": "to the demo"},
    ]


def test_generated_captions_are_marked_as_such_and_empty_lines_dropped():
    found = fetch(player(caption_track("en", generated=True)))
    assert found["source"] == "youtube_auto_captions"
    assert [s["text"] for s in found["segments"]] == ["hello and welcome", "to the demo"]


def test_the_request_goes_through_the_proxy():
    session, adapter = recorded(player(caption_track("en")))
    proxy = "http://127.0.0.1:3128"
    found = fetch_youtube_captions(VIDEO_ID, ["en"], proxy=proxy, http_client=session)
    assert found["source"] == "youtube_captions"
    assert [method for method, _, _ in adapter.seen] == ["GET", "POST", "GET"]
    assert all(proxies == {"http": proxy, "https": proxy} for _, _, proxies in adapter.seen)


def test_the_cookie_consent_page_is_passed():
    found = fetch(player(caption_track("en")), watch_pages=(CONSENT_PAGE, WATCH_PAGE))
    assert found["source"] == "youtube_captions"


class Track:
    """The attributes of youtube_transcript_api's Transcript that the choice reads."""

    def __init__(self, code: str, generated: bool = False):
        self.language_code, self.is_generated = code, generated

    def __repr__(self) -> str:
        return f"{self.language_code}{'(auto)' if self.is_generated else ''}"


@pytest.mark.parametrize(
    ("tracks", "wanted", "video_language", "chosen"),
    [
        # wanted languages in order; within a language, manual before generated
        ([Track("de"), Track("en", True), Track("en")], ["en", "de"], None, "en"),
        ([Track("de"), Track("en", True)], ["en", "de"], None, "en(auto)"),
        ([Track("en", True), Track("de")], ["fr", "de"], None, "de"),
        # "en" takes "en-GB"; a manual en-GB beats generated "en"
        ([Track("en", True), Track("en-GB")], ["en"], None, "en-GB"),
        # none wanted: the video's own language, from the request or from YouTube's speech track
        ([Track("fr"), Track("de", True), Track("es")], ["en"], None, "de(auto)"),
        ([Track("fr"), Track("es")], ["en"], "es", "es"),
        # nothing to go by: the first manual track, as YouTube lists them
        ([Track("fr"), Track("es")], ["en"], None, "fr"),
        ([], ["en"], None, None),
    ],
)
def test_language_choice(tracks, wanted, video_language, chosen):
    choice = choose_youtube_transcript(tracks, wanted, video_language)
    assert (repr(choice) if choice else None) == chosen


def test_video_language_falls_back_after_the_wanted_ones():
    found = fetch(player(caption_track("fr"), caption_track("de", generated=True), caption_track("de")), ["it"])
    assert (found["language"], found["source"]) == ("de", "youtube_captions")


@pytest.mark.parametrize(
    ("player_data", "options", "note", "final"),
    [
        (player(captions=False), {}, "YouTube captions are disabled for this video", True),
        (player(), {}, "YouTube has no captions for this video", True),
        (
            player(status="LOGIN_REQUIRED", reason=BOT_CHECK),
            {},
            "YouTube blocked the request from this server's IP; set a proxy",
            False,
        ),
        (
            player(status="LOGIN_REQUIRED", reason=BOT_CHECK),
            {"proxy": "http://127.0.0.1:3128"},
            "YouTube blocked the request made through the proxy; try another proxy",
            False,
        ),
        (
            player(caption_track("en")),
            {"faults": {"watch": 429}},
            "YouTube blocked the request from this server's IP; set a proxy",
            False,
        ),
        (
            player(caption_track("en")),
            {"watch_pages": (RECAPTCHA_PAGE,)},
            "YouTube blocked the request from this server's IP; set a proxy",
            False,
        ),
        (
            player(caption_track("en")),
            {"faults": {"timedtext": 429}},
            "YouTube blocked the request from this server's IP; set a proxy",
            False,
        ),
        (
            player(status="ERROR", reason="This video is unavailable", captions=False),
            {},
            "YouTube says the video is unavailable",
            True,
        ),
        (
            player(status="LOGIN_REQUIRED", reason="This video may be inappropriate for some users.", captions=False),
            {},
            "the video is age-restricted; YouTube gives its captions only to signed-in users",
            True,
        ),
        (
            player(status="UNPLAYABLE", reason="Video unavailable in your country", captions=False),
            {},
            "YouTube says the video cannot be played: Video unavailable in your country",
            True,
        ),
        (
            player(caption_track("en", extra="&exp=xpe")),
            {},
            "YouTube asks for a proof-of-origin token for these captions",
            False,
        ),
        (
            player(caption_track("en")),
            {"faults": {"player": 500}},
            "the request to YouTube failed: 500 Server Error: Error for url: "
            f"https://www.youtube.com/youtubei/v1/player?key={API_KEY}",
            False,
        ),
        (
            player(caption_track("en")),
            {"watch_pages": (CONSENT_PAGE,)},
            "YouTube's cookie consent page could not be passed",
            False,
        ),
        (
            player(caption_track("en")),
            {"faults": {"watch": requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))}},
            "YouTube could not be reached from this server: [Errno 111] Connection refused",
            False,
        ),
        (
            player(caption_track("en")),
            {"faults": {"timedtext": requests.ReadTimeout("read timed out")}},
            "YouTube did not answer in time",
            False,
        ),
    ],
    ids=[
        "disabled",
        "no-tracks",
        "bot-check",
        "bot-check-proxy",
        "ip-429",
        "ip-recaptcha",
        "captions-429",
        "unavailable",
        "age",
        "unplayable",
        "po-token",
        "http-500",
        "consent",
        "connection",
        "timeout",
    ],
)
def test_every_failure_becomes_a_note(player_data, options, note, final):
    found = fetch(player_data, **options)
    assert found == {"segments": [], "language": None, "source": None, "note": note, "final": final}
