"""Server-side request forgery, end to end, against sinkholes on loopback: every way a URL can lead
the service to an address it must not reach ends in a 422 that names the destination, and the
sinkhole (which would serve a real video) accepts no connection at all.

Most cases use a service that allows 127.0.0.1/32 (where the origin runs) with the sinkhole on
127.0.0.2; spellings of 127.0.0.1 use a service that allows nothing, with the sinkhole on 127.0.0.1.
"""

import httpx
import pytest

from .ssrf_fixtures import (
    TIMEOUT,
    assert_refused,
    guarded_service,
    hop_origin,
    hops_url,
    make_media,
    sinkhole,
    write_page,
    write_playlist_at,
)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return make_media(tmp_path_factory.mktemp("ssrf-media"))


@pytest.fixture(scope="module")
def sinkhole_2(media_root):
    with sinkhole(media_root, "127.0.0.2") as server:
        yield server


@pytest.fixture(scope="module")
def sinkhole_1(media_root):
    with sinkhole(media_root, "127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def origin(media_root, sinkhole_2):
    """The allowed origin (127.0.0.1); its pages and playlists lead to the 127.0.0.2 sinkhole."""
    write_page(media_root, "embeds-sinkhole.html", f"{sinkhole_2.base}/clip.mp4")
    write_page(media_root, "sinkhole-track.html", "clip.mp4", track_src=f"{sinkhole_2.base}/subs.vtt")
    write_playlist_at(media_root, "sinkhole.m3u8", sinkhole_2.base)
    with hop_origin(media_root) as server:
        yield server


@pytest.fixture(scope="module")
def open_service(tmp_path_factory):
    with guarded_service(tmp_path_factory.mktemp("ssrf-open"), EGRESS_ALLOW_CIDRS="127.0.0.1/32") as service:
        yield service


@pytest.fixture(scope="module")
def closed_service(tmp_path_factory):
    with guarded_service(tmp_path_factory.mktemp("ssrf-closed")) as service:
        yield service


@pytest.fixture(autouse=True)
def sinkholes_stay_empty(request):
    yield
    for name in ("sinkhole_1", "sinkhole_2"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            assert server.connections == 0 and server.gets == {}, f"{server.base} was reached"
    for name in ("open_service", "closed_service"):
        if name in request.fixturenames:
            assert request.getfixturevalue(name).breaches() == []


SPELLINGS_OF_127_0_0_2 = [
    ("127.0.0.2", "127.0.0.2"),
    ("127.2", "127.0.0.2"),
    ("2130706434", "127.0.0.2"),
    ("0x7f000002", "127.0.0.2"),
    ("0177.0.0.2", "127.0.0.2"),
    ("[::ffff:7f00:2]", "::ffff:127.0.0.2"),
    ("[::ffff:127.0.0.2]", "::ffff:127.0.0.2"),
]


@pytest.mark.parametrize(("host", "address"), SPELLINGS_OF_127_0_0_2)
def test_other_loopback_addresses_are_refused_in_any_spelling(open_service, sinkhole_2, host, address):
    response = open_service.download(f"http://{host}:{sinkhole_2.port}/clip.mp4")
    assert_refused(response, address, "a loopback")


SPELLINGS_OF_127_0_0_1 = [
    ("127.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("localhost", "(127.0.0.1|::1)"),
]


@pytest.mark.parametrize(("host", "address"), SPELLINGS_OF_127_0_0_1)
def test_loopback_is_refused_in_any_spelling_when_nothing_is_allowed(closed_service, sinkhole_1, host, address):
    response = closed_service.download(f"http://{host}:{sinkhole_1.port}/clip.mp4")
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "loopback address" in detail and "EGRESS_ALLOW_CIDRS" in detail
    if host != "localhost":
        assert_refused(response, address, "a loopback")


@pytest.mark.parametrize("codes", ["301", "302", "307", "301,302,307"])
def test_redirects_from_an_allowed_origin_into_the_sinkhole_are_refused(open_service, origin, sinkhole_2, codes):
    response = open_service.download(hops_url(origin.base, codes, f"{sinkhole_2.base}/clip.mp4"))
    assert_refused(response, "127.0.0.2", "a loopback")
    # Every hop on the allowed origin was followed; the last one was refused when it connected.
    assert sum(n for path, n in origin.gets.items() if path.startswith("/hops/")) >= len(codes.split(","))


def test_page_embedding_a_video_on_the_sinkhole_is_refused(open_service, origin, sinkhole_2):
    assert_refused(open_service.download(f"{origin.base}/embeds-sinkhole.html"), "127.0.0.2", "a loopback")


def test_hls_playlist_works_with_segments_on_the_origin(open_service, origin):
    # The control: the same stream with its segments where the playlist is downloads fine.
    response = open_service.download(f"{origin.base}/hls/local.m3u8")
    assert response.status_code == 200, response.text


def test_hls_segments_on_the_sinkhole_are_refused(open_service, origin, sinkhole_2):
    assert_refused(open_service.download(f"{origin.base}/hls/sinkhole.m3u8"), "127.0.0.2", "a loopback")


def test_subtitle_track_on_the_sinkhole_is_listed_but_never_fetched(open_service, origin, sinkhole_2):
    # yt-dlp lists the page's tracks without fetching them; the transcript chain fetches them later.
    page = f"{origin.base}/sinkhole-track.html"
    downloaded = open_service.download(page)
    assert downloaded.status_code == 200, downloaded.text
    result = downloaded.json()
    assert [t["url"] for t in result["subtitles"]] == [f"{sinkhole_2.base}/subs.vtt"]

    transcript = httpx.post(
        f"{open_service.base}/media/{result['media_id']}/transcript",
        json={"url": page, "subtitles": result["subtitles"], "languages": ["en"]},
        timeout=TIMEOUT,
    )
    assert transcript.status_code == 200, transcript.text
    assert transcript.json()["source"] is None
    notes = " ".join(transcript.json()["notes"])
    assert "failed: destination 127.0.0.2 is a loopback address" in notes, notes
