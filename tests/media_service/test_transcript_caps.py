"""A subtitle track far longer than any video needs is cut where the transcript is made, with a note."""

import httpx
import pytest

from service_common.transcript_limits import clock
from tests.support.videos import make_video, write_video_page, write_vtt

from .conftest import counting_server, media_service

TIMEOUT = 60
MAX_CUES = 500
MAX_CHARS = 6000
PADDING = "and the speaker goes on about it at some length before the next line begins"


@pytest.fixture(scope="module")
def capped_service(tmp_path_factory):
    media_dir = tmp_path_factory.mktemp("capped-media")
    with media_service(media_dir, EGRESS_ALLOW_CIDRS="127.0.0.1/32", MAX_TRANSCRIPT_CUES=str(MAX_CUES),
                       MAX_TRANSCRIPT_TEXT_CHARS=str(MAX_CHARS)) as base:
        yield base


@pytest.fixture(scope="module")
def long_tracks(tmp_path_factory):
    """Two pages on one origin: many short cues, and fewer long ones."""
    root = tmp_path_factory.mktemp("long-tracks")
    make_video(root / "clip.mp4", seconds=2)
    short = [(i * 1.0, i * 1.0 + 0.8, f"line {i}") for i in range(3000)]
    long = [(i * 2.0, i * 2.0 + 1.5, f"Sentence {i} {PADDING}.") for i in range(400)]
    for name, cues in (("short", short), ("long", long)):
        write_vtt(root / f"{name}.vtt", cues)
        write_video_page(root / f"{name}.html", "clip.mp4", f"{name} cues", vtt_name=f"{name}.vtt")
    with counting_server(root) as origin:
        yield origin, {"short": short, "long": long}


def _transcript(service: str, page: str) -> dict:
    download = httpx.post(f"{service}/downloads", json={"url": page}, timeout=TIMEOUT)
    assert download.status_code == 200, download.text
    result = download.json()
    body = {"url": page, "subtitles": result["subtitles"], "languages": ["en"]}
    response = httpx.post(f"{service}/media/{result['media_id']}/transcript", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def test_many_cues_are_cut_at_the_cue_cap(capped_service, long_tracks):
    origin, cues = long_tracks
    data = _transcript(capped_service, f"{origin.base}/short.html")
    kept = cues["short"][:MAX_CUES]
    assert [(s["start"], s["end"], s["text"]) for s in data["segments"]] == [tuple(c) for c in kept]
    assert data["text"] == " ".join(text for _, _, text in kept)
    first_dropped = cues["short"][MAX_CUES][0]
    assert data["notes"] == [f"the transcript was cut at {clock(first_dropped)} after {MAX_CUES:,} cues "
                             "(MAX_TRANSCRIPT_CUES)"]
    assert data["source"] == "subtitles"


def test_long_cues_are_cut_at_the_character_cap(capped_service, long_tracks):
    origin, cues = long_tracks
    data = _transcript(capped_service, f"{origin.base}/long.html")
    texts = [text for _, _, text in cues["long"]]
    whole = next(k for k in range(len(texts)) if len(" ".join(texts[:k + 1])) > MAX_CHARS)
    segments = data["segments"]
    assert [s["text"] for s in segments[:whole]] == texts[:whole]
    assert len(segments) in (whole, whole + 1)
    if len(segments) > whole:  # the cue that crosses the cap keeps the words that fit
        assert texts[whole].startswith(segments[whole]["text"]) and segments[whole]["text"]
    assert len(data["text"]) <= MAX_CHARS and data["text"] == " ".join(s["text"] for s in segments)
    assert data["notes"] == [f"the transcript was cut at {clock(cues['long'][whole][0])} after "
                             f"{MAX_CHARS:,} characters (MAX_TRANSCRIPT_TEXT_CHARS)"]


def test_a_transcript_within_the_caps_is_whole(capped_service, tmp_path):
    cues = [(i * 1.0, i * 1.0 + 0.8, f"line {i}") for i in range(MAX_CUES)]
    make_video(tmp_path / "clip.mp4", seconds=2)
    write_vtt(tmp_path / "exact.vtt", cues)
    write_video_page(tmp_path / "exact.html", "clip.mp4", "exact", vtt_name="exact.vtt")
    with counting_server(tmp_path) as origin:
        data = _transcript(capped_service, f"{origin.base}/exact.html")
    assert len(data["segments"]) == MAX_CUES and data["notes"] == []
