"""Transcript pieces that need no network: YouTube ids, the caption mapping, languages, track choice, parsing."""

from dataclasses import dataclass

import pytest

from media_service.fetch.failures import clean_message, http_failure
from media_service.transcripts.chain import choose_track, youtube_video_id
from media_service.transcripts.languages import normalize_language, wanted_languages
from media_service.transcripts.subtitle_formats import parse_subtitles
from media_service.transcripts.youtube_captions import snippets_to_segments
from service_common.contracts import SubtitleTrack


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abc",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ?start=3",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ",
    ],
)
def test_youtube_ids(url):
    assert youtube_video_id(url) == "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/channel/UC123",
        "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "http://127.0.0.1:8000/clip.mp4",
        "not a url",
    ],
)
def test_not_youtube_videos(url):
    assert youtube_video_id(url) is None


@dataclass
class FakeYouTubeSnippet:
    """Stands in for youtube_transcript_api's FetchedTranscriptSnippet (YouTube is unreachable here)."""

    text: str
    start: float
    duration: float


def test_youtube_snippets_become_segments():
    snippets = [
        FakeYouTubeSnippet("Hello &amp; welcome", 0.0, 1.5),
        FakeYouTubeSnippet("  ", 1.5, 0.5),
        FakeYouTubeSnippet("<i>second</i>\nline", 2.0, 2.25),
    ]
    assert snippets_to_segments(snippets) == [
        {"start": 0.0, "end": 1.5, "text": "Hello & welcome"},
        {"start": 2.0, "end": 4.25, "text": "second line"},
    ]


def track(language, ext="vtt", automatic=False):
    return SubtitleTrack(language=language, ext=ext, url=f"http://x/{language}.{ext}", automatic=automatic)


def test_track_choice_prefers_language_then_written_then_vtt():
    tracks = [
        track("de"),
        track("en", "srt"),
        track("en", automatic=True),
        track("en-US", "vtt"),
        track("en"),
    ]
    assert choose_track(tracks, ["en"]) == track("en")
    assert choose_track([track("en", "srt"), track("en", automatic=True)], ["en"]) == track("en", "srt")
    assert choose_track([track("de"), track("fr")], ["fr", "de"]) == track("fr")
    assert choose_track([track("de")], ["en"]) == track("de")
    assert choose_track([track("en", "json3"), track("en", "srv3")], ["en"]) is None


def test_rolling_auto_captions_are_deduplicated():
    vtt = (
        b"WEBVTT\n\n"
        b"00:00:00.000 --> 00:00:02.500 align:start position:0%\n \nhello<00:00:00.500><c> world</c>\n\n"
        b"00:00:02.500 --> 00:00:02.510 align:start position:0%\nhello world\n \n\n"
        b"00:00:02.510 --> 00:00:05.000 align:start position:0%\nhello world\nthis<00:00:03.000><c> is</c>\n"
    )
    segments = parse_subtitles(vtt, "vtt")
    assert [(s.start, s.end, s.text) for s in segments] == [(0.0, 2.5, "hello world"), (2.51, 5.0, "this is")]


def test_srt_is_read():
    srt = b"1\n00:00:01,000 --> 00:00:02,500\n<i>Hi</i> there\n\n2\n00:00:03,000 --> 00:00:04,000\nBye\n"
    assert [(s.start, s.end, s.text) for s in parse_subtitles(srt, "srt")] == [
        (1.0, 2.5, "Hi there"),
        (3.0, 4.0, "Bye"),
    ]


def test_yt_dlp_messages_become_one_line():
    raw = (
        "\x1b[0;31mERROR:\x1b[0m [generic] missing: Unable to download webpage: "
        "HTTP Error 404: Not Found (caused by <HTTPError 404: Not Found>)"
    )
    assert clean_message(raw) == "Unable to download webpage: HTTP Error 404: Not Found"
    assert clean_message("ERROR: [generic] Unsupported URL: http://x/") == "Unsupported URL: http://x/"


def test_http_statuses_split_into_permanent_and_transient():
    assert (http_failure(404, "Not Found", "u").status, http_failure(404, "", None).retryable) == (422, False)
    assert (http_failure(429, "Too Many", "u").status, http_failure(429, "", None).retryable) == (503, True)
    assert (http_failure(503, "Unavailable", "u").status, http_failure(500, "", None).retryable) == (
        502,
        True,
    )


def test_a_written_track_in_a_related_language_beats_automatic_captions():
    assert choose_track([track("en", automatic=True), track("en-GB")], ["en"]) == track("en-GB")
    assert choose_track([track("de", automatic=True), track("fr")], ["en", "de"]) == track("de", automatic=True)
    assert choose_track([track("en", "ass")], ["en"]) == track("en", "ass")


@pytest.mark.parametrize(
    ("languages", "video_language", "wanted"),
    [
        (None, None, ["en"]),
        (None, "de", ["de", "en"]),
        (None, "en-US", ["en-US", "en"]),
        (["fr", "de"], "ger", ["fr", "de"]),
        (["fr"], "ja", ["fr", "ja"]),
        (["pt_BR", "PT-br"], None, ["pt-BR"]),
    ],
)
def test_wanted_languages(languages, video_language, wanted):
    assert wanted_languages(languages, video_language) == wanted


def test_container_language_codes():
    assert [normalize_language(c) for c in ("eng", "fre", "fra", "ger", "und", "", None, "en")] == [
        "en", "fr", "fr", "de", None, None, None, "en"
    ]  # fmt: skip


def test_ass_is_read():
    ass = (
        "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,Second, with a comma\n"
        "Comment: 0,0:00:00.00,0:00:09.00,Default,,0,0,0,,not spoken\n"
        "Dialogue: 0,0:00:01.50,0:00:02.25,Default,,0,0,0,,{\\i1}First{\\i0}\\Nline\n"
    )
    assert [(s.start, s.end, s.text) for s in parse_subtitles(ass.encode(), "ass")] == [
        (1.5, 2.25, "First line"),
        (3.0, 4.0, "Second, with a comma"),
    ]
